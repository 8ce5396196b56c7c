"""Attack 4, cross-site request forgery: every POST route of the console (from `app.url_map`, log-in and
log-out included), sent by a logged-in admin who may use all of them.

- no token, an empty or forged token, a token of another session, a stale token (from before the
  session's log-in), another session's token in the X-CSRFToken header → 400, nothing written to the
  database or the YAML files; the same form with the right token goes through:
  test_every_post_needs_this_sessions_token
- log-in without a token or with another session's → 400, not logged in: test_log_in_needs_its_own_token
- GET never changes anything but the audit log, so a link or an <img> cannot act for someone:
  test_no_get_route_changes_state
"""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.console.conftest import PASSWORD, LogIn
from tests.security.support import Seeded, console_rules, files, forms, methods, post_form, rows, token_of, url_of


def state(app: Flask) -> tuple[Any, ...]:
    settings = app.extensions["hotline"].settings
    return rows(app), files(settings.menu_dir, settings.config_dir)


@pytest.mark.parametrize("attack", ["missing", "empty", "forged", "other session", "stale", "other session header"])
def test_every_post_needs_this_sessions_token(console_app: Flask, log_in: LogIn, seeded: Seeded,
                                              published: dict[str, Any], attack: str) -> None:
    values = {**seeded.values(), **published}
    post_forms = forms(console_app, seeded)
    stale_client = console_app.test_client()
    stale = token_of(stale_client)  # this browser's token before it logged in
    stale_client.post("/login", data={"username": "admin", "password": PASSWORD, "csrf_token": stale})
    admin = stale_client if attack == "stale" else log_in("admin")
    other = token_of(log_in("admin"), "/cases")
    token, headers = {"missing": (None, {}), "empty": ("", {}), "forged": ("x" * 40, {}), "stale": (stale, {}),
                      "other session": (other, {}), "other session header": (None, {"X-CSRFToken": other})}[attack]
    posts = [rule for rule in console_rules(console_app) if "POST" in methods(rule)]
    assert len(posts) >= 5
    for rule in posts:
        path = url_of(console_app, rule, values)
        before = state(console_app)
        form = dict(post_forms[rule.endpoint], **({} if token is None else {"csrf_token": token}))
        reply = admin.post(path, data=form, headers=headers)
        assert reply.status_code == 400, (attack, path, reply.status_code)
        assert "Biểu mẫu đã hết hạn hoặc không hợp lệ" in reply.get_data(as_text=True)
        assert state(console_app) == before, f"{path} changed something without a valid token ({attack})"
    if attack == "stale":  # the refusals were about the token: with the session's own token the forms work
        for rule in posts:
            if rule.endpoint == "auth.logout":
                continue
            path = url_of(console_app, rule, values)
            before = state(console_app)
            reply = post_form(admin, path, {**post_forms[rule.endpoint], "csrf_token": token_of(admin, "/cases")})
            assert reply.status_code in (200, 302) and state(console_app) != before, path


def test_log_in_needs_its_own_token(console_app: Flask) -> None:
    other = token_of(console_app.test_client())
    for token in (None, "", other):
        client = console_app.test_client()
        token_of(client)  # the browser has a session of its own
        form = {"username": "admin", "password": PASSWORD, **({} if token is None else {"csrf_token": token})}
        reply = client.post("/login", data=form)
        assert reply.status_code == 400, token
        assert client.get("/cases").status_code == 302, "logged in without a valid token"


def test_no_get_route_changes_state(console_app: Flask, log_in: LogIn, seeded: Seeded,
                                    published: dict[str, Any]) -> None:
    values = {**seeded.values(), **published}
    admin: FlaskClient = log_in("admin")
    before = state(console_app)
    for rule in console_rules(console_app):
        if "GET" in methods(rule):
            with admin.get(url_of(console_app, rule, values)) as reply:
                assert reply.status_code in (200, 206), rule.rule
    after = state(console_app)
    assert {k: v for k, v in after[0].items() if k != "audit_events"} == \
        {k: v for k, v in before[0].items() if k != "audit_events"} and after[1] == before[1]
