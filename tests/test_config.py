from __future__ import annotations

import pytest
from pydantic import ValidationError
from sqlalchemy import text

from unseen.config import DEFAULT_SECRET_KEY, Settings
from unseen.db import create_schema, make_engine


def test_default_database_is_a_sqlite_file_in_the_ignored_var_folder(tmp_path):
    settings = Settings(var_dir=tmp_path / "var")
    assert settings.resolved_database_url == f"sqlite:///{tmp_path / 'var' / 'unseen.db'}"


def test_environment_variables_override_defaults(monkeypatch, tmp_path):
    monkeypatch.setenv("UNSEEN_DATABASE_URL", f"sqlite:///{tmp_path}/other.db")
    monkeypatch.setenv("UNSEEN_PAGE_SIZE", "12")
    settings = Settings()
    assert settings.resolved_database_url.endswith("/other.db")
    assert settings.page_size == 12


def test_default_secret_is_refused_in_production():
    with pytest.raises(ValidationError, match="UNSEEN_SECRET_KEY"):
        Settings(environment="production", operator_password="a-real-password")
    ok = Settings(environment="production", secret_key="x" * 48, operator_password="a-real-password")
    assert ok.secret_key.get_secret_value() != DEFAULT_SECRET_KEY


def test_demo_operator_password_is_refused_in_production():
    with pytest.raises(ValidationError, match="UNSEEN_OPERATOR_PASSWORD"):
        Settings(environment="production", secret_key="x" * 48)


def test_sqlite_file_uses_wal_and_foreign_keys(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path}/nested/folder/shop.db")
    create_schema(engine)
    create_schema(engine)  # idempotent
    with engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
    engine.dispose()


def test_foreign_keys_are_enforced(tmp_path):
    from sqlalchemy.exc import IntegrityError
    from sqlmodel import Session

    from unseen.tables import CartItem

    engine = make_engine(f"sqlite:///{tmp_path}/shop.db")
    create_schema(engine)
    with Session(engine) as session, pytest.raises(IntegrityError):
        session.add(CartItem(user_id=999, product_id=999, quantity=1))
        session.commit()
    engine.dispose()


def test_reference_data_folder_comes_from_either_variable(monkeypatch, tmp_path):
    monkeypatch.setenv("UNSEEN_REFERENCE_DATA", str(tmp_path / "a"))
    assert Settings().reference_data_dir == tmp_path / "a"
    monkeypatch.delenv("UNSEEN_REFERENCE_DATA")
    monkeypatch.setenv("UNSEEN_REFERENCE_DATA_DIR", str(tmp_path / "b"))
    assert Settings().reference_data_dir == tmp_path / "b"
