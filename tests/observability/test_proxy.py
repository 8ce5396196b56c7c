"""Behind a TLS proxy (HOTLINE_PROXY_HOPS): Flask sees https and the client's address; Twilio still signs PUBLIC_BASE_URL."""

from __future__ import annotations

import dataclasses

from flask import Flask, jsonify, request
from twilio.request_validator import RequestValidator

from config.settings import Settings
from tests.e2e.support import ACCOUNT_SID, AUTH_TOKEN, MakeApp

PUBLIC = "https://hotline.example.vn"
FORWARDED = {"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https", "X-Forwarded-Host": "hotline.example.vn"}


def _with_probe(app: Flask) -> Flask:
    app.add_url_rule("/_seen", "seen", lambda: jsonify(scheme=request.scheme, host=request.host,
                                                        remote=request.remote_addr, url=request.url))
    return app


def test_one_hop_takes_scheme_host_and_client_from_the_proxy(settings: Settings, make_app: MakeApp) -> None:
    app = _with_probe(make_app(dataclasses.replace(settings, proxy_hops=1)))
    seen = app.test_client().get("/_seen", headers=FORWARDED, environ_base={"REMOTE_ADDR": "10.0.0.2"}).get_json()
    assert seen == {"scheme": "https", "host": "hotline.example.vn", "remote": "203.0.113.9",
                    "url": "https://hotline.example.vn/_seen"}


def test_without_hops_forwarded_headers_are_ignored(settings: Settings, make_app: MakeApp) -> None:
    app = _with_probe(make_app(settings))
    seen = app.test_client().get("/_seen", headers=FORWARDED, environ_base={"REMOTE_ADDR": "10.0.0.2"}).get_json()
    assert (seen["scheme"], seen["host"], seen["remote"]) == ("http", "localhost", "10.0.0.2")


def test_twilio_signatures_are_checked_against_the_public_url_behind_the_proxy(settings: Settings,
                                                                               make_app: MakeApp) -> None:
    app = make_app(dataclasses.replace(settings, proxy_hops=1, public_base_url=PUBLIC))
    params = {"CallSid": "CA" + "f" * 32, "AccountSid": ACCOUNT_SID, "From": "+84901111222", "To": "1022"}
    signature = RequestValidator(AUTH_TOKEN).compute_signature(f"{PUBLIC}/twilio/voice", params)
    # The proxy speaks plain HTTP to the app on another host name; the signature covers the public URL.
    reply = app.test_client().post("/twilio/voice", data=params, base_url="http://app.internal:8000",
                                   headers={**FORWARDED, "X-Twilio-Signature": signature})
    assert reply.status_code == 200 and reply.mimetype == "application/xml"
    assert f"{PUBLIC}/twilio/" in reply.get_data(as_text=True)
