"""Fuzzed Twilio callbacks, validly signed: never a 5xx, always TwiML, and the database stays consistent.

Every example is a random sequence of callbacks for a new CallSid, on one app and one database per
test (SQLite, and PostgreSQL when TEST_DATABASE_URL is set). After it, the call's rows must satisfy
the store's invariants and a normal call placed next must still go through.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field
from urllib.parse import urlencode, urlsplit
from xml.etree import ElementTree

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import given, note, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from twilio.request_validator import RequestValidator

from ivr.calls import ENDED_STATUSES
from ivr.twilio.webhooks import APOLOGY
from storage.models import Call, Case, Recording, Turn
from tests.e2e.support import ACCOUNT_SID, AUTH_TOKEN
from tests.fuzz.conftest import scaled
from tests.fuzz.support import logged_errors

BASE = "http://localhost"
ROUTES = ["voice", "gather", "record", "dial", "status", "recording-status", "after-stream", "queue-wait",
          "degraded/dial", "degraded/message"]
CALL_ROUTES = {"voice", "gather", "record", "dial", "after-stream"}  # an answer from these opened the call
STATUSES = ["queued", "ringing", "in-progress", "completed", "busy", "failed", "no-answer", "canceled", ""]
_SIDS = itertools.count(1)
_SEQ = re.compile(r"[?&]seq=(-?\d+)")


class FakeFetcher:
    """Recordings are kept in the database but never downloaded: the fuzzed URLs lead anywhere."""

    def __init__(self) -> None:
        self.submitted: list[int] = []

    def submit(self, recording_id: int) -> None:
        self.submitted.append(recording_id)




@pytest.fixture
def client(app: Flask) -> FlaskClient:
    hotline = app.extensions["hotline"]
    hotline.fetcher = hotline.webhooks.fetcher = FakeFetcher()
    return app.test_client()


@dataclass
class Reply:
    route: str
    status: int
    twiml: ElementTree.Element | None
    body: bytes = field(repr=False)


def post(client: FlaskClient, route: str, params: dict[str, str], query: dict[str, str] | None = None) -> Reply:
    """POST a form signed as Twilio signs it; a 200 must be TwiML, and nothing may be a 5xx."""
    path = f"/twilio/{route}" + (f"?{urlencode(query)}" if query else "")
    signature = RequestValidator(AUTH_TOKEN).compute_signature(BASE + path, params)
    reply = client.post(path, data=params, headers={"X-Twilio-Signature": signature}, base_url=BASE)
    assert reply.status_code < 500, (route, reply.status_code)
    twiml = None
    if reply.status_code == 200:
        assert reply.mimetype == "application/xml", (route, reply.mimetype)
        twiml = ElementTree.fromstring(reply.data)  # raises on anything that is not well-formed XML
        assert twiml.tag == "Response"
        assert APOLOGY not in reply.get_data(as_text=True), f"{route} took the outage path with the database up"
    else:
        assert reply.status_code in (204, 400, 413), (route, reply.status_code)
    return Reply(route, reply.status_code, twiml, reply.data)


def next_seq(twiml: ElementTree.Element | None) -> int | None:
    """The seq the TwiML's action URLs expect next."""
    if twiml is None:
        return None
    for element in twiml.iter():
        found = _SEQ.search(element.get("action", ""))
        if found:
            return int(found.group(1))
    return None


def new_sid() -> str:
    return f"CA{next(_SIDS):032x}"


# -- strategies -----------------------------------------------------------------------------

texts = st.one_of(st.text(max_size=40), st.text(alphabet=st.characters(codec="utf-8"), max_size=200),
                  st.text(min_size=60, max_size=300),  # longer than the columns they may end up in
                  st.sampled_from(["", " ", "\x00", "\r\n", "null", "-1", "NaN", "1e309", "<Response/>", "]]>",
                                   "&amp;", "'; DROP TABLE calls; --", "🙂" * 40, "\u202e", "\ufeff"]))
big_texts = st.builds(lambda piece, times: piece * times, st.sampled_from(["9", "á", "#", "\x01", "ở "]),
                      st.integers(60, 300_000))
phones = st.one_of(st.from_regex(r"\+84[0-9]{9}", fullmatch=True), st.just("client:operator"),
                   st.just("sip:caller@pbx.hotline.example.vn:5060;transport=tls"), st.just("anonymous"), texts)
numbers = st.one_of(st.integers(-10, 10_000).map(str), texts)
recording_urls = st.one_of(
    st.from_regex(r"https://api\.twilio\.com/2010-04-01/Accounts/AC[0-9a-f]{32}/Recordings/RE[0-9a-f]{32}",
                  fullmatch=True), st.just("https://example.vn/"), texts)
