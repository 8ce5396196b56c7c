"""Attack 9, the log-in: password guessing, open redirects, session fixation, sessions outliving log-out.

- failed log-ins per user name (however the name is spelt, from any browser) and per address
  → 429 after the limit, even with the right password; successes never count: test_guessing_is_rate_limited_*
- next= pointing off the site (absolute URL, //evil, \\evil, /\\evil, javascript:, control characters)
  → the log-in goes to a local page only: test_log_in_never_redirects_off_the_site
- the session cookie a browser had before logging in (planted by an attacker) stays anonymous, a new
  one is issued, and no remember-me cookie is set: test_log_in_issues_a_new_session
- a session cookie captured before log-out no longer works after it: test_log_out_ends_the_session
"""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.security import generate_password_hash
from werkzeug.test import TestResponse

import console.auth
from tests.console.conftest import PASSWORD, LogIn
from tests.security.support import token_of

SESSION = "session"


def attempt(client: FlaskClient, username: str, password: str, **extra: str) -> TestResponse:
    return client.post("/login", data={"username": username, "password": password, "csrf_token": token_of(client),
                                       **extra})


def test_guessing_is_rate_limited_per_user_name(console_app: Flask) -> None:
    browsers = [console_app.test_client() for _ in range(3)]
    codes = [attempt(browsers[i % 3], "admin", f"sai-{i}").status_code for i in range(5)]
    assert codes == [401] * 5
    for spelling in ("admin", " admin ", "ADMIN", "Admin"):  # another browser, another spelling: the same name
        assert attempt(console_app.test_client(), spelling, "sai").status_code == 429, spelling
    assert attempt(console_app.test_client(), "admin", PASSWORD).status_code == 429, "even the right password waits"
    assert attempt(console_app.test_client(), "giamsat", PASSWORD).status_code == 302, "other names are not blocked"


def test_guessing_is_rate_limited_per_address(console_app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    # Unknown names are checked against a throwaway scrypt hash; a cheap one keeps 31 attempts quick.
    monkeypatch.setattr(console.auth, "_DUMMY_HASH", generate_password_hash("x", method="pbkdf2:sha256:1"))
    client = console_app.test_client()
    for i in range(30):  # one name each, so only the address's limit can stop them
        assert attempt(client, f"khongco{i}", "sai").status_code == 401, i
    assert attempt(client, "khongco-cuoi", "sai").status_code == 429
    assert attempt(client, "giamsat", PASSWORD).status_code == 429, "the address waits out its limit"
    other = console_app.test_client()
    reply = other.post("/login", data={"username": "giamsat", "password": PASSWORD, "csrf_token": token_of(other)},
                       environ_base={"REMOTE_ADDR": "10.0.0.2"})
    assert reply.status_code == 302, "another address is not blocked"


OFF_SITE = ["https://evil.example/steal", "http://evil.example", "//evil.example", "///evil.example", "\\\\evil.example",
            "/\\evil.example", "/\\/evil.example", "\\/evil.example", "javascript:alert(1)", "JaVaScRiPt:alert(1)",
            "/\t/evil.example", "/\n/evil.example", " //evil.example", "http:evil.example", "/%5Cevil.example",
            "data:text/html,<script>alert(1)</script>", "evil.example", "@evil.example", "/%09/evil.example"]


def test_log_in_never_redirects_off_the_site(console_app: Flask) -> None:
    for target in OFF_SITE:
        client = console_app.test_client()
        page = client.get("/login", query_string={"next": target}).get_data(as_text=True)
        assert "<script>" not in page, target
        reply = attempt(client, "giamsat", PASSWORD, next=target)
        assert reply.status_code == 302, target
        location = reply.headers["Location"]
        parts = urlsplit(location)
        assert not parts.scheme and not parts.netloc, (target, location)
        # What a browser would make of it: it drops tabs and newlines and reads "\" as "/".
        browser = "".join(ch for ch in location if ch not in "\t\r\n").replace("\\", "/")
        assert browser.startswith("/") and not browser.startswith("//"), (target, location)
        assert location == "/cases" or location.startswith("/%"), (target, location)


def test_log_in_follows_a_local_next(console_app: Flask) -> None:
    client = console_app.test_client()
    reply = attempt(client, "giamsat", PASSWORD, next="/cases?status=new&q=ng%E1%BA%ADp")
    assert reply.headers["Location"] == "/cases?status=new&q=ng%E1%BA%ADp"


def test_log_in_issues_a_new_session(console_app: Flask) -> None:
    client = console_app.test_client()
    token_of(client)
    planted = client.get_cookie(SESSION)
    assert planted is not None, "the log-in form starts a session (for its CSRF token)"
    assert attempt(client, "admin", PASSWORD).status_code == 302
    issued = client.get_cookie(SESSION)
    assert issued is not None and issued.value != planted.value
    assert client.get_cookie("remember_token") is None
    attacker = console_app.test_client()
    attacker.set_cookie(SESSION, planted.value)
    assert attacker.get("/cases").status_code == 302, "the cookie from before the log-in is still anonymous"
    assert client.get("/cases").status_code == 200


def test_log_out_ends_the_session(console_app: Flask, log_in: LogIn) -> None:
    client = log_in("giamsat")
    captured = client.get_cookie(SESSION)
    assert captured is not None and client.get("/cases").status_code == 200
    assert client.post("/logout", data={"csrf_token": token_of(client, "/cases")}).status_code == 302
    assert client.get("/cases").status_code == 302
    thief = console_app.test_client()
    thief.set_cookie(SESSION, captured.value)
    reply = thief.get("/cases")
    assert reply.status_code == 302 and reply.headers["Location"].startswith("/login"), \
        "a session cookie copied before log-out still works after it"
    other = log_in("giamsat")  # another browser of the same person is not logged out by this one
    assert other.get("/cases").status_code == 200
