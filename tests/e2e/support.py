"""Helpers shared by the end-to-end tests: identities and reading back what a call left."""

from __future__ import annotations

import time
from collections.abc import Callable

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from config.settings import Settings
from ivr.twilio.emulator import CallResult
from storage.models import Call, Case, Recording

ACCOUNT_SID = "AC" + "1" * 32
AUTH_TOKEN = "test-auth-token-0123456789abcdef"

Phone = Callable[..., CallResult]
MakeApp = Callable[[Settings], Flask]


def call_row(app: Flask, sid: str) -> Call:
    """The stored call with its case, turns and recordings loaded."""
    with app.extensions["hotline"].sessions() as session:
        call = session.scalars(select(Call).where(Call.sid == sid)).one()
        _ = (call.case, list(call.turns), list(call.recordings), call.case and list(call.case.events))
        return call


def all_cases(app: Flask) -> list[Case]:
    with app.extensions["hotline"].sessions() as session:
        return list(session.scalars(select(Case).order_by(Case.id)))


def wait_until(condition: Callable[[], object], timeout: float = 20.0) -> None:
    """Return once condition() is true; fail the test after timeout seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


def wait_for_recordings(app: Flask, sid: str, timeout_s: float = 10.0) -> list[Recording]:
    """Recordings of a call once the background fetcher has stored them."""
    deadline = time.monotonic() + timeout_s
    while True:
        recordings = call_row(app, sid).recordings
        if all(r.status == "stored" for r in recordings) or time.monotonic() > deadline:
            return list(recordings)
        time.sleep(0.05)


def signed_in(app: Flask, base_url: str = "http://localhost") -> FlaskClient:
    """A test client logged in to the console as a new supervisor, through the log-in form."""
    import re

    from console.auth import hash_password
    from storage.users import create_user, find_user

    hotline = app.extensions["hotline"]
    with hotline.sessions.begin() as db:
        if find_user(db, "kiemtra") is None:
            create_user(db, username="kiemtra", password_hash=hash_password("mat-khau-kiem-tra"), role="supervisor",
                        unit_code=None, now=hotline.service.clock())
    client = app.test_client()
    page = client.get("/login", base_url=base_url).get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token is not None
    reply = client.post("/login", base_url=base_url, headers={"Referer": f"{base_url}/login"},  # as a browser sends
                        data={"username": "kiemtra", "password": "mat-khau-kiem-tra", "csrf_token": token.group(1)})
    assert reply.status_code == 302
    return client