FIELDS = {
    "From": phones, "To": phones, "Caller": phones,
    "Digits": st.one_of(st.from_regex(r"[0-9*#]{0,90}", fullmatch=True), texts),
    "SpeechResult": texts, "Confidence": numbers,
    "RecordingUrl": recording_urls, "RecordingSid": st.one_of(st.from_regex(r"RE[0-9a-f]{32}", fullmatch=True), texts),
    "RecordingDuration": numbers, "RecordingStatus": st.sampled_from(["completed", "absent", "failed", "", "x"]),
    "CallStatus": st.one_of(st.sampled_from(STATUSES), texts), "CallDuration": numbers,
    "DialCallStatus": st.sampled_from(["completed", "answered", "busy", "no-answer", "failed", "canceled", ""]),
    "QueueResult": st.sampled_from(["bridged", "bridging-in-process", "hangup", "leave", "error", ""]),
    "QueueTime": numbers,
}
queries = st.one_of(st.none(), st.fixed_dictionaries({}, optional={
    "seq": st.one_of(st.integers(-3, 40).map(str), texts), "empty": st.sampled_from(["1", ""]),
    "limit": numbers}))


@st.composite
def callbacks(draw: st.DrawFn) -> tuple[str, dict[str, str], str]:
    """A route, its form (some fields missing, some odd, some huge) and how to choose its seq."""
    route = draw(st.sampled_from(ROUTES))
    form = {"AccountSid": ACCOUNT_SID, "ApiVersion": "2010-04-01", "Direction": "inbound"}
    form |= draw(st.fixed_dictionaries({}, optional=FIELDS))
    if draw(st.integers(0, 30)) == 0:
        form[draw(st.sampled_from(sorted(FIELDS)))] = draw(big_texts)
    seq = draw(st.sampled_from(["current", "current", "current", "query", "stale", "none"]))
    return route, form, seq


@dataclass
class Walk:
    """What one fuzzed sequence did to its call."""

    sid: str
    seq: int | None = None
    ended_by: str | None = None
    replies: list[Reply] = field(default_factory=list)


def run(client: FlaskClient, sid: str, steps: list[tuple[str, dict[str, str], str]],
        extra_queries: list[dict[str, str] | None]) -> Walk:
    walk = Walk(sid)
    for (route, form, seq_choice), query in zip(steps, extra_queries):
        form = {**form, "CallSid": sid}
        args = dict(query or {})
        if seq_choice == "current" and walk.seq is not None:
            args["seq"] = str(walk.seq)
        elif seq_choice == "stale" and walk.seq is not None:
            args["seq"] = str(walk.seq - 1)
        elif seq_choice == "none":
            args.pop("seq", None)
        reply = post(client, route, form, args)
        walk.replies.append(reply)
        walk.seq = next_seq(reply.twiml) if next_seq(reply.twiml) is not None else walk.seq
        if route == "status" and reply.status == 204 and form.get("CallStatus") in ENDED_STATUSES:
            walk.ended_by = walk.ended_by or form["CallStatus"]
    return walk


def check_invariants(app: Flask, walk: Walk) -> None:
    """At most one case, seq matching the stored answer, turns numbered 1..n, an ended call with a case."""
    with app.extensions["hotline"].sessions() as db:
        call = db.scalars(select(Call).where(Call.sid == walk.sid)).one_or_none()
        if call is None:
            assert walk.ended_by is None
            assert not any(r.status == 200 and r.route in CALL_ROUTES for r in walk.replies)
            return
        cases = db.scalars(select(Case).where(Case.call_id == call.id)).all()
        assert len(cases) <= 1
        assert call.seq >= 0
        stored = ElementTree.fromstring(call.last_response) if call.last_response else None
        assert next_seq(stored) in (None, call.seq), (next_seq(stored), call.seq)
        turns = db.scalars(select(Turn.seq).where(Turn.call_id == call.id).order_by(Turn.seq)).all()
        assert list(turns) == list(range(1, len(turns) + 1))
        if walk.ended_by is not None:
            recordings = db.scalar(select(func.count()).select_from(Recording).where(Recording.call_id == call.id))
            assert call.ended_at is not None and call.status in ENDED_STATUSES
            assert cases or recordings, f"call ended ({walk.ended_by}) with neither a case nor a recording"
            assert call.outcome == ("no_case" if not cases else
                                    "incomplete_case" if cases[0].status == "incomplete" else "case_filed")


