"""Helpers of the security suite: the app's routes by kind, who may use which, signed requests, stored rows.

The route tables are read from `app.url_map`, so a new route is attacked automatically; a console route
missing from POLICY or a URL argument missing from a sample fails the suite until someone says who may
use it.
"""

from __future__ import annotations

import re
import wave
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from twilio.request_validator import RequestValidator
from werkzeug.routing import Rule
from werkzeug.test import TestResponse, encode_multipart

from config.settings import Settings
from storage import calls as call_store
from storage import cases as case_store
from storage import recordings as recording_store
from storage.db import Base
from storage.models import User
from tests.e2e.support import ACCOUNT_SID, AUTH_TOKEN

BASE = "http://localhost"
NOW = datetime(2026, 3, 2, 1, 30, tzinfo=UTC)
ROLES = ("admin", "giamsat", "lanhdao", "donvi")  # one user of each role (donvi2 is the other unit)
ALL = frozenset(ROLES)
STAFF = frozenset({"admin", "giamsat"})
EDITORS = frozenset({"admin", "giamsat", "donvi"})
ADMIN = frozenset({"admin"})
# Routes anyone may open: log-in, static files, and the probes a load balancer or scraper calls.
PUBLIC_ENDPOINTS = frozenset({"static", "console_static.static", "auth.login"})
PUBLIC_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})
# Who may use each console route (by user name standing for the role). A unit user is allowed only on
# its own unit's cases, calls and recordings; CROSS_UNIT lists the routes that must hide the others'.
POLICY: dict[str, frozenset[str]] = {
    "auth.logout": ALL,
    "status.index": ALL,
    "cases.list_cases": ALL,
    "cases.case_page": ALL,
    "cases.corrections_export": STAFF,
    "cases.change_case_status": EDITORS,
    "cases.add_case_note": EDITORS,
    "cases.correct": STAFF,
    "calls.call_page": ALL,
    "calls.recording": ALL,
    "config_editor.index": ADMIN,
    "config_editor.edit": ADMIN,
    "config_editor.act": ADMIN,
    "config_editor.versions": ADMIN,
    "config_editor.version": ADMIN,
    "config_editor.rollback": ADMIN,
    "audit.index": ADMIN,
}
CROSS_UNIT = frozenset({"cases.case_page", "cases.change_case_status", "cases.add_case_note",
                        "calls.call_page", "calls.recording"})
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass(frozen=True)
class Owned:
    """One unit's call, case and stored recording."""

    sid: str
    number: str
    recording_id: int
    recording_path: Path


@dataclass(frozen=True)
class Seeded:
    """donvi's unit's records (mine) and donvi2's (theirs)."""

    mine: Owned
    theirs: Owned

    def values(self, owned: Owned | None = None) -> dict[str, Any]:
        """Sample values for every URL argument of the console's routes, pointing at owned (default: mine)."""
        owned = owned or self.mine
        return {"number": owned.number, "sid": owned.sid, "recording_id": owned.recording_id,
                "file": "menus/main.yaml", "version_id": 1, "filename": "console.css"}


def write_wav(path: Path, seconds: float = 0.2) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(2)
        out.setsampwidth(2)
        out.setframerate(8000)
        out.writeframes(b"\x01\x00" * 2 * int(seconds * 8000))


def unit_of(app: Flask, username: str) -> str:
    with app.extensions["hotline"].sessions() as db:
        unit = db.scalar(select(User.unit_code).where(User.username == username))
    assert unit is not None
    return unit


def store_call(app: Flask, settings: Settings, *, sid: str, unit: str | None, caller: str = "+84901234567",
               turns: Iterable[Mapping[str, Any]] = (), **case_fields: Any) -> Owned:
    """A finished call with a stored stream recording, its turns and a case routed to unit."""
    path = settings.recordings_dir / sid / "stream.wav"
    write_wav(path)
    fields: dict[str, Any] = {"category": "HT_NGAP", "description": "Đường ngập sâu sau mưa",
                              "address_text": "12 Lê Lợi", "ward": "Phường Sài Gòn", "ward_code": "26740"}
    fields.update(case_fields)
    with app.extensions["hotline"].sessions.begin() as db:
        call, _ = call_store.open_call(db, sid=sid, from_number=caller, to_number="1022", now=NOW,
                                       menu_version_id=None, state={})
        rec = recording_store.add_stream_recording(db, call=call, sid="MZ" + sid[2:], path=str(path), now=NOW)
        call_store.add_turns(db, call, list(turns) or [{"speaker": "caller", "node": "start", "text": "ngập nước"}],
                             now=NOW)
        call.outcome = "case_filed"
        call_store.end_call(db, call, status="completed", duration_s=30, now=NOW)
        case = case_store.file_case(db, call_id=call.id, caller_number=caller, status="new", unit_code=unit,
                                    deadline=None, now=NOW, **fields)
        assert case.number is not None
        return Owned(sid, case.number, rec.id, path)


