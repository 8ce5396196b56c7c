"""The housekeeping thread: the spool replays itself once the database is back, with no call coming in."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from config.settings import Settings
from housekeeping import end_idle_calls
from tests.e2e.support import MakeApp, all_cases, call_row, wait_until
from tests.e2e.test_idle_calls import IDLE, QUIET, age
from tests.e2e.test_webhooks import SID, a_call_during_an_outage, call_params, post


def test_the_spool_is_replayed_by_housekeeping_without_a_webhook(settings: Settings, make_app: MakeApp,
                                                                 tmp_path: Path) -> None:
    up = a_call_during_an_outage(settings, make_app, tmp_path)
    hotline = up.extensions["hotline"]
    hotline.config_service.check_every_s = 0.0  # a round every 0.5 s
    hotline.start_background(up)
    wait_until(lambda: hotline.spool.pending() == 0)  # replayed with no request at all
    assert [c.status for c in all_cases(up)] == ["incomplete"]
    assert call_row(up, SID).duration_s == 12


def test_idle_calls_are_ended_with_their_after_call_work(settings: Settings, make_app: MakeApp) -> None:
    app = make_app(settings)
    post(app.test_client(), "/twilio/voice", call_params(CallSid=QUIET))
    age(app, QUIET, IDLE + timedelta(minutes=1))
    told: list[int] = []
    app.extensions["hotline"].webhooks.on_ended = told.append
    ended = end_idle_calls(app.extensions["hotline"], IDLE)
    assert ended == told == [call_row(app, QUIET).id]
    assert end_idle_calls(app.extensions["hotline"], IDLE) == []