def scripted_call(app: Flask, client: FlaskClient) -> None:
    """A caller who reports a problem by keypad and recordings, then hangs up: one filed case."""
    sid = new_sid()
    form = {"CallSid": sid, "AccountSid": ACCOUNT_SID, "From": "+84901111222", "To": "1022"}
    reply = post(client, "voice", form)
    for keys in ["1", "1", None, None, "1"]:  # report, flooding, description, location, confirm
        seq = next_seq(reply.twiml)
        assert seq is not None
        if keys is None:
            rec = f"RE{next(_SIDS):032x}"
            reply = post(client, "record", {**form, "RecordingUrl": f"https://api.twilio.com/Recordings/{rec}",
                                            "RecordingSid": rec, "RecordingDuration": "4"}, {"seq": str(seq)})
        else:
            reply = post(client, "gather", {**form, "Digits": keys}, {"seq": str(seq)})
    assert reply.status == 200
    post(client, "status", {**form, "CallStatus": "completed", "CallDuration": "60"})
    with app.extensions["hotline"].sessions() as db:
        call = db.scalars(select(Call).where(Call.sid == sid)).one()
        case = db.scalars(select(Case).where(Case.call_id == call.id)).one()
        assert case.status == "new" and case.category == "HT_NGAP" and case.unit_code
        assert call.outcome == "case_filed"


# -- properties -----------------------------------------------------------------------------

@settings(max_examples=scaled(100))
@given(st.lists(callbacks(), min_size=1, max_size=10).flatmap(
    lambda steps: st.tuples(st.just(steps), st.lists(queries, min_size=len(steps), max_size=len(steps)))),
    st.booleans())
def test_fuzzed_callbacks_never_fail_and_keep_the_call_consistent(app: Flask, client: FlaskClient,
                                                                  plan: tuple[list, list], voice_first: bool) -> None:
    steps, extra = plan
    sid = new_sid()
    if voice_first:
        steps = [("voice", {"From": "+84901111222", "To": "1022"}, "none"), *steps]
        extra = [None, *extra]
    with logged_errors() as errors:
        walk = run(client, sid, steps, extra)
        note(f"replies: {[(r.status, r.body[:120]) for r in walk.replies]}")
        check_invariants(app, walk)
        # Twilio always reports the end of a call: afterwards it is ended with a case or a recording.
        if walk.ended_by is None:
            post(client, "status", {"CallSid": sid, "CallStatus": "completed", "From": "+84901111222"})
            walk.ended_by = "completed"
            check_invariants(app, walk)
    assert not errors.records, [record.getMessage() for record in errors.records]


@settings(max_examples=scaled(25))
@given(st.lists(callbacks(), min_size=1, max_size=4))
def test_a_normal_call_still_works_after_fuzzed_calls(app: Flask, client: FlaskClient,
                                                      steps: list[tuple[str, dict[str, str], str]]) -> None:
    run(client, new_sid(), steps, [None] * len(steps))
    scripted_call(app, client)


@settings(max_examples=scaled(60))
@given(st.sampled_from(ROUTES),
       st.one_of(texts, big_texts, st.from_regex(r"CA[0-9a-f]{32}", fullmatch=True)),
       st.fixed_dictionaries({}, optional=FIELDS))
def test_any_call_sid_gets_an_answer_not_an_error(app: Flask, client: FlaskClient, route: str, sid: str,
                                                  form: dict[str, str]) -> None:
    with logged_errors() as errors:
        post(client, route, {**form, "CallSid": sid})
        post(client, "status", {"CallSid": sid, "CallStatus": "completed"})
    assert not errors.records, [record.getMessage() for record in errors.records]


@settings(max_examples=scaled(10))
@given(st.sampled_from(ROUTES), st.sampled_from(sorted(FIELDS)), st.integers(900_000, 1_100_000),
       st.sampled_from(["a", "9", "ở"]))
