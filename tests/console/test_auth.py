"""Log-in, sessions, roles, CSRF and rate limits of the console, through the real app and database."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from app import create_app
from config.settings import Settings
from storage.audit import recent
from storage.models import AuditEvent
from storage.users import UserError, create_user
from tests.console.conftest import PASSWORD, csrf


@pytest.fixture
def app(console_app: Flask) -> Flask:
    return console_app


def log_in(client: FlaskClient, username: str, password: str = PASSWORD) -> int:
    token = csrf(client)
    return client.post("/login", data={"username": username, "password": password, "csrf_token": token}).status_code


def test_every_console_page_needs_a_log_in(app: Flask) -> None:
    client = app.test_client()
    for path in ("/cases", "/cases/13", "/calls/CA1", "/admin/config", "/admin/audit"):
        response = client.get(path)
        assert response.status_code == 302 and response.headers["Location"].startswith("/login"), path


def test_logging_in_and_out(app: Flask) -> None:
    client = app.test_client()
    assert log_in(client, "giamsat") == 302
    page = client.get("/cases")
    assert page.status_code == 200 and "giamsat" in page.get_data(as_text=True)
    assert client.post("/logout", data={"csrf_token": csrf(client, "/cases")}).status_code == 302
    assert client.get("/cases").status_code == 302
    with app.extensions["hotline"].sessions() as db:
        actions = [event.action for event in recent(db)]
    assert actions[:2] == ["logout", "login"]


def test_wrong_passwords_and_unknown_names_are_refused_alike(app: Flask) -> None:
    client = app.test_client()
    wrong = client.post("/login", data={"username": "giamsat", "password": "sai", "csrf_token": csrf(client)})
    unknown = client.post("/login", data={"username": "khongco", "password": "sai", "csrf_token": csrf(client)})
    for response in (wrong, unknown):
        assert response.status_code == 401
        assert "Tên đăng nhập hoặc mật khẩu không đúng." in response.get_data(as_text=True)
    assert client.get("/cases").status_code == 302
    with app.extensions["hotline"].sessions() as db:
        failed = db.scalars(select(AuditEvent).where(AuditEvent.action == "login.failed")).all()
    assert {event.actor for event in failed} == {"giamsat", "khongco"}


def test_a_forged_or_missing_csrf_token_is_refused(app: Flask) -> None:
    client = app.test_client()
    csrf(client)
    for data in ({"username": "admin", "password": PASSWORD},
                 {"username": "admin", "password": PASSWORD, "csrf_token": "forged"}):
        response = client.post("/login", data=data)
        assert response.status_code == 400 and "không hợp lệ" in response.get_data(as_text=True)
    assert client.get("/cases").status_code == 302


def test_failed_log_ins_are_rate_limited_per_user_name(app: Flask) -> None:
    client = app.test_client()
    for _ in range(6):  # successful log-ins do not count: a shift starting together is not an attack
        assert log_in(client, "giamsat") == 302
    codes = [client.post("/login", data={"username": "admin", "password": "sai", "csrf_token": csrf(client)}).status_code
             for _ in range(7)]
    assert codes[:5] == [401] * 5 and codes[5:] == [429, 429]
    assert log_in(client, "admin") == 429, "even the right password waits out the limit"
    assert "Quá nhiều lần thử" in client.post("/login", data={"username": "admin", "password": "x",
                                                              "csrf_token": csrf(client)}).get_data(as_text=True)
    assert log_in(client, "lanhdao") == 302, "another user name is not blocked"


def test_roles_guard_the_admin_pages(app: Flask) -> None:
    for name, allowed in (("admin", 200), ("giamsat", 403), ("lanhdao", 403), ("donvi", 403)):
        client = app.test_client()
        assert log_in(client, name) == 302
        for path in ("/admin/config", "/admin/audit"):
            response = client.get(path)
            assert response.status_code == allowed, (name, path)
        if allowed == 403:
            assert "Không có quyền truy cập" in client.get("/admin/audit").get_data(as_text=True)


def test_an_expired_session_must_log_in_again(app: Flask) -> None:
    app.config["PERMANENT_SESSION_LIFETIME"] = timedelta(seconds=-1)
    client = app.test_client()
    log_in(client, "giamsat")
    assert client.get("/cases").status_code == 302


def test_a_session_of_a_deactivated_user_ends(app: Flask) -> None:
    client = app.test_client()
    log_in(client, "giamsat")
    with app.extensions["hotline"].sessions.begin() as db:
        from storage.users import find_user

        user = find_user(db, "giamsat")
        assert user is not None
        user.active = False
    assert client.get("/cases").status_code == 302


def test_log_in_goes_back_only_to_local_pages(app: Flask) -> None:
    client = app.test_client()
    token = csrf(client)
    response = client.post("/login", data={"username": "admin", "password": PASSWORD, "csrf_token": token,
                                           "next": "https://evil.example/steal"})
    assert response.headers["Location"] == "/cases"
    client = app.test_client()
    token = csrf(client)
    response = client.post("/login", data={"username": "admin", "password": PASSWORD, "csrf_token": token,
                                           "next": "/admin/audit"})
    assert response.headers["Location"] == "/admin/audit"


def test_twilio_webhooks_need_no_csrf_token(app: Flask) -> None:
    response = app.test_client().post("/twilio/voice", data={"CallSid": "CA1"})
    assert response.status_code == 403, "refused for its missing signature, not for CSRF"


def test_user_rules(app: Flask) -> None:
    hotline = app.extensions["hotline"]
    with hotline.sessions.begin() as db:
        now = hotline.service.clock()
        for kwargs, message in (({"username": "admin", "role": "admin", "unit_code": None}, "exists"),
                                ({"username": "x", "role": "boss", "unit_code": None}, "unknown role"),
                                ({"username": "x", "role": "unit", "unit_code": None}, "needs --unit"),
                                ({"username": "x", "role": "unit", "unit_code": "NOPE"}, "no unit"),
                                ({"username": "x", "role": "leader", "unit_code": "NOPE"}, "only unit users")):
            with pytest.raises(UserError, match=message):
                create_user(db, password_hash="h", now=now, **kwargs)


def test_the_secret_key_is_kept_between_restarts(db_url: str, tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "var", database_url=db_url)
    first, second = create_app(settings), create_app(settings)
    try:
        assert first.config["SECRET_KEY"] == second.config["SECRET_KEY"] and len(first.config["SECRET_KEY"]) == 64
        assert (tmp_path / "var" / "secret_key").stat().st_mode & 0o777 == 0o600
    finally:
        first.extensions["hotline"].close()
        second.extensions["hotline"].close()
