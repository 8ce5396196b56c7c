"""Console fixtures: the real app on this test's database with a user of every role, and logged-in clients.

Users (one password): admin, giamsat (supervisor), lanhdao (leader), donvi and donvi2 (unit users of two
different ward units). Fixtures: console_settings (override it to change the app's settings),
console_app, log_in.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from app import create_app
from config.settings import Settings
from console.auth import hash_password
from storage.models import Unit
from storage.users import create_user

PASSWORD = "mat-khau-du-dai-2026"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')

LogIn = Callable[[str], FlaskClient]


@pytest.fixture(scope="session")
def password_hash() -> str:
    """One scrypt hash for every test user: hashing is deliberately slow."""
    return hash_password(PASSWORD)


@pytest.fixture
def console_settings(db_url: str, tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "var", database_url=db_url, twilio_auth_token="t", speech=False)


@pytest.fixture
def console_app(console_settings: Settings, password_hash: str) -> Iterator[Flask]:
    """The app with its users; closed after the test."""
    app = create_app(console_settings)
    hotline = app.extensions["hotline"]
    with hotline.sessions.begin() as db:
        first, second = db.scalars(select(Unit.code).where(Unit.code.like("UBND_%")).order_by(Unit.code).limit(2))
        for name, role, unit in (("admin", "admin", None), ("giamsat", "supervisor", None),
                                 ("lanhdao", "leader", None), ("donvi", "unit", first), ("donvi2", "unit", second)):
            create_user(db, username=name, password_hash=password_hash, role=role, unit_code=unit,
                        now=datetime(2026, 1, 1, tzinfo=UTC))
    yield app
    hotline.close()


def csrf(client: FlaskClient, path: str = "/login") -> str:
    """The CSRF token of the form on path."""
    match = _CSRF.search(client.get(path).get_data(as_text=True))
    assert match, f"no CSRF token on {path}"
    return match.group(1)


@pytest.fixture
def log_in(console_app: Flask) -> LogIn:
    """A new test client logged in as username through the log-in form (CSRF token and all)."""

    def log_in(username: str) -> FlaskClient:
        client = console_app.test_client()
        reply = client.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": csrf(client)})
        assert reply.status_code == 302, f"{username} could not log in"
        return client

    return log_in
