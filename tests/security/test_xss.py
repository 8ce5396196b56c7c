"""Attack 6, stored and reflected XSS: markup in every text that reaches the console, on every page showing it.

Each field gets its own payload (a <script>, an <img onerror>, attribute-breaking quotes, a
`</textarea>` and a javascript: URL, plus a marker naming the field):

- the caller's number (From, through signed webhooks), description, address, ward, the turns' text and
  words, a recording's transcript, the transcript's suggestion, case notes, a status change's reason,
  a correction's ward text, a category label, a YAML comment and a publication comment published
  through the config editor, a user name typed at log-in (audit log), search and filter text
  → every page shows the text, escaped: no script but our own files, no on… attribute, no
  javascript: URL, no injected element: test_markup_is_shown_as_text_everywhere
- every console page (each route of `app.url_map`, log-in, errors, static files) sends
  Content-Security-Policy (scripts only from our origin), X-Content-Type-Options, X-Frame-Options
  and Referrer-Policy: test_every_console_response_sends_security_headers
"""

from __future__ import annotations

import json
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlencode

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from config.settings import Settings
from storage import calls as call_store
from storage import cases as case_store
from storage import recordings as recording_store
from storage.models import Call, Case
from tests.console.conftest import LogIn
from tests.security.support import (
    NOW,
    Seeded,
    call_params,
    console_rules,
    methods,
    post_form,
    store_call,
    token_of,
    twilio_post,
    unit_of,
    url_of,
)

CALLER = "\"><svg/onload=alert(9)>'<b>"  # a caller number (32 characters at most, as the column)
INJECTED = frozenset({"img", "svg", "iframe", "object", "embed", "b", "base", "math"})  # none of ours


def payload(field: str) -> str:
    return (f"</textarea></title><script>alert('{field}')</script>\"><img src=x onerror=alert('{field}')>"
            f"' onfocus='alert(1)' javascript:alert(1) {field}-mark")


