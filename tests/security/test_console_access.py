"""Attack 3, console access: every console route of `app.url_map`, as nobody, as each role, across units.

- no log-in, any route and method (GET, HEAD, POST with a valid anonymous CSRF token)
  → redirect to /login, no data, nothing written: test_every_console_route_needs_a_log_in
- a role that may not use a route (leader on edits, supervisor on admin pages, unit user on staff
  pages) → 403, nothing written; the role that may → served: test_each_role_is_refused_what_it_may_not_use
- a unit user on another unit's case, call and recording (every route taking one) → 404, nothing
  written or audited, never listed or found: test_a_unit_user_never_reaches_another_units_records
- recordings without log-in or across units, with Range and HEAD → no audio bytes:
  test_recordings_are_never_served_to_strangers
- every route is in the policy table (a new route fails here until someone decides who may use it):
  test_every_console_route_has_a_policy
"""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from storage.models import AuditEvent
from tests.console.conftest import LogIn
from tests.security.support import (
    CROSS_UNIT,
    POLICY,
    ROLES,
    Seeded,
    allowed,
    console_rules,
    forms,
    methods,
    post_form,
    rows,
    token_of,
    unit_of,
    url_of,
)


def leaks(body: bytes) -> bool:
    """Whether a page shows a seeded case's description, caller number or audio."""
    return any(secret in body for secret in ("Đường ngập sâu".encode(), b"+84901234567", b"0901234567", b"RIFF"))


def request(client: FlaskClient, method: str, path: str, form: dict[str, str], token: str | None) -> Any:
    if method == "POST":
        return post_form(client, path, {**form, **({"csrf_token": token} if token else {})})
    return client.open(path, method=method)


def test_every_console_route_has_a_policy(console_app: Flask) -> None:
    rules = console_rules(console_app)
    assert len(rules) >= len(POLICY) - 1, "the route table shrank: is console_rules() still finding the console?"
    for rule in rules:
        allowed(rule)


def test_every_console_route_needs_a_log_in(console_app: Flask, seeded: Seeded, published: dict[str, Any]) -> None:
    values = {**seeded.values(), **published}
    client = console_app.test_client()
    token = token_of(client)  # an anonymous session's valid token: the refusal must be the log-in's
    post_forms = forms(console_app, seeded)
    before = rows(console_app)
    for rule in console_rules(console_app):
        path = url_of(console_app, rule, values)
        for method in methods(rule) + (["HEAD"] if "GET" in methods(rule) else []):
            reply = request(client, method, path, post_forms.get(rule.endpoint, {}), token)
            where = f"{method} {path}"
            assert reply.status_code in (302, 401), where
            if reply.status_code == 302:
                assert reply.headers["Location"].startswith("/login"), where
            assert not leaks(reply.get_data()), where
    assert rows(console_app) == before


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_each_role_is_refused_what_it_may_not_use(console_app: Flask, log_in: LogIn, seeded: Seeded,
                                                   published: dict[str, Any], method: str) -> None:
    values = {**seeded.values(), **published}
    clients = {name: log_in(name) for name in ROLES}
    tokens = {name: token_of(client, "/cases") for name, client in clients.items()}
    post_forms = forms(console_app, seeded)
    checked = 0
    for rule in console_rules(console_app):
        if method not in methods(rule):
            continue
        path, form = url_of(console_app, rule, values), post_forms.get(rule.endpoint, {})
        assert method == "GET" or rule.endpoint in post_forms, f"{rule.endpoint}: add a form to forms()"
        refused = [name for name in ROLES if name not in allowed(rule)]
        before = rows(console_app)
        for name in refused:
            reply = request(clients[name], method, path, form, tokens[name])
            assert reply.status_code == 403, (name, method, path, reply.status_code)
            assert "Không có quyền truy cập" in reply.get_data(as_text=True)
        assert rows(console_app) == before, f"{method} {path} wrote something for a refused role"
        if method == "GET":  # the roles allowed are served, so the refusals above were about the role
            for name in sorted(allowed(rule)):
                with clients[name].get(path) as reply:
                    assert reply.status_code in (200, 206), (name, path, reply.status_code)
        elif rule.endpoint != "auth.logout":  # the same form from a role allowed to send it does change things
            name = sorted(allowed(rule))[0]
            reply = request(clients[name], method, path, form, tokens[name])
            assert reply.status_code in (200, 302), (name, path, reply.status_code)
            assert rows(console_app) != before, f"{name}'s {method} {path} changed nothing: the form is wrong"
        checked += 1
    assert checked >= 5


def test_a_unit_user_never_reaches_another_units_records(console_app: Flask, log_in: LogIn, seeded: Seeded) -> None:
    mine, theirs = log_in("donvi"), log_in("donvi2")
    their_token = token_of(theirs, "/cases")
    post_forms = forms(console_app, seeded)
    takes_a_record = {"number", "sid", "recording_id"}
    rules = [rule for rule in console_rules(console_app)
             if rule.arguments & takes_a_record and "donvi" in allowed(rule)]
    assert {rule.endpoint for rule in rules} == CROSS_UNIT, "a route taking a record is missing from CROSS_UNIT"
    before = rows(console_app)
    for rule in rules:
        path = url_of(console_app, rule, seeded.values())
        for method in methods(rule):
            reply = request(theirs, method, path, post_forms.get(rule.endpoint, {}), their_token)
            assert reply.status_code == 404, ("donvi2", method, path, reply.status_code)
            assert not leaks(reply.get_data()), path
    assert rows(console_app) == before, "a refused unit user wrote or audited something"
    for rule in rules:  # the same paths are served to the unit they belong to
        if "GET" in methods(rule):
            with mine.get(url_of(console_app, rule, seeded.values())) as reply:
                assert reply.status_code == 200, ("donvi", rule.rule)
    # Nor listed, searched or filtered into view.
    for query in ({}, {"q": seeded.mine.number}, {"unit": unit_of(console_app, "donvi")}, {"caller": "+84901234567"},
                  {"q": "ngập"}):
        listed = theirs.get("/cases", query_string=query).get_data(as_text=True)
        assert f'data-number="{seeded.mine.number}"' not in listed, query
        assert f'data-number="{seeded.theirs.number}"' in listed or query.get("q") == seeded.mine.number, query


def test_recordings_are_never_served_to_strangers(console_app: Flask, log_in: LogIn, seeded: Seeded) -> None:
    path = f"/recordings/{seeded.mine.recording_id}"
    strangers = {"nobody": console_app.test_client(), "donvi2": log_in("donvi2")}
    for who, client in strangers.items():
        for method, headers in (("GET", {}), ("GET", {"Range": "bytes=0-"}), ("GET", {"Range": "bytes=44-99"}),
                                ("HEAD", {})):
            with client.open(path, method=method, headers=headers) as reply:
                assert reply.status_code in ((302,) if who == "nobody" else (404,)), (who, method, headers)
                assert b"RIFF" not in reply.get_data() and reply.mimetype != "audio/wav"
    with console_app.extensions["hotline"].sessions() as db:
        assert db.scalars(select(AuditEvent).where(AuditEvent.action == "recording.open")).all() == []
    with log_in("donvi").get(path) as reply:
        assert reply.status_code == 200 and reply.get_data() == seeded.mine.recording_path.read_bytes()
