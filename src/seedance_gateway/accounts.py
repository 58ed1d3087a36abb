"""Account use cases: password sign-in for the console, and operators' account management.

Signing in with an email and password mints an ordinary API key (named ``console sign-in``,
with every scope, expiring after ``SEEDANCE_SIGN_IN_TTL_SECONDS``) that the console then sends
as a bearer token; signing out revokes it. So the API has one way to authenticate, and a
browser session can be listed and revoked like any key. Accounts with the ``admin`` role may
list and create accounts and grant credits.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache

from seedance_gateway import bootstrap
from seedance_gateway.authentication import Principal
from seedance_gateway.domain import passwords
from seedance_gateway.errors import Forbidden, Unauthorized, ValidationFailed
from seedance_gateway.ratelimit import RateLimiter
from seedance_gateway.store import Store
from seedance_gateway.store.rows import Account

ROLES = ("user", "admin")
SIGN_IN_KEY_NAME = "console sign-in"
MAX_NAME, MAX_EMAIL, MAX_GRANT = 200, 320, 10**12
#: Wrong-password guesses allowed per email (``limits`` notation).
SIGN_IN_LIMIT = "10/minute"


@dataclass(frozen=True, kw_only=True)
class SignedIn:
    """A sign-in: the key minted for it (plaintext shown once) and whose account it is."""

    key: bootstrap.NewKey
    account: Account


@dataclass(frozen=True, kw_only=True)
class NewAccount:
    """What an operator sends to create an account."""

    name: str
    email: str | None = None
    password: str | None = None
    role: str = "user"
    credits: int = 0


class Accounts:
    """Sign-in, the caller's account, and the admin-only account operations."""

    def __init__(self, store: Store, sign_in_limiter: RateLimiter, sign_in_ttl: timedelta) -> None:
        self.store = store
        self.limiter = sign_in_limiter
        self.sign_in_ttl = sign_in_ttl  #: how long a sign-in's key works

    async def sign_in(self, email: str, password: str) -> SignedIn:
        """A new all-scope key, expiring after ``sign_in_ttl``, for the account with this email
        and password."""
        email = normalize_email(email)
        await self.limiter.hit(f"sign-in:{email}")
        record = await self.store.accounts.sign_in_record(email)
        stored = record[1] if record else None
        matched = await asyncio.to_thread(passwords.verify, password, stored or _decoy_hash())
        if record is None or stored is None or not matched:
            raise Unauthorized("email or password is wrong", code="invalid_credentials")
        account = record[0]
        key = await bootstrap.create_key(
            self.store,
            name=SIGN_IN_KEY_NAME,
            credits=0,
            account_id=account.id,
            expires_at=datetime.now(UTC) + self.sign_in_ttl,
        )
        return SignedIn(key=key, account=account)

    async def account(self, principal: Principal) -> Account:
        """The caller's account."""
        return await self.store.accounts.account(principal.account_id)

    async def list_accounts(
        self, principal: Principal, *, limit: int, after: str | None
    ) -> list[Account]:
        """Every account, a page at a time (admins only)."""
        await self._require_admin(principal)
        return await self.store.accounts.list_accounts(limit=limit, after=after)

    async def create(self, principal: Principal, new: NewAccount) -> Account:
        """A new account (admins only); ``email_taken`` if the email is in use."""
        await self._require_admin(principal)
        return await create_account(self.store, new)

    async def grant(
        self, principal: Principal, account_id: str, credits: int, note: str | None
    ) -> Account:
        """Adds credits to an account (admins only), recorded in its ledger as a grant."""
        await self._require_admin(principal)
        if not 0 < credits <= MAX_GRANT:
            raise ValidationFailed(
                f"credits must be a whole number from 1 to {MAX_GRANT}", field="credits"
            )
        await self.store.accounts.grant(account_id, credits, note=note or "grant by an operator")
        return await self.store.accounts.account(account_id)

    async def _require_admin(self, principal: Principal) -> None:
        account = await self.store.accounts.account(principal.account_id)
        if account.role != "admin":
            raise Forbidden("only an operator (an admin account) may do this", code="admin_only")


async def create_account(store: Store, new: NewAccount) -> Account:
    """Validates and stores a new account (shared by the admin API and the CLI)."""
    name = new.name.strip()
    if not name or len(name) > MAX_NAME:
        raise ValidationFailed(f"name is required, at most {MAX_NAME} characters", field="name")
    if new.role not in ROLES:
        raise ValidationFailed(f"role must be one of: {', '.join(ROLES)}", field="role")
    if not 0 <= new.credits <= MAX_GRANT:
        raise ValidationFailed(f"credits must be 0 to {MAX_GRANT}", field="credits")
    email = normalize_email(new.email) if new.email is not None else None
    if new.password is not None and email is None:
        raise ValidationFailed("a password needs an email to sign in with", field="email")
    password_hash = None
    if new.password is not None:  # an empty one is refused as too short, not ignored
        password_hash = await asyncio.to_thread(hash_checked, new.password)
    account_id = await store.accounts.create_account(
        name, new.credits, email=email, password_hash=password_hash, role=new.role
    )
    return await store.accounts.account(account_id)


def normalize_email(email: str) -> str:
    """The email lower-cased and trimmed, or ``validation_failed`` if it cannot be one."""
    email = email.strip().lower()
    local, at, domain = email.partition("@")
    if not (at and local and "." in domain) or len(email) > MAX_EMAIL or " " in email:
        raise ValidationFailed("email must be an address like name@example.com", field="email")
    return email


@cache
def _decoy_hash() -> str:
    """Verified when the email is unknown, so both answers take as long."""
    return passwords.hash_password("decoy-password")


def hash_checked(password: str) -> str:
    """The password's hash, or ``validation_failed`` naming what a password must be."""
    try:
        return passwords.hash_password(password)
    except passwords.WeakPassword as exc:
        raise ValidationFailed(str(exc), field="password") from None