class Dom(HTMLParser):
    """The elements and text of a page, to tell markup we wrote from markup a payload smuggled in."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str]]] = []
        self.text = ""
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, {name: value or "" for name, value in attrs}))
        self.text += " ".join(value or "" for _, value in attrs)  # a form field's value shows too

    def handle_data(self, data: str) -> None:
        self.text += data


def assert_inert(html: str, shown: list[str], where: str) -> None:
    """The page runs no script but ours and shows each text in shown as text."""
    dom = Dom(html)
    for tag, attrs in dom.elements:
        assert tag not in INJECTED, (where, tag, attrs)
        if tag == "script":
            assert attrs.get("src", "").startswith("/console/static/"), (where, attrs)
        for name, value in attrs.items():
            assert not name.startswith("on"), (where, tag, name)
            scheme = "".join(value.split()).lower()
            if name in ("href", "src", "action", "formaction"):
                assert not scheme.startswith(("javascript:", "data:", "vbscript:")), (where, tag, name, value)
    for text in shown:  # its start, which names the field (the case list cuts descriptions, YAML escapes quotes)
        assert text.split('"')[0] in dom.text, f"{where} does not show {text[:60]!r}: the payload never reached the page"
    assert "<script>alert" not in html and "<img src=x" not in html and "<svg" not in html, where


def yaml_string(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)  # a JSON string is a YAML double-quoted scalar


@pytest.fixture
def world(console_app: Flask, console_settings: Settings, log_in: LogIn) -> dict[str, Any]:
    """Every field that reaches the console, filled with its payload through the way it is really filled."""
    hotline = console_app.extensions["hotline"]
    twilio = console_app.test_client()
    sid = "CA" + "c" * 32
    assert twilio_post(twilio, "/twilio/voice", call_params(sid, From=CALLER)).status_code == 200
    assert twilio_post(twilio, "/twilio/status", call_params(sid, From=CALLER, CallStatus="completed")).status_code == 204
    words = [{"word": payload("word"), "start_s": 1.0, "end_s": 1.5, "confidence": 0.4}]
    owned = store_call(console_app, console_settings, sid="CA" + "d" * 32, unit=unit_of(console_app, "donvi"),
                       description=payload("description"), address_text=payload("address"), ward=payload("ward"),
                       turns=[{"speaker": "bot", "node": "start", "text": payload("bot")},
                              {"speaker": "caller", "node": "start", "text": payload("turn"), "words": words,
                               "start_s": 1.0, "end_s": 1.5},
                              {"speaker": "caller", "node": "description", "text": payload("said")}])
    with hotline.sessions.begin() as db:
        call = db.scalars(select(Call).where(Call.sid == owned.sid)).one()
        rec = recording_store.add_recording(db, call=call, sid="RE" + "d" * 32, remote_url=None, duration_s=3.0,
                                            purpose="description", now=NOW)
        recording_store.mark_stored(db, rec, str(owned.recording_path), NOW)
        recording_store.set_transcript(db, rec, payload("transcript"), 0.5, NOW)
        call_store.add_turns(db, call, [{"speaker": "caller", "node": "location", "recording_id": rec.id}], now=NOW)
        case = db.scalars(select(Case).where(Case.number == owned.number)).one()
        case_store.set_suggestion(db, case, {"category": payload("s-category"), "ward": payload("s-ward"),
                                             "address": payload("s-address"), "transcript": payload("s-transcript"),
                                             "ward_code": payload("s-code")}, NOW)
    admin = log_in("admin")
    token = token_of(admin, "/cases")
    case_path = f"/cases/{owned.number}"
    assert admin.post(f"{case_path}/notes", data={"csrf_token": token, "text": payload("note")}).status_code == 302
    assert admin.post(f"{case_path}/status", data={"csrf_token": token, "status": "in_progress",
                                                   "reason": payload("reason")}).status_code == 302
    categories = hotline.config_service.files.read("categories.yaml")
    edited = categories.replace("label: Ngập nước, thoát nước", "label: " + yaml_string(payload("label")), 1)
    edited += f"\n# {payload('yaml')}\n"
    assert edited != categories
    published = post_form(admin, "/admin/config/categories.yaml", {"csrf_token": token, "content": edited,
                                                                    "action": "publish", "comment": payload("comment")})
    assert published.status_code == 302, published.get_data(as_text=True)[-2000:]
    stranger = console_app.test_client()
    stranger.post("/login", data={"username": payload("user"), "password": "x", "csrf_token": token_of(stranger)})
    with hotline.sessions() as db:
        incomplete = db.scalars(select(Case).where(Case.caller_number == CALLER)).one().number
    return {"admin": admin, "token": token, "case": owned.number, "sid": owned.sid, "incomplete": incomplete,
            "caller_sid": sid, "version": hotline.config_service.versions("categories.yaml")[0].version_id}


def test_markup_is_shown_as_text_everywhere(world: dict[str, Any]) -> None:
    admin: FlaskClient = world["admin"]
    case, sid = world["case"], world["sid"]
    reply = admin.post(f"/cases/{case}/corrections", data={"csrf_token": world["token"], "ward": payload("fix")})
    assert reply.status_code == 302
    version = world["version"]
    pages = {
        f"/cases/{case}": ["description", "address", "ward", "s-category", "s-ward", "s-address", "s-transcript",
                           "note", "reason", "label", "fix"],
        "/cases": ["description", "ward", "label"],
        "/cases?" + urlencode({"q": payload("q"), "ward": payload("w"), "caller": payload("c")}): ["q", "w", "c"],
        f"/calls/{sid}": ["word", "bot", "said", "transcript"],
        "/admin/audit": ["user"],
        "/admin/config": ["comment"],
        "/admin/config/categories.yaml": ["label", "yaml"],
        "/admin/config/categories.yaml/versions": ["comment"],
        f"/admin/config/categories.yaml/versions/{version}": ["label", "yaml"],
    }
    shown = {path: [payload(field) for field in fields] for path, fields in pages.items()}
    shown[f"/cases/{world['incomplete']}"] = shown[f"/calls/{world['caller_sid']}"] = [CALLER]
    for path, texts in shown.items():
        reply = admin.get(path)
        assert reply.status_code == 200, path
        assert_inert(reply.get_data(as_text=True), texts, path)


def test_every_console_response_sends_security_headers(console_app: Flask, log_in: LogIn, seeded: Seeded,
                                                      published: dict[str, Any]) -> None:
    admin = log_in("admin")
    values = {**seeded.values(), **published}
    paths = [url_of(console_app, rule, values) for rule in console_rules(console_app) if "GET" in methods(rule)]
    anonymous = console_app.test_client()
    replies = [(path, admin.get(path)) for path in [*paths, "/cases/999999", "/nowhere", "/console/static/replay.js"]]
    replies += [(path, anonymous.get(path)) for path in ("/login", "/cases")]
    replies.append(("POST /logout without a token", admin.post("/logout")))
    for path, reply in replies:
        headers = reply.headers
        policy = {part.split()[0]: part.split()[1:] for part in headers.get("Content-Security-Policy", "").split(";")
                  if part.strip()}
        assert policy.get("default-src") == ["'self'"], (path, headers.get("Content-Security-Policy"))
        script = policy.get("script-src", policy["default-src"])
        assert "'unsafe-inline'" not in script and "'unsafe-eval'" not in script, path
        assert policy.get("object-src") == ["'none'"] and policy.get("frame-ancestors") == ["'none'"], path
        assert policy.get("base-uri") == ["'none'"] and policy.get("form-action") == ["'self'"], path
        assert headers.get("X-Content-Type-Options") == "nosniff", path
        assert headers.get("X-Frame-Options") == "DENY", path
        assert headers.get("Referrer-Policy") == "same-origin", path
        reply.close()
