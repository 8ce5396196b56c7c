"""Prometheus metrics: what a call counts, errors by kind, the optional token, and workers adding up."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families
from twilio.request_validator import RequestValidator

from config.settings import Settings
from observability.metrics import enable_multiprocess
from tests.e2e.support import ACCOUNT_SID, AUTH_TOKEN, MakeApp, Phone

ROOT = Path(__file__).resolve().parents[2]
DESCRIPTION = 'say:"Đèn đường hỏng cả tuần nay."'
LOCATION = 'say:"Số 12 đường Lê Lợi."'


def total(name: str, **labels: str) -> float:
    """The sum of a metric's samples in this process whose labels include these."""
    return sum(sample.value for family in REGISTRY.collect() for sample in family.samples
               if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()))


def signed_post(client: FlaskClient, path: str, params: dict[str, str]) -> int:
    signature = RequestValidator(AUTH_TOKEN).compute_signature("http://localhost" + path, params)
    return client.post(path, data=params, headers={"X-Twilio-Signature": signature}).status_code


def test_a_keypad_report_counts_its_call_turns_case_and_webhooks(app: Flask, phone: Phone) -> None:
    names = ["hotline_calls_started_total", "hotline_calls_ended_total", "hotline_turns_total",
             "hotline_cases_filed_total", "hotline_calls_in_progress", "hotline_webhook_duration_seconds_count"]
    before = {name: total(name) for name in names}
    started, digits = total("hotline_calls_started_total", path="keypad"), total("hotline_turns_total", input="digits")
    voice_webhooks = total("hotline_webhook_duration_seconds_count", endpoint="twilio.voice")

    phone("press:1", "press:1", DESCRIPTION, LOCATION, "press:1")

    assert total("hotline_calls_started_total", path="keypad") == started + 1
    assert total("hotline_calls_ended_total") == before["hotline_calls_ended_total"] + 1
    assert total("hotline_calls_ended_total", path="keypad", status="completed") >= 1
    assert total("hotline_turns_total", input="digits") == digits + 3
    assert total("hotline_turns_total") == before["hotline_turns_total"] + 5  # 3 keys, 2 recordings
    assert total("hotline_cases_filed_total", status="new") >= 1
    assert total("hotline_cases_filed_total") == before["hotline_cases_filed_total"] + 1
    assert total("hotline_calls_in_progress") == before["hotline_calls_in_progress"]
    assert total("hotline_webhook_duration_seconds_count", endpoint="twilio.voice") == voice_webhooks + 1

    page = app.test_client().get("/metrics")
    assert page.status_code == 200 and page.mimetype == "text/plain"
    families = {family.name for family in text_string_to_metric_families(page.get_data(as_text=True))}
    assert {"hotline_calls_started", "hotline_turns", "hotline_webhook_duration_seconds", "hotline_errors",
            "hotline_spool_pending", "hotline_recognizers_leased", "hotline_streams_in_progress"} <= families
    assert "+8490" not in page.get_data(as_text=True)


def test_an_outage_counts_the_store_error_and_the_spooled_webhook(settings: Settings, tmp_path: Path,
                                                                  make_app: MakeApp) -> None:
    broken = dataclasses.replace(settings, database_url=f"sqlite:///{tmp_path}/missing/dir/hotline.db")
    client = make_app(broken).test_client()
    client.get("/metrics")
    assert total("hotline_spool_pending") == 0
    unavailable, spooled = total("hotline_errors_total", kind="store_unavailable"), total("hotline_errors_total", kind="spooled")
    params = {"CallSid": "CA" + "e" * 32, "AccountSid": ACCOUNT_SID, "From": "+84901111222", "To": "1022"}
    assert signed_post(client, "/twilio/voice", params) == 200
    assert total("hotline_errors_total", kind="store_unavailable") == unavailable + 1
    assert total("hotline_errors_total", kind="spooled") == spooled + 1
    client.get("/metrics")  # the gauge is set when scraped
    assert total("hotline_spool_pending") == 1


def test_a_metrics_token_wants_the_bearer(settings: Settings, make_app: MakeApp) -> None:
    client = make_app(dataclasses.replace(settings, metrics_token="s3cret-token")).test_client()
    refused = client.get("/metrics")
    assert refused.status_code == 401 and refused.headers["WWW-Authenticate"].startswith("Bearer")
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer s3cret-token"}).status_code == 200


def test_multiprocess_mode_wants_to_come_before_prometheus_client(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="before prometheus_client"):
        enable_multiprocess(tmp_path / "metrics")


WORKERS = """
import json, os, sys
from pathlib import Path
from observability.metrics import enable_multiprocess, exposition, mark_process_dead, metrics

enable_multiprocess(Path(sys.argv[1]))
pids = []
for _ in range(2):  # two workers: each answers a call and holds a stream, as gunicorn's would
    pid = os.fork()
    if pid == 0:
        metrics().call_started("voice")
        metrics().streams_in_progress.inc()
        os._exit(0)
    os.waitpid(pid, 0)
    pids.append(pid)
both = exposition()[0].decode()
mark_process_dead(pids[0])
print(json.dumps([both, exposition()[0].decode()]))
"""


def test_worker_processes_add_up_and_a_dead_workers_live_gauges_go(tmp_path: Path) -> None:
    run = subprocess.run([sys.executable, "-c", WORKERS, str(tmp_path / "metrics")], cwd=ROOT, capture_output=True,
                         text=True, timeout=60, check=True)
    both, after = (parse(text) for text in json.loads(run.stdout))
    assert both["hotline_calls_started_total"][(("path", "voice"),)] == 2
    assert both["hotline_streams_in_progress"][()] == 2 and after["hotline_streams_in_progress"][()] == 1
    assert both["hotline_calls_in_progress"][()] == 2 and after["hotline_calls_in_progress"][()] == 2


def parse(text: str) -> dict[str, dict[tuple, float]]:
    samples: dict[str, dict[tuple, float]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples.setdefault(sample.name, {})[tuple(sorted(sample.labels.items()))] = sample.value
    return samples
