"""Shop tests hash passwords with light argon2 parameters: the production cost (about half a second a hash on a
busy two-core machine) would make the suite take minutes, and no test here measures how slow a guess is."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher

from unseen.shop import security

_LIGHT_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
_LIGHT_DUMMY_HASH = _LIGHT_HASHER.hash("unseen-no-such-account")


@pytest.fixture(autouse=True)
def light_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(security, "_hasher", _LIGHT_HASHER)
    monkeypatch.setattr(security, "_DUMMY_HASH", _LIGHT_DUMMY_HASH)
