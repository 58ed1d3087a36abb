"""Who is calling: API keys turned into principals, and the keys' own use cases (create, list,
revoke). Every authenticated request passes through ``Authentication.authenticate``.

Keys are cached in the process (``KeyCache``) so that a request costs no database read for its
key. A key revoked through this process is refused by its next request; one revoked elsewhere
(another API process, ``seedance keys revoke``) within ``SEEDANCE_KEY_CACHE_SECONDS``. Expiry and
scopes are checked on every request against the cached key (a key's scopes never change).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from seedance_gateway import bootstrap, logs
from seedance_gateway.domain import keys, scopes
from seedance_gateway.errors import Forbidden, NotFound, Unauthorized, ValidationFailed
from seedance_gateway.ratelimit import RateLimiter
from seedance_gateway.store import Store
from seedance_gateway.store.rows import ApiKey

KEY_TOUCH_INTERVAL = timedelta(minutes=1)  #: how often a key's ``last_used_at`` is written
MAX_KEY_NAME = 200
MAX_KEY_DAYS = 3650  #: the longest a key may be made to last (ten years)
KEY_CACHE_SIZE = 10_000  #: keys a process keeps; past it the least recently read is dropped


@dataclass(frozen=True, kw_only=True)
class Principal:
    """Who is calling: an API key, its account and what the key may do."""

    key_id: str
    account_id: str
    scopes: frozenset[str] = frozenset(scopes.ALL)


class KeyCache:
    """Keys by hash, each trusted for ``ttl`` seconds after it was read from the database.

    Only keys that exist are kept: a key created in another process works at once. ``forget``
    drops a key this process has just revoked.
    """

    def __init__(
        self,
        ttl: float,
        *,
        size: int = KEY_CACHE_SIZE,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl = ttl
        self.size = size
        self.clock = clock
        self._keys: dict[str, tuple[float, ApiKey]] = {}  #: hash -> (read at, key); oldest first

    def get(self, key_hash: str) -> ApiKey | None:
        """The key, if it was read less than ``ttl`` seconds ago."""
        found = self._keys.get(key_hash)
        if found is None:
            return None
        if self.clock() - found[0] >= self.ttl:
            del self._keys[key_hash]
            return None
        return found[1]

    def put(self, key_hash: str, key: ApiKey) -> None:
        """Keeps ``key``, read from the database now."""
        if self.ttl <= 0:
            return
        self._keys.pop(key_hash, None)
        while len(self._keys) >= self.size:
            del self._keys[next(iter(self._keys))]
        self._keys[key_hash] = (self.clock(), key)

    def touched(self, key_hash: str, key: ApiKey) -> None:
        """Notes a write of ``key``'s ``last_used_at``, keeping the time it was read."""
        found = self._keys.get(key_hash)
        if found is not None:
            self._keys[key_hash] = (found[0], key)

    def forget(self, key_id: str) -> None:
        """Drops the key with this id (revoked here: its next request reads the database)."""
        for key_hash, (_, key) in list(self._keys.items()):
            if key.id == key_id:
                del self._keys[key_hash]


class Authentication:
    """API keys: authenticating a request's bearer key, and managing an account's keys."""

    def __init__(self, *, store: Store, limiter: RateLimiter, cache: KeyCache) -> None:
        self.store = store
        self.accounts = store.accounts
        self.limiter = limiter
        self.cache = cache

    async def authenticate(self, authorization: str | None, scope: str | None = None) -> Principal:
        """The principal for an ``Authorization: Bearer`` header; counts the request.

        ``scope``: what the request needs (``domain.scopes.required``); a key without it is
        ``403 insufficient_scope``.
        """
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthorized()
        key_hash = keys.digest(token.strip())
        key = await self._key(key_hash)
        if key is None:
            raise Unauthorized("this API key is not valid", code="api_key_invalid")
        if key.revoked_at is not None:
            raise Unauthorized("this API key has been revoked", code="api_key_revoked")
        if key.expires_at is not None and key.expires_at <= datetime.now(UTC):
            raise Unauthorized(
                f"this API key expired at {key.expires_at.isoformat(timespec='seconds')}; "
                "sign in again or use another key",
                code="api_key_expired",
            )
        if scope is not None and scope not in key.scopes:
            held = scopes.encode(key.scopes).replace(" ", ", ")
            raise Forbidden(
                f"this API key lacks the {scope!r} scope (it has: {held}); use a key with {scope!r}"
            )
        logs.bind(account_id=key.account_id)
        await self.limiter.hit(key.id)
        await self._touch(key_hash, key)
        return Principal(key_id=key.id, account_id=key.account_id, scopes=key.scopes)

    async def _key(self, key_hash: str) -> ApiKey | None:
        """The key with this hash, from the cache or the database (revoked or not)."""
        key = self.cache.get(key_hash)
        if key is None:
            key = await self.accounts.key_by_hash(key_hash)
            if key is not None:
                self.cache.put(key_hash, key)
        return key

    async def _touch(self, key_hash: str, key: ApiKey) -> None:
        """Records the key's use, at most once a minute (one write, not one per request)."""
        stamp = datetime.now(UTC)
        if key.last_used_at is None or stamp - key.last_used_at >= KEY_TOUCH_INTERVAL:
            await self.accounts.touch_key(key.id, stamp)
            self.cache.touched(key_hash, dataclasses.replace(key, last_used_at=stamp))

    async def create_key(
        self,
        principal: Principal,
        name: str,
        scope_names: list[str] | None,
        expires_in_days: int | None = None,
    ) -> bootstrap.NewKey:
        """A new key on the caller's account; it may hold only scopes the caller's key holds,
        and expires after ``expires_in_days`` when given."""
        name = name.strip()
        if not name or len(name) > MAX_KEY_NAME:
            raise ValidationFailed(
                f"name is required, at most {MAX_KEY_NAME} characters", field="name"
            )
        try:
            wanted = scopes.parse(scope_names) if scope_names is not None else principal.scopes
        except scopes.UnknownScope as exc:
            raise ValidationFailed(str(exc), field="scopes") from None
        missing = sorted(wanted - principal.scopes)
        if missing:
            raise Forbidden(
                f"this API key cannot give scopes it lacks: {', '.join(missing)}",
                code="insufficient_scope",
            )
        expires_at = None
        if expires_in_days is not None:
            if not 1 <= expires_in_days <= MAX_KEY_DAYS:
                raise ValidationFailed(
                    f"expires_in_days must be 1 to {MAX_KEY_DAYS}", field="expires_in_days"
                )
            expires_at = datetime.now(UTC) + timedelta(days=expires_in_days)
        return await bootstrap.create_key(
            self.store,
            name=name,
            credits=0,
            account_id=principal.account_id,
            key_scopes=wanted,
            expires_at=expires_at,
        )

    async def list_keys(self, principal: Principal) -> list[ApiKey]:
        """The keys of the caller's account, oldest first (hashes and plaintexts never)."""
        return await self.accounts.list_keys(principal.account_id)

    async def revoke_key(self, principal: Principal, key_id: str) -> ApiKey:
        """Revokes one of the account's keys by id (at once here: its next request to this
        process is refused; to others within the cache's ``ttl``)."""
        if not key_id.startswith("key_"):
            raise NotFound(f"no API key {key_id!r}")
        revoked = await self.accounts.revoke_key(key_id, principal.account_id)
        self.cache.forget(revoked.id)
        return revoked
