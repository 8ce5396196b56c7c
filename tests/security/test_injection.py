"""Attack 5, SQL injection and hostile text: classic payloads wherever text reaches a query or a row.

PAYLOADS: `' OR 1=1 --`, `"; DROP TABLE cases; --`, a UNION, LIKE wildcards `%` and `_`, a backslash,
Unicode quotes, NUL, full-text syntax (`*`, `:*`, `&`, `|`, `!`, NEAR), huge numbers.

- every filter and the free-text search of the case list, and the paging cursors, as a unit user
  → no 5xx, never another unit's case, every table intact: test_case_list_filters_and_search
- case notes, status reasons and corrections (ward, unit, category) → no 5xx, a note kept as typed,
  no correction from a bogus value: test_case_forms
- the log-in user name → 401 (or 400), no 5xx, nobody logged in: test_log_in_user_name
- the webhooks' From, To, Digits, SpeechResult, RecordingSid and a long SIP caller, then a
  transcript holding the payloads → no 5xx, no spool, a case found by its words and by nothing
  else: test_webhook_parameters_and_transcripts
"""

from __future__ import annotations

from typing import Any

from flask import Flask
from sqlalchemy import select

from storage import recordings as recording_store
from storage import search
from storage.models import Call, Case, CaseNote, Recording
from tests.console.conftest import PASSWORD, LogIn
from tests.security.support import NOW, Seeded, call_params, files, rows, token_of, twilio_post

PAYLOADS = ["' OR 1=1 --", "\"; DROP TABLE cases; --", "' UNION SELECT password_hash, 1 FROM users --", "%", "_",
            "%_%", "\\", "\\'", "’ OR ‘1’=‘1", "＇ OR １=１ --", "ngập\x00' OR 1=1", "\x00", "*", ":*", "a & b | !c",
            "NEAR(ngập đường)", "\"ngập\"*", "-1", "1e999", "99999999999999999999999", "1.99999999999999999999999"]
FILTERS = ("q", "status", "category", "ward", "unit", "from", "to", "caller", "sort", "after", "before")


def table_counts(app: Flask) -> dict[str, int]:
    """Rows per table (the audit log aside: log-ins add to it)."""
    return {name: len(found) for name, found in rows(app).items() if name != "audit_events"}


def test_case_list_filters_and_search(console_app: Flask, log_in: LogIn, seeded: Seeded) -> None:
    unit = log_in("donvi")
    counts = table_counts(console_app)
    for key in FILTERS:
        for value in PAYLOADS:
            reply = unit.get("/cases", query_string={key: value})
            assert reply.status_code == (400 if "\x00" in value else 200), (key, value, reply.status_code)
            page = reply.get_data(as_text=True)
            assert f'data-number="{seeded.theirs.number}"' not in page, (key, value)
    admin = log_in("admin")
    with console_app.extensions["hotline"].sessions() as db:
        words = {case.number: case.search_text.split() for case in db.scalars(select(Case))}
    for value in [value for value in PAYLOADS if "\x00" not in value]:  # what has the words, never all by a trick
        page = admin.get("/cases", query_string={"q": value}).get_data(as_text=True)
        listed = {number for number in words if f'data-number="{number}"' in page}
        terms = search.search_terms(value)  # each must start a word of the case (the search's own rule)
        assert listed == {number for number, found in words.items()
                          if all(any(word.startswith(term) for word in found) for term in terms)}, (value, listed)
    assert table_counts(console_app) == counts


def test_case_forms(console_app: Flask, log_in: LogIn, seeded: Seeded) -> None:
    admin = log_in("admin")
    token = token_of(admin, "/cases")
    case = f"/cases/{seeded.mine.number}"
    for value in PAYLOADS:
        for path, form in ((f"{case}/notes", {"text": value}),
                           (f"{case}/status", {"status": value, "reason": value}),
                           (f"{case}/corrections", {"ward": value}), (f"{case}/corrections", {"unit": value}),
                           (f"{case}/corrections", {"category": value}),
                           (f"/cases/{value}/notes", {"text": "x"})):
            reply = admin.post(path, data={"csrf_token": token, **form})
            assert reply.status_code in ((400,) if "\x00" in value else (302, 404)), (path, form, reply.status_code)
    with console_app.extensions["hotline"].sessions() as db:
        notes = set(db.scalars(select(CaseNote.text)))
        case_row = db.scalars(select(Case).where(Case.number == seeded.mine.number)).one()
        assert (case_row.status, case_row.category, case_row.ward_code) == ("new", "HT_NGAP", "26740")
    kept = {value.strip() for value in PAYLOADS if "\x00" not in value}
    assert kept <= notes, "a note is kept exactly as typed"
    assert table_counts(console_app)["cases"] == 2


def test_log_in_user_name(console_app: Flask) -> None:
    client = console_app.test_client()
    for value in [*PAYLOADS, "admin' --", "admin\x00", "admin' OR '1'='1"]:
        reply = client.post("/login", data={"username": value, "password": PASSWORD, "csrf_token": token_of(client)})
        assert reply.status_code in (400, 401, 429), (value, reply.status_code)
        assert client.get("/cases").status_code == 302, value
    assert table_counts(console_app)["users"] == 5


def test_webhook_parameters_and_transcripts(console_app: Flask, log_in: LogIn) -> None:
    client = console_app.test_client()
    spool = console_app.extensions["hotline"].settings.spool_dir
    callers = [*PAYLOADS, "sip:+84901234567@hotline-1022.sip.us1.twilio.com;transport=tls", "+" + "9" * 40]
    for i, value in enumerate(callers):
        sid = f"CA{i:032d}"
        params: dict[str, Any] = call_params(sid, From=value, To=value[:20], SpeechResult=value)
        assert twilio_post(client, "/twilio/voice", params).status_code == 200, value
        assert twilio_post(client, "/twilio/gather?seq=1", {**params, "Digits": value}).status_code == 200, value
        assert twilio_post(client, "/twilio/recording-status", {**params, "RecordingSid": f"RE{i:032d}",
                                                                "RecordingStatus": "completed", "TranscriptionText": value,
                                                                "RecordingUrl": f"http://127.0.0.1:9/RE{i}"}
                           ).status_code == 204, value
        assert twilio_post(client, "/twilio/status", {**params, "CallStatus": "completed"}).status_code == 204, value
    assert files(spool) == {}, "a webhook fell back to the spool: the database refused its values"
    hotline = console_app.extensions["hotline"]
    with hotline.sessions.begin() as db:
        calls = list(db.scalars(select(Call).order_by(Call.id)))
        assert len(calls) == len(callers) and all(call.ended_at is not None for call in calls)
        call = calls[0]
        rec = db.scalars(select(Recording).where(Recording.call_id == call.id)).first()
        if rec is None:
            rec = recording_store.add_recording(db, call=call, sid="RE" + "9" * 32, remote_url=None, duration_s=1.0,
                                                purpose="description", now=NOW)
        recording_store.set_transcript(db, rec, " ".join(PAYLOADS).replace("\x00", "") + " cống tràn", 0.5, NOW)
        case = db.scalars(select(Case).where(Case.call_id == call.id)).one()
        search.refresh_search_text(db, case)
        number = case.number
    page = log_in("admin").get("/cases", query_string={"q": "cống tràn"}).get_data(as_text=True)
    assert f'data-number="{number}"' in page and page.count("data-number=") == 1
    counts = table_counts(console_app)
    assert counts["cases"] == len(callers) and counts["calls"] == len(callers)
