"""Attack 8, oversized requests: bodies over the 1 MB limit, huge fields, many fields, huge headers.

- a body over 1 MB on every Twilio route (signed or not) and every console POST route (logged in,
  with the token) → 413 without a 5xx, nothing written: test_bodies_over_the_limit_get_413
- one field just under the limit (a note, a search, a log-in name) → refused or cut, no 5xx:
  test_a_huge_single_field_is_handled
- thousands of small fields → 413, no 5xx: test_many_fields_are_refused
- a 64 KB header, a 64 KB query string → no 5xx: test_huge_headers_and_queries_do_not_break_anything
"""

from __future__ import annotations

from typing import Any

from flask import Flask
from werkzeug.test import encode_multipart

from tests.console.conftest import LogIn
from tests.security.support import (
    BASE,
    Seeded,
    call_params,
    console_rules,
    files,
    forms,
    methods,
    post_form,
    rows,
    signature,
    token_of,
    twilio_rules,
    url_of,
)

LIMIT = 1024 * 1024


def state(app: Flask) -> tuple[Any, ...]:
    settings = app.extensions["hotline"].settings
    table_rows = {name: found for name, found in rows(app).items() if name != "audit_events"}
    return table_rows, files(settings.spool_dir, settings.menu_dir, settings.config_dir)


def test_bodies_over_the_limit_get_413(console_app: Flask, log_in: LogIn, seeded: Seeded,
                                       published: dict[str, Any]) -> None:
    twilio = console_app.test_client()
    admin = log_in("admin")
    token = token_of(admin, "/cases")
    before = state(console_app)
    huge = call_params(Digits="1", SpeechResult="ngập " * (LIMIT // 5 + 10))
    for rule in twilio_rules(console_app):
        for signed in (signature(BASE + rule.rule, huge), ""):
            headers = {"X-Twilio-Signature": signed} if signed else {}
            reply = twilio.post(rule.rule, data=huge, headers=headers, base_url=BASE)
            assert reply.status_code == 413, (rule.rule, reply.status_code)
    values = {**seeded.values(), **published}
    post_forms = forms(console_app, seeded)
    for rule in console_rules(console_app):
        if "POST" not in methods(rule):
            continue
        form = {**post_forms[rule.endpoint], "csrf_token": token, "padding": "x" * (LIMIT + 10)}
        path = url_of(console_app, rule, values)
        for reply in (admin.post(path, data=form), post_form(admin, path, form)):  # urlencoded, multipart
            assert reply.status_code == 413, (path, reply.status_code)
            assert "Nội dung quá lớn" in reply.get_data(as_text=True)
    anonymous = console_app.test_client()
    assert anonymous.post("/login", data={"username": "x" * (LIMIT + 10), "password": "x",
                                          "csrf_token": token_of(anonymous)}).status_code == 413
    assert state(console_app) == before


def test_a_huge_single_field_is_handled(console_app: Flask, log_in: LogIn, seeded: Seeded) -> None:
    admin = log_in("admin")
    token = token_of(admin, "/cases")
    big = "ngap " * ((LIMIT - 4096) // 5)
    note = post_form(admin, f"/cases/{seeded.mine.number}/notes", {"csrf_token": token, "text": big})
    assert note.status_code == 302
    assert "không quá" in admin.get(note.headers["Location"]).get_data(as_text=True), "refused with a message"
    assert admin.get("/cases", query_string={"q": "ngập " * 1500}).status_code == 200
    anonymous = console_app.test_client()
    reply = post_form(anonymous, "/login", {"username": "x" * (LIMIT - 4096), "password": "x",
                                            "csrf_token": token_of(anonymous)})
    assert reply.status_code == 401
    assert rows(console_app)["case_notes"] == []


def test_many_fields_are_refused(console_app: Flask, log_in: LogIn, seeded: Seeded) -> None:
    admin = log_in("admin")
    token = token_of(admin, "/cases")
    fields = {f"f{i}": "1" for i in range(5000)}
    boundary, body = encode_multipart({"csrf_token": token, "text": "x", **fields})
    reply = admin.post(f"/cases/{seeded.mine.number}/notes", data=body,
                       content_type=f"multipart/form-data; boundary={boundary}")
    assert reply.status_code == 413
    reply = admin.post(f"/cases/{seeded.mine.number}/notes", data={"csrf_token": token, "text": "x", **fields})
    assert reply.status_code in (302, 413)  # urlencoded fields are only counted by size
    twilio = console_app.test_client()
    params = call_params(**{f"p{i}": "1" for i in range(5000)})
    reply = twilio.post("/twilio/voice", data=params, headers={"X-Twilio-Signature": signature(BASE + "/twilio/voice",
                                                                                              params)}, base_url=BASE)
    assert reply.status_code < 500


def test_huge_headers_and_queries_do_not_break_anything(console_app: Flask, log_in: LogIn) -> None:
    admin = log_in("admin")
    for path in ("/cases", "/login", "/twilio/voice"):
        reply = admin.get(path, headers={"X-Padding": "x" * 65536, "Cookie2": "y" * 65536})
        assert reply.status_code < 500, path
    assert admin.get("/cases?" + "a=1&" * 16000).status_code < 500
    reply = admin.get("/cases", headers={"Range": "bytes=" + "0-1," * 10000})
    assert reply.status_code < 500
