"""Attack 1, forged Twilio webhooks: every route of the `twilio` blueprint in `app.url_map`.

- no X-Twilio-Signature, an empty one, random bytes, one made with another auth token
  → 403, no row written, nothing spooled: test_forged_signatures_are_refused_on_every_route
- a captured valid request replayed exactly (voice, gather, record, status) → the same answer, no
  second case, no new turn, no row changed (docs/decisions.md §2): test_a_replayed_request_changes_nothing
- the captured signature with different Digits, CallSid, From, an added or a dropped parameter
  → 403: test_a_captured_signature_does_not_cover_other_parameters
- a signature over another URL (host, scheme, port, path, query dropped, added or changed)
  → 403: test_a_signature_over_another_url_is_refused
- behind PUBLIC_BASE_URL, a signature over the URL the app sees instead of the public one
  → 403: test_behind_a_public_url_only_its_signature_counts
- GET, PUT, DELETE on the POST-only webhooks → 405, nothing written: test_other_methods_are_not_allowed
"""

from __future__ import annotations

import base64
import dataclasses
import os
from typing import Any
from xml.etree import ElementTree

import pytest
from flask import Flask
from flask.testing import FlaskClient

from config.settings import Settings
from tests.e2e.support import MakeApp
from tests.security.support import BASE, call_params, files, rows, signature, twilio_post, twilio_rules


def everything(app: Flask) -> tuple[Any, ...]:
    return rows(app), files(app.extensions["hotline"].settings.spool_dir)


def route_params(sid: str = "CA" + "b" * 32) -> dict[str, str]:
    """Parameters any of the webhooks would act on: keys, a recording, a finished transfer, an ended call."""
    return call_params(sid, Digits="1", RecordingUrl="https://api.twilio.com/2010-04-01/Accounts/AC1/Recordings/RE"
                       + "1" * 32, RecordingSid="RE" + "1" * 32, RecordingStatus="completed", RecordingDuration="4",
                       DialCallStatus="no-answer", QueueTime="5", CallDuration="20")


@pytest.mark.parametrize("forgery", ["missing", "empty", "random", "other token", "other params"])
def test_forged_signatures_are_refused_on_every_route(app: Flask, forgery: str) -> None:
    client = app.test_client()
    rules = twilio_rules(app)
    assert {"/twilio/voice", "/twilio/gather", "/twilio/status"} <= {rule.rule for rule in rules}
    params = route_params()
    before = everything(app)
    for rule in rules:
        path = rule.rule + "?seq=1"
        forged = {"missing": "", "empty": "", "random": base64.b64encode(os.urandom(20)).decode(),
                  "other token": signature(BASE + path, params, token="not-our-token"),
                  "other params": signature(BASE + path, {"CallSid": params["CallSid"]})}[forgery]
        headers = {"X-Twilio-Signature": ""} if forgery == "empty" else {}
        reply = twilio_post(client, path, params, signed=forged, headers=headers)
        assert reply.status_code == 403, (forgery, rule.rule, reply.status_code)
    assert everything(app) == before, f"a webhook with a {forgery} signature wrote something"


def test_a_replayed_request_changes_nothing(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(app.extensions["hotline"].fetcher, "submit", lambda recording_id: None)  # no download
    client = app.test_client()
    params = call_params()
    steps = [("/twilio/voice", params), ("/twilio/gather?seq=1", {**params, "Digits": "1"}),
             ("/twilio/gather?seq=2", {**params, "Digits": "1"}),
             ("/twilio/record?seq=3", {**params, "RecordingUrl": "http://127.0.0.1:9/RE" + "3" * 32,
                                       "RecordingSid": "RE" + "3" * 32, "RecordingDuration": "3"}),
             ("/twilio/status", {**params, "CallStatus": "completed", "CallDuration": "40"})]
    for path, form in steps:
        first = twilio_post(client, path, form)
        assert first.status_code in (200, 204), path
        before = rows(app)
        again = twilio_post(client, path, form)  # captured and sent again, signature and all
        assert (again.status_code, again.get_data()) == (first.status_code, first.get_data()), path
        assert rows(app) == before, f"replaying {path} changed something"
    tables = rows(app)
    assert len(tables["cases"]) == 1 and len(tables["calls"]) == 1 and len(tables["recordings"]) == 1


@pytest.mark.parametrize("change", [{"Digits": "2"}, {"CallSid": "CA" + "f" * 32}, {"From": "+84999999999"},
                                    {"Extra": "1"}, {"From": None}, {"Digits": "1#"}])
def test_a_captured_signature_does_not_cover_other_parameters(app: Flask, change: dict[str, str | None]) -> None:
    client = app.test_client()
    params = call_params()
    assert twilio_post(client, "/twilio/voice", params).status_code == 200
    captured = {**params, "Digits": "1"}
    stolen = signature(BASE + "/twilio/gather?seq=1", captured)
    altered = {k: v for k, v in {**captured, **change}.items() if v is not None}
    before = rows(app)
    assert twilio_post(client, "/twilio/gather?seq=1", altered, signed=stolen).status_code == 403
    assert rows(app) == before


@pytest.mark.parametrize("signed_url", [
    "http://evil.example/twilio/gather?seq=1", "https://localhost/twilio/gather?seq=1",
    "http://localhost:8080/twilio/gather?seq=1", "http://localhost/twilio/voice?seq=1",
    "http://localhost/twilio/gather", "http://localhost/twilio/gather?seq=1&empty=1",
    "http://localhost/twilio/gather?seq=2", "http://localhost/twilio/gather/?seq=1",
    "http://localhost/TWILIO/gather?seq=1"])
def test_a_signature_over_another_url_is_refused(app: Flask, signed_url: str) -> None:
    client = app.test_client()
    params = call_params()
    assert twilio_post(client, "/twilio/voice", params).status_code == 200
    form = {**params, "Digits": "1"}
    before = rows(app)
    reply = twilio_post(client, "/twilio/gather?seq=1", form, signed=signature(signed_url, form))
    assert reply.status_code == 403
    assert rows(app) == before
    assert twilio_post(client, "/twilio/gather?seq=1", form).status_code == 200, "the right URL is accepted"


def test_behind_a_public_url_only_its_signature_counts(settings: Settings, make_app: MakeApp) -> None:
    app = make_app(dataclasses.replace(settings, public_base_url="https://hotline.example.vn"))
    client = app.test_client()
    params = call_params()
    for url in ("http://localhost/twilio/voice", "http://hotline.example.vn/twilio/voice",
                "https://hotline.example.vn/voice", "https://hotline.example.vn.evil.example/twilio/voice"):
        assert twilio_post(client, "/twilio/voice", params, signed=signature(url, params)).status_code == 403, url
    assert rows(app)["calls"] == []
    reply = twilio_post(client, "/twilio/voice", params, signed=signature("https://hotline.example.vn/twilio/voice",
                                                                          params))
    assert reply.status_code == 200 and ElementTree.fromstring(reply.data).tag == "Response"


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE", "PATCH"])
def test_other_methods_are_not_allowed(app: Flask, method: str) -> None:
    client: FlaskClient = app.test_client()
    params = call_params()
    before = rows(app)
    for rule in twilio_rules(app):
        url = BASE + rule.rule
        query = params if method == "GET" else None
        reply = client.open(rule.rule, method=method, query_string=query, data=None if query else params,
                            headers={"X-Twilio-Signature": signature(url, params)})
        assert reply.status_code == 405, (method, rule.rule, reply.status_code)
    assert rows(app) == before
