"""Calls whose end the carrier never reported (a status callback lost with a killed worker) are ended
by the server after HOTLINE_IDLE_CALL_MINUTES, filing what they collected, once."""

from __future__ import annotations

from datetime import timedelta

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import update

from ivr.calls import IDLE_STATUS
from storage.models import Call
from tests.e2e.support import all_cases, call_row
from tests.e2e.test_webhooks import call_params, post

QUIET = "CA" + "b" * 32
BUSY = "CA" + "c" * 32
IDLE = timedelta(minutes=245)


def age(app: Flask, sid: str, by: timedelta) -> None:
    """Pretend nothing has been heard of this call for `by`."""
    hotline = app.extensions["hotline"]
    with hotline.sessions.begin() as session:
        updated = call_row(app, sid).updated_at - by
        session.execute(update(Call).where(Call.sid == sid).values(updated_at=updated))


def test_an_idle_call_is_ended_with_an_incomplete_case_and_a_late_status_changes_nothing(app: Flask) -> None:
    client: FlaskClient = app.test_client()
    for sid in (QUIET, BUSY):
        post(client, "/twilio/voice", call_params(CallSid=sid))
        post(client, "/twilio/gather?seq=1", call_params(CallSid=sid, Digits="1"))
    age(app, QUIET, IDLE + timedelta(seconds=1))
    age(app, BUSY, IDLE - timedelta(minutes=1))
    service = app.extensions["hotline"].service

    [ended] = service.end_idle(IDLE)
    quiet = call_row(app, QUIET)
    assert ended == quiet.id and quiet.status == IDLE_STATUS and quiet.ended_at is not None
    assert quiet.case is not None and quiet.case.status == "incomplete"
    assert call_row(app, BUSY).ended_at is None, "a call heard of within the limit stays open"
    assert service.end_idle(IDLE) == [], "an ended call is not ended again"

    status, _ = post(client, "/twilio/status", call_params(CallSid=QUIET, CallStatus="completed", CallDuration="40"))
    assert status == 204
    assert len([c for c in all_cases(app) if c.caller_number == "+84901111222"]) == 1, "no second case"
    assert call_row(app, QUIET).status == IDLE_STATUS
