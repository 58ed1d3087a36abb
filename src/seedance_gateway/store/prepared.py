"""Prepared statements: a hot statement compiled once per database and run on its driver.

A status read, a balance or one of a create's eight statements costs a few microseconds on the
driver, and 50-150 µs of CPU through SQLAlchemy's execution, result and (on PostgreSQL)
connection layers (measured for issue 19). ``prepare`` keeps what SQLAlchemy does for such a
statement: its SQL for this dialect with any ``IN`` list expanded, its parameters in the
driver's order with each value's conversion (timestamps, JSON), the values the statement binds
itself, and each result column's name and conversion. ``Statements`` keeps them per database;
``Database.read_one`` and a transaction's ``run`` execute them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Dialect
from sqlalchemy.sql.elements import ClauseElement

Convert = Callable[[Any], Any]


@dataclass(frozen=True)
class Prepared:
    """A statement compiled for one dialect: the SQL its driver runs, its bind parameters in
    the driver's order (each with its conversion, or the value the statement itself binds), and
    each result column's name and conversion."""

    sql: str
    parameters: tuple[str, ...]
    bind_converters: tuple[Convert | None, ...]
    fixed: Mapping[str, Any]  #: values bound by the statement itself (an ``IN`` list's)
    columns: tuple[str, ...]
    converters: tuple[Convert | None, ...]
    is_dml: bool = False  #: an INSERT, UPDATE or DELETE

    def arguments(self, values: Mapping[str, Any]) -> tuple[Any, ...]:
        """The driver's positional arguments for ``values`` by parameter name."""
        fixed = self.fixed
        return tuple(
            fixed[name]
            if name in fixed
            else (values[name] if convert is None else convert(values[name]))
            for name, convert in zip(self.parameters, self.bind_converters, strict=True)
        )

    def mapping(self, row: Sequence[Any]) -> dict[str, Any]:
        """A driver's row as SQLAlchemy would return it, by column name."""
        return {
            name: value if convert is None else convert(value)
            for name, convert, value in zip(self.columns, self.converters, row, strict=True)
        }


@dataclass(frozen=True)
class Rows:
    """What a prepared statement returned: its rows by column name, and how many rows it
    changed (an ``INSERT``, ``UPDATE`` or ``DELETE``; -1 when the driver does not say)."""

    rows: list[dict[str, Any]]
    rowcount: int = -1

    def first(self) -> dict[str, Any] | None:
        """The first row, or None."""
        return self.rows[0] if self.rows else None

    def one(self) -> dict[str, Any]:
        """The only row (an error when there is none or more than one)."""
        if len(self.rows) != 1:
            raise LookupError(f"expected one row, got {len(self.rows)}")
        return self.rows[0]

    def scalar(self) -> Any:
        """The first column of the first row, or None when there is no row."""
        return next(iter(self.rows[0].values())) if self.rows else None


def prepare(
    statement: ClauseElement, dialect: Dialect, column_keys: Sequence[str] | None = None
) -> Prepared:
    """``statement`` compiled for ``dialect`` (a positional paramstyle: SQLite's ``?``,
    asyncpg's ``$1``). ``column_keys`` are the columns an ``INSERT`` or ``UPDATE`` without its
    own ``values()`` sets (the keys of its parameters). A column whose value SQLAlchemy would
    compute in Python (a client-side default) is refused: pass it."""
    compiled: Any = statement.compile(dialect=dialect, column_keys=column_keys)
    if compiled.insert_prefetch or compiled.update_prefetch:
        raise ValueError("the statement has client-side defaults; pass every column's value")
    binds = {bind.key: bind for bind in compiled.binds.values()}
    given = {key for key, bind in binds.items() if bind.required or key in (column_keys or ())}
    if any(binds[key].expanding for key in given):
        raise ValueError("an IN list from the caller cannot be prepared; bind it in the statement")
    expanded = compiled.construct_expanded_state(dict.fromkeys(given))
    names = tuple(expanded.positiontup or ())
    fixed = {
        name: _converted(value, expanded.processors.get(name))
        for name, value in expanded.parameters.items()
        if name not in given
    }
    columns = tuple(getattr(statement, "exported_columns", ()))
    return Prepared(
        sql=expanded.statement,
        parameters=names,
        bind_converters=tuple(
            _bind_converter(binds[name].type, dialect) if name in given else None for name in names
        ),
        fixed=fixed,
        columns=tuple(column.name for column in columns),
        converters=tuple(
            column.type.dialect_impl(dialect).result_processor(dialect, None) for column in columns
        ),
        is_dml=bool(getattr(statement, "is_dml", False)),
    )


def unnamed_rows(prepared: Prepared) -> TypeError:
    """The error for a statement that returned rows whose columns it does not name."""
    return TypeError(
        f"{prepared.sql!r} returned rows but names no columns; "
        "build it with text(...).columns(...) to read them"
    )


class Statements:
    """The prepared statements of one database, compiled on first use. A statement is keyed by
    its identity and its parameters' names: build each once, at import."""

    def __init__(self, dialect: Dialect) -> None:
        self.dialect = dialect
        self._prepared: dict[tuple[ClauseElement, tuple[str, ...]], Prepared] = {}

    def get(self, statement: ClauseElement, values: Mapping[str, Any]) -> Prepared:
        """``statement`` prepared for parameters named as ``values``'s keys."""
        key = (statement, tuple(values))
        prepared = self._prepared.get(key)
        if prepared is None:
            prepared = self._prepared[key] = prepare(statement, self.dialect, tuple(values))
        return prepared


def _bind_converter(type_: Any, dialect: Dialect) -> Convert | None:
    converter: Convert | None = type_.dialect_impl(dialect).bind_processor(dialect)
    return converter


def _converted(value: Any, convert: Convert | None) -> Any:
    return value if convert is None else convert(value)