def seed(app: Flask, settings: Settings) -> Seeded:
    return Seeded(store_call(app, settings, sid="CA" + "1" * 32, unit=unit_of(app, "donvi")),
                  store_call(app, settings, sid="CA" + "2" * 32, unit=unit_of(app, "donvi2")))


# -- routes --------------------------------------------------------------------------------------

def twilio_rules(app: Flask) -> list[Rule]:
    """Every HTTP route of the twilio blueprint."""
    return [rule for rule in app.url_map.iter_rules() if rule.endpoint.startswith("twilio.")]


def console_rules(app: Flask) -> list[Rule]:
    """Every route that needs a console log-in: all but Twilio's, static files, log-in and the probes."""
    return [rule for rule in app.url_map.iter_rules()
            if not rule.endpoint.startswith("twilio.") and not rule.endpoint.endswith("twilio_media")
            and not getattr(rule, "websocket", False) and rule.endpoint not in PUBLIC_ENDPOINTS
            and rule.rule not in PUBLIC_PATHS]


def methods(rule: Rule) -> list[str]:
    return sorted((rule.methods or set()) & {"GET", "POST", "PUT", "PATCH", "DELETE"})


def url_of(app: Flask, rule: Rule, values: Mapping[str, Any]) -> str:
    """The rule's path with sample values; fails naming an argument nobody gave a sample for."""
    missing = rule.arguments - set(values)
    assert not missing, f"{rule.rule}: add a sample value for {sorted(missing)} to Seeded.values()"
    adapter = app.url_map.bind("localhost")
    return adapter.build(rule.endpoint, {name: values[name] for name in rule.arguments}, method=methods(rule)[0])


def allowed(rule: Rule) -> frozenset[str]:
    assert rule.endpoint in POLICY, f"{rule.endpoint} ({rule.rule}): say in tests/security/support.py POLICY who may use it"
    return POLICY[rule.endpoint]


# -- the console ----------------------------------------------------------------------------------

def forms(app: Flask, seeded: Seeded) -> dict[str, dict[str, str]]:
    """For each POST route, a form that succeeds for a role allowed to send it."""
    service = app.extensions["hotline"].config_service
    other = next(code for code in app.extensions["hotline"].catalog.categories if code != "HT_NGAP")
    return {
        "auth.logout": {},
        "cases.change_case_status": {"status": "in_progress"},
        "cases.add_case_note": {"text": "đã liên hệ người gọi"},
        "cases.correct": {"category": other},
        "config_editor.act": {"content": service.files.read("menus/main.yaml") + "\n# ba\n", "action": "publish",
                              "comment": "ba"},
        "config_editor.rollback": {"reason": "thử"},
    }


def token_of(client: FlaskClient, path: str = "/login") -> str:
    """The CSRF token of the form on path for this client's session."""
    match = _CSRF.search(client.get(path).get_data(as_text=True))
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def post_form(client: FlaskClient, path: str, form: Mapping[str, str]) -> TestResponse:
    """A multipart POST encoded in memory (the test client would spool a big body to an unclosed file)."""
    boundary, body = encode_multipart(dict(form))
    return client.post(path, data=body, content_type=f"multipart/form-data; boundary={boundary}")


def rows(app: Flask) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, in a stable order: to show that a refused request changed nothing."""
    with app.extensions["hotline"].sessions() as db:
        return {table.name: sorted(tuple(map(repr, row)) for row in db.execute(select(table)))
                for table in Base.metadata.sorted_tables}


def files(*directories: Path) -> dict[str, bytes]:
    """The bytes of every file under directories."""
    return {str(path): path.read_bytes() for directory in directories if directory.exists()
            for path in sorted(directory.rglob("*")) if path.is_file()}


# -- Twilio ---------------------------------------------------------------------------------------

def call_params(sid: str = "CA" + "a" * 32, **extra: str) -> dict[str, str]:
    return {"CallSid": sid, "AccountSid": ACCOUNT_SID, "From": "+84901111222", "To": "1022",
            "CallStatus": "in-progress", "ApiVersion": "2010-04-01", "Direction": "inbound", **extra}


def signature(url: str, params: Mapping[str, str], token: str = AUTH_TOKEN) -> str:
    return RequestValidator(token).compute_signature(url, dict(params))


def twilio_post(client: FlaskClient, path: str, params: Mapping[str, str], *, signed: str | None = None,
                headers: Mapping[str, str] | None = None) -> TestResponse:
    """POST params to path as Twilio does, signed over BASE + path unless signed gives the signature ("": none)."""
    sent = dict(headers or {})
    value = signature(BASE + path, params) if signed is None else signed
    if value:
        sent["X-Twilio-Signature"] = value
    return client.post(path, data=dict(params), headers=sent, base_url=BASE)
