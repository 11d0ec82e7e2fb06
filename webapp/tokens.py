"""Personal API tokens: made, checked and revoked here; only their SHA-256 is stored.

A token is ``cc_`` followed by 43 URL-safe characters (32 random bytes from :mod:`secrets`), so
a plain SHA-256 is the right hash: nobody can guess such a token, and the look-up stays one
indexed query. The token itself is shown to its owner once, when it is made.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta

from workflows.db import ApiToken, User, utcnow

PREFIX = "cc_"
MAX_TOKENS = 20
LAST_USED_EVERY = timedelta(minutes=1)


class TokenError(ValueError):
    """A token that cannot be used; the message is one line for the client."""


def token_hash(token: str) -> str:
    """The SHA-256 of ``token`` as 64 hex digits (what the database keeps)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_token(session, user: User, name: str) -> tuple[ApiToken, str]:
    """A new token of ``user`` named ``name``: (the row, added to ``session``, not committed; the
    token text, to show once). Raises :class:`TokenError` past :data:`MAX_TOKENS` live tokens."""
    live = session.query(ApiToken).filter(ApiToken.user_id == user.id, ApiToken.revoked.is_(None)).count()
    if live >= MAX_TOKENS:
        raise TokenError(f"you have {live} tokens; revoke one before making another (at most {MAX_TOKENS})")
    token = PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(
        user_id=user.id,
        name=" ".join((name or "").split())[:80] or "token",
        token_hash=token_hash(token),
        prefix=token[:10],
        created=utcnow(),
    )
    session.add(row)
    return row, token


def parse_authorization(header: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header; None without the header.
    Raises :class:`TokenError` for another scheme or an empty token."""
    if header is None:
        return None
    scheme, _, token = header.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise TokenError("the Authorization header must be 'Bearer <token>' with a token from your account's API page")
    return token


def user_for_token(session, token: str) -> tuple[User, ApiToken]:
    """The approved user a live token belongs to, and the token's row; records its use (at most
    once a minute, not committed). Raises :class:`TokenError` for an unknown or revoked token or
    an account that is not (or no longer) approved."""
    digest = token_hash(token)
    row = session.query(ApiToken).filter_by(token_hash=digest).first()
    if row is None or not hmac.compare_digest(row.token_hash, digest):
        raise TokenError("unknown API token")
    if row.revoked is not None:
        raise TokenError("this API token was revoked")
    user = session.get(User, row.user_id)
    if user is None or not user.is_approved:
        raise TokenError("the account of this API token is not approved")
    now = utcnow()
    if row.last_used is None or now - row.last_used >= LAST_USED_EVERY:
        row.last_used = now
    return user, row


def revoke(session, user: User, token_id: int) -> ApiToken | None:
    """Revoke ``user``'s token ``token_id`` (not committed); None when it is not theirs."""
    row = session.get(ApiToken, token_id)
    if row is None or row.user_id != user.id:
        return None
    if row.revoked is None:
        row.revoked = utcnow()
    return row