def test_bodies_near_the_size_limit_are_answered_or_refused(client: FlaskClient, route: str, name: str, size: int,
                                                            piece: str) -> None:
    sid = new_sid()
    post(client, route, {"CallSid": sid, name: piece * (size // len(piece.encode()) // 3)})
    post(client, "status", {"CallSid": sid, "CallStatus": "completed"})


def test_the_scripted_call_files_a_case(app: Flask, client: FlaskClient) -> None:
    scripted_call(app, client)


def test_action_urls_carry_the_seq(app: Flask, client: FlaskClient) -> None:
    reply = post(client, "voice", {"CallSid": new_sid(), "From": "+84901111222", "To": "1022"})
    gather = reply.twiml.find("Gather")
    assert gather is not None and urlsplit(gather.get("action")).query == "seq=1"


# -- regressions found by fuzzing -------------------------------------------------------------

def test_a_huge_call_duration_ends_the_call_without_a_duration(app: Flask, client: FlaskClient) -> None:
    # Was: OverflowError (500) on SQLite, and on PostgreSQL an "outage" whose spooled replay failed for good.
    sid = new_sid()
    post(client, "voice", {"CallSid": sid, "From": "+84901111222", "To": "1022"})
    reply = post(client, "status", {"CallSid": sid, "CallStatus": "completed", "CallDuration": "9" * 60})
    assert reply.status == 204
    with app.extensions["hotline"].sessions() as db:
        call = db.scalars(select(Call).where(Call.sid == sid)).one()
        assert call.ended_at is not None and call.duration_s is None and call.outcome == "incomplete_case"
    assert not app.extensions["hotline"].spool.pending()


@pytest.mark.parametrize("duration", ["nan", "inf", "-inf", "1e999"])
def test_a_recording_duration_that_is_not_a_number_counts_as_zero(app: Flask, client: FlaskClient,
                                                                   duration: str) -> None:
    sid = new_sid()
    reply = post(client, "voice", {"CallSid": sid, "From": "+84901111222", "To": "1022"})
    for keys in ["1", "1"]:
        reply = post(client, "gather", {"CallSid": sid, "Digits": keys}, {"seq": str(next_seq(reply.twiml))})
    reply = post(client, "record", {"CallSid": sid, "RecordingUrl": "https://api.twilio.com/Recordings/RE1",
                                    "RecordingSid": "RE" + "1" * 32, "RecordingDuration": duration},
                 {"seq": str(next_seq(reply.twiml))})
    assert reply.status == 200 and next_seq(reply.twiml) == 4
    with app.extensions["hotline"].sessions() as db:
        [recording] = db.scalars(select(Recording).where(Recording.sid == "RE" + "1" * 32)).all()
        assert recording.duration_s == 0.0


@pytest.mark.parametrize("sid", ["CA" + "a" * 63, "\x01" * 10, "CA\nabc", ""])
def test_a_call_sid_we_cannot_store_is_refused_not_spooled(app: Flask, client: FlaskClient, sid: str) -> None:
    # Was on PostgreSQL: "value too long" taken for an outage, so the caller heard the apology and the
    # spooled request failed every replay, holding back every entry spooled after it.
    for route in ["voice", "gather", "status"]:
        assert post(client, route, {"CallSid": sid, "From": "+84901111222", "CallStatus": "completed"}).status == 400
    assert not app.extensions["hotline"].spool.pending()


def test_a_recording_url_without_a_usable_sid_is_kept_under_a_digest(app: Flask, client: FlaskClient) -> None:
    # Was on PostgreSQL: the URL's last part (over 64 characters) became the sid, "value too long", the outage path.
    sid = new_sid()
    reply = post(client, "voice", {"CallSid": sid, "From": "+84901111222", "To": "1022"})
    url = "https://api.twilio.com/Recordings/" + "y" * 100
    reply = post(client, "record", {"CallSid": sid, "RecordingUrl": url}, {"seq": str(next_seq(reply.twiml))})
    assert reply.status == 200
    post(client, "recording-status", {"CallSid": sid, "RecordingStatus": "completed", "RecordingUrl": url})
    with app.extensions["hotline"].sessions() as db:
        [recording] = db.scalars(select(Recording).join(Call).where(Call.sid == sid)).all()
        assert recording.remote_url == url and len(recording.sid) == 34
    assert not app.extensions["hotline"].spool.pending()


def test_an_overlong_call_status_is_cut_to_its_column(app: Flask, client: FlaskClient) -> None:
    # Was on PostgreSQL: "value too long" for calls.status, taken for an outage and spooled for good.
    sid = new_sid()
    post(client, "voice", {"CallSid": sid, "From": "+84901111222", "To": "1022"})
    assert post(client, "status", {"CallSid": sid, "CallStatus": "z" * 100}).status == 204
    with app.extensions["hotline"].sessions() as db:
        assert db.scalars(select(Call.status).where(Call.sid == sid)).one() == "z" * 64
    assert not app.extensions["hotline"].spool.pending()


@pytest.mark.parametrize("late", ["in-progress", "ringing", ""])
def test_a_late_status_does_not_reopen_an_ended_call(app: Flask, client: FlaskClient, late: str) -> None:
    # Was: the out-of-order callback overwrote the status, leaving an ended call marked "in-progress".
    sid = new_sid()
    post(client, "voice", {"CallSid": sid, "From": "+84901111222", "To": "1022"})
    post(client, "status", {"CallSid": sid, "CallStatus": "completed", "CallDuration": "12"})
    assert post(client, "status", {"CallSid": sid, "CallStatus": late}).status == 204
    with app.extensions["hotline"].sessions() as db:
        call = db.scalars(select(Call).where(Call.sid == sid)).one()
        assert call.ended_at is not None and call.status == "completed"
