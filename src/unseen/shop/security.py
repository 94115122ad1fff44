"""Passwords (argon2), session tokens and cross-site request forgery tokens."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()
# Verified against when the account does not exist, so that a wrong e-mail costs as long as a wrong password
# and the answer's timing does not tell whether the account exists.
_DUMMY_HASH = _hasher.hash("unseen-no-such-account")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password: str, password_hash: str | None) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def new_token() -> str:
    """A fresh random session token (what the browser's cookie carries)."""
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    """What the database stores of a session token: a leaked table does not give away live sessions."""
    return hashlib.sha256(token.encode()).hexdigest()


def csrf_form_token(cookie_value: str, secret_key: str) -> str:
    """The hidden form field that must accompany the CSRF cookie: an HMAC of it, so it cannot be forged."""
    return hmac.new(secret_key.encode(), cookie_value.encode(), hashlib.sha256).hexdigest()


def csrf_valid(cookie_value: str | None, form_value: str | None, secret_key: str) -> bool:
    if not cookie_value or not form_value:
        return False
    return hmac.compare_digest(csrf_form_token(cookie_value, secret_key), form_value)
