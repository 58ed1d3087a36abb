"""Streams a ``multipart/form-data`` upload to disk under a hard size cap.

The file part is written as it arrives and the upload stops at the first byte over the cap
(``413``), so memory stays flat whatever the client sends. Small text fields are kept in memory
(capped too). The cap can tighten once the ``kind`` field is known, if it arrives first.

A part named like the file field is the file only when it is one: it has a filename or a
content type other than ``text/plain``; a plain text part of that name (``-F
input_reference=file_…``) is a text field. Text fields, names and filenames hold no NUL and no
lone surrogate (``values.check_text``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import Request

from seedance_gateway.errors import PayloadTooLarge, ValidationFailed
from seedance_gateway.web.values import check_text

MAX_FIELD_BYTES = 4096
MAX_PARTS = 16


@dataclass(kw_only=True)
class Upload:
    """What arrived: text fields and, if sent, the file (on disk)."""

    fields: dict[str, str] = field(default_factory=dict)
    path: Path | None = None
    filename: str | None = None
    size: int = 0
    sha256: str = ""


@dataclass(kw_only=True)
class _Part:
    name: str = ""
    filename: str | None = None
    is_file: bool = False
    data: bytearray = field(default_factory=bytearray)


class _Collector:
    """Parser callbacks: routes part data to the file or to a field buffer."""

    def __init__(
        self,
        dest: Path,
        file_field: str,
        cap_for: Callable[[dict[str, str]], int],
        max_field_bytes: int = MAX_FIELD_BYTES,
    ) -> None:
        self.upload = Upload()
        self.max_field_bytes = max_field_bytes
        self.dest = dest
        self.file_field = file_field
        self.cap_for = cap_for
        self.part = _Part()
        self.header_name = bytearray()
        self.header_value = bytearray()
        self.headers: dict[str, str] = {}
        self.sink: IO[bytes] | None = None
        self.digest = hashlib.sha256()
        self.parts = 0

    def callbacks(self) -> dict[str, Callable[..., None]]:
        return {
            "on_part_begin": self.part_begin,
            "on_header_field": lambda d, s, e: self.header_name.extend(d[s:e]),
            "on_header_value": lambda d, s, e: self.header_value.extend(d[s:e]),
            "on_header_end": self.header_end,
            "on_headers_finished": self.headers_finished,
            "on_part_data": self.part_data,
            "on_part_end": self.part_end,
        }

    def part_begin(self) -> None:
        self.parts += 1
        if self.parts > MAX_PARTS:
            raise ValidationFailed(f"at most {MAX_PARTS} form fields are allowed", field="body")
        self.part, self.headers = _Part(), {}

    def header_end(self) -> None:
        name = self.header_name.decode("latin-1").strip().lower()
        self.headers[name] = self.header_value.decode("utf-8", "replace").strip()
        self.header_name, self.header_value = bytearray(), bytearray()

    def headers_finished(self) -> None:
        _, options = parse_options_header(self.headers.get("content-disposition", ""))
        self.part.name = options.get(b"name", b"").decode("utf-8", "replace")
        check_text(self.part.name, "body", "a form field's name")
        raw_filename = options.get(b"filename")
        self.part.filename = raw_filename.decode("utf-8", "replace") if raw_filename else None
        if self.part.filename is not None:
            check_text(self.part.filename, self.part.name, f"the filename of {self.part.name!r}")
        self.part.is_file = self._is_file_part()
        if self.part.is_file:
            if self.sink is not None:
                raise ValidationFailed("send exactly one file", field=self.file_field)
            self.sink = self.dest.open("wb")
            self.upload.path, self.upload.filename = self.dest, self.part.filename

    def _is_file_part(self) -> bool:
        if self.part.name != self.file_field:
            return False
        content_type = self.headers.get("content-type", "text/plain").split(";")[0].strip()
        return self.part.filename is not None or content_type.lower() != "text/plain"

    def part_data(self, data: bytes, start: int, end: int) -> None:
        chunk = data[start:end]
        if not self.part.is_file:
            if len(self.part.data) + len(chunk) > self.max_field_bytes:
                raise ValidationFailed(
                    f"form field {self.part.name!r} is longer than {self.max_field_bytes} bytes",
                    field=self.part.name,
                )
            self.part.data.extend(chunk)
            return
        cap = self.cap_for(self.upload.fields)
        if self.upload.size + len(chunk) > cap:
            raise PayloadTooLarge(f"file is larger than the {cap // (1024 * 1024)} MB allowed")
        assert self.sink is not None
        self.sink.write(chunk)
        self.digest.update(chunk)
        self.upload.size += len(chunk)

    def part_end(self) -> None:
        if self.part.is_file and self.sink is not None:
            self.sink.close()
        elif self.part.name:
            text = self.part.data.decode("utf-8", "replace")
            check_text(text, self.part.name)
            self.upload.fields[self.part.name] = text

    def close(self) -> None:
        if self.sink is not None and not self.sink.closed:
            self.sink.close()
        self.upload.sha256 = self.digest.hexdigest()


async def receive(
    request: Request,
    dest: Path,
    *,
    file_field: str,
    max_bytes: int,
    cap_for: Callable[[dict[str, str]], int],
    max_field_bytes: int = MAX_FIELD_BYTES,
) -> Upload:
    """Parses the request body; the file goes to ``dest``; raises 413 past the cap.

    Text fields may hold at most ``max_field_bytes`` each.
    """
    content_type, options = parse_options_header(request.headers.get("content-type", ""))
    boundary = options.get(b"boundary")
    if content_type != b"multipart/form-data" or not boundary:
        raise ValidationFailed("send the upload as multipart/form-data", field="body")
    declared = int(request.headers.get("content-length") or 0)
    if declared > max_bytes + MAX_PARTS * max_field_bytes:
        raise PayloadTooLarge(f"upload is larger than the {max_bytes // (1024 * 1024)} MB allowed")
    collector = _Collector(dest, file_field, cap_for, max_field_bytes)
    parser = MultipartParser(boundary, collector.callbacks())  # type: ignore[arg-type]
    try:
        async for chunk in request.stream():
            parser.write(chunk)
        parser.finalize()
    except (PayloadTooLarge, ValidationFailed):
        raise
    except Exception:
        raise ValidationFailed("the multipart body is malformed", field="body") from None
    finally:
        collector.close()
    return collector.upload
