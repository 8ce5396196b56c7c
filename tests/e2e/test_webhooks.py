"""Bad input at the Twilio webhooks: forged requests, unknown calls, out-of-order callbacks, outages."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from xml.etree import ElementTree

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.exc import NoResultFound
from twilio.request_validator import RequestValidator

from config.settings import Settings
from tests.e2e.support import ACCOUNT_SID, AUTH_TOKEN, MakeApp, all_cases, call_row

BASE = "http://localhost"
SID = "CA" + "a" * 32


def post(client: FlaskClient, path: str, params: dict[str, str], token: str = AUTH_TOKEN,
         signature: str | None = None) -> tuple[int, ElementTree.Element | None]:
    """POST a form to the app signed as Twilio signs it; returns the status and parsed TwiML."""
    url = BASE + path
    headers = {}
    if signature is None:
        signature = RequestValidator(token).compute_signature(url, params)
    if signature:
        headers["X-Twilio-Signature"] = signature
    reply = client.post(path, data=params, headers=headers, base_url=BASE)
    body = ElementTree.fromstring(reply.data) if reply.data and reply.mimetype == "application/xml" else None
    return reply.status_code, body


def call_params(**extra: str) -> dict[str, str]:
    return {"CallSid": SID, "AccountSid": ACCOUNT_SID, "From": "+84901111222", "To": "1022",
            "CallStatus": "in-progress", "ApiVersion": "2010-04-01", "Direction": "inbound", **extra}


def verbs(twiml: ElementTree.Element | None) -> list[str]:
    assert twiml is not None and twiml.tag == "Response"
    return [child.tag for child in twiml]


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.mark.parametrize("signature", ["", "bm90IGEgc2lnbmF0dXJl", None])
def test_forged_or_missing_signature_is_refused_and_changes_nothing(app: Flask, client: FlaskClient,
                                                                    signature: str | None) -> None:
    token = "not-our-token" if signature is None else AUTH_TOKEN
    status, _ = post(client, "/twilio/voice", call_params(), token=token, signature=signature)
    assert status == 403
    status, _ = post(client, "/twilio/status", call_params(CallStatus="completed"), token=token,
                     signature=signature)
    assert status == 403
    assert all_cases(app) == []
    with pytest.raises(NoResultFound):
        call_row(app, SID)


def test_tampered_parameter_breaks_the_signature(app: Flask, client: FlaskClient) -> None:
    params = call_params()
    signature = RequestValidator(AUTH_TOKEN).compute_signature(BASE + "/twilio/voice", params)
    status, _ = post(client, "/twilio/voice", {**params, "From": "+84999999999"}, signature=signature)
    assert status == 403


def test_incoming_call_answers_with_a_gather_in_vietnamese(client: FlaskClient) -> None:
    status, twiml = post(client, "/twilio/voice", call_params())
    assert status == 200
    assert verbs(twiml)[0] == "Gather"
    gather = twiml.find("Gather")
    assert gather.get("input") == "dtmf" and gather.get("actionOnEmptyResult") == "true"
    assert "seq=1" in gather.get("action")
    say = gather.find("Say")
    assert say.get("language") == "vi-VN" and "1022" in say.text


def test_repeated_voice_webhook_returns_the_same_answer(app: Flask, client: FlaskClient) -> None:
    _, one = post(client, "/twilio/voice", call_params())
    _, two = post(client, "/twilio/voice", call_params())
    assert ElementTree.tostring(one) == ElementTree.tostring(two)
    assert call_row(app, SID).seq == 1


def test_unknown_call_sid_on_an_action_url_restarts_the_menu(app: Flask, client: FlaskClient) -> None:
    status, twiml = post(client, "/twilio/gather?seq=3", call_params(Digits="1"))
    assert status == 200
    assert "Gather" in verbs(twiml)
    assert call_row(app, SID).seq == 1


def test_stale_action_gets_the_current_answer_and_changes_nothing(app: Flask, client: FlaskClient) -> None:
    post(client, "/twilio/voice", call_params())
    _, after_first = post(client, "/twilio/gather?seq=1", call_params(Digits="1"))
    _, replayed = post(client, "/twilio/gather?seq=1", call_params(Digits="2"))
    assert ElementTree.tostring(after_first) == ElementTree.tostring(replayed)
    assert call_row(app, SID).seq == 2


def test_status_before_the_last_action_files_an_incomplete_case_once(app: Flask, client: FlaskClient) -> None:
    post(client, "/twilio/voice", call_params())
    post(client, "/twilio/gather?seq=1", call_params(Digits="1"))
    for _ in range(2):
        status, _ = post(client, "/twilio/status", call_params(CallStatus="completed", CallDuration="31"))
        assert status == 204
    status, twiml = post(client, "/twilio/gather?seq=2", call_params(Digits="3"))
    assert status == 200 and twiml is not None
    [case] = all_cases(app)
    assert case.status == "incomplete"
    assert call_row(app, SID).duration_s == 31


def test_status_callback_for_a_call_we_never_saw_still_leaves_a_case(app: Flask, client: FlaskClient) -> None:
    status, _ = post(client, "/twilio/status", call_params(CallStatus="no-answer"))
    assert status == 204
    [case] = all_cases(app)
    assert case.status == "incomplete" and case.caller_number == "+84901111222"


def test_database_down_apologises_offers_an_operator_and_loses_nothing(settings: Settings, app: Flask,
                                                                      tmp_path: Path, make_app: MakeApp) -> None:
    broken = dataclasses.replace(settings, database_url=f"sqlite:///{tmp_path}/missing/dir/hotline.db")
    down = make_app(broken).test_client()

    status, twiml = post(down, "/twilio/voice", call_params())
    assert status == 200
    assert verbs(twiml)[:2] == ["Say", "Enqueue"]
    status, twiml = post(down, "/twilio/degraded/dial", call_params(QueueResult="hangup"))
    assert "Record" in verbs(twiml)
    message = call_params(RecordingSid="RE" + "b" * 32, RecordingDuration="7",
                          RecordingUrl="http://127.0.0.1:9/2010-04-01/Accounts/x/Recordings/RE" + "b" * 32)
    post(down, "/twilio/degraded/message", message)
    status, _ = post(down, "/twilio/status", call_params(CallStatus="completed", CallDuration="40"))
    assert status == 204
    assert len(list(broken.spool_dir.glob("*.json"))) == 4

    # The database is back: the same spool, replayed by a healthy server, leaves a case with the message.
    healthy = dataclasses.replace(settings, data_dir=broken.data_dir)
    up = make_app(healthy)
    applied, failed = up.extensions["hotline"].replay_spool(up)
    assert (applied, failed) == (4, 0)
    [case] = all_cases(up)
    assert case.status == "incomplete"
    call = call_row(up, SID)
    assert [r.purpose for r in call.recordings] == ["message"]
    assert list(broken.spool_dir.glob("*.json")) == []
    assert up.extensions["hotline"].replay_spool(up) == (0, 0)


def a_call_during_an_outage(settings: Settings, make_app: MakeApp, tmp_path: Path) -> Flask:
    """A whole (short) call served while the database is unreachable, then the app of the recovered server."""
    broken = dataclasses.replace(settings, database_url=f"sqlite:///{tmp_path}/missing/dir/hotline.db")
    down = make_app(broken).test_client()
    post(down, "/twilio/voice", call_params())
    post(down, "/twilio/status", call_params(CallStatus="completed", CallDuration="12"))
    assert len(list(broken.spool_dir.glob("*.json"))) == 2
    return make_app(dataclasses.replace(settings, data_dir=broken.data_dir))


def test_the_first_good_webhook_after_an_outage_replays_the_spool(settings: Settings, app: Flask,
                                                                   tmp_path: Path, make_app: MakeApp) -> None:
    up = a_call_during_an_outage(settings, make_app, tmp_path)
    spool_dir = up.extensions["hotline"].settings.spool_dir
    other = call_params(CallSid="CA" + "d" * 32)
    post(up.test_client(), "/twilio/voice", other)
    up.extensions["hotline"].background.shutdown(wait=True)
    assert list(spool_dir.glob("*.json")) == []
    assert [c.status for c in all_cases(up)] == ["incomplete"]
    assert call_row(up, SID).duration_s == 12
