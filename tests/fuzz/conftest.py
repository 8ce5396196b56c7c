"""Property-based fuzzing: hypothesis profiles, the app fixtures, and a per-test count of examples.

The short profile keeps `make test` fast and reproducible (derandomized, ~100-200 examples a test).
HOTLINE_FUZZ_EXAMPLES=N selects the long profile: N examples a test, random seeds (bench/fuzz.py).
HOTLINE_FUZZ_REPORT=FILE appends one JSON line per test: its examples run and how many failed.
Hypothesis keeps no example database, so nothing is written into the repository.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from hypothesis import HealthCheck, Phase, settings

from app import create_app
from config.settings import Settings
from tests.e2e.support import ACCOUNT_SID, AUTH_TOKEN, MakeApp

SHORT_EXAMPLES = 150
EXAMPLES_VARIABLE = "HOTLINE_FUZZ_EXAMPLES"
REPORT_VARIABLE = "HOTLINE_FUZZ_REPORT"

# Function-scoped fixtures (one database, one app) are shared by every example of a test on purpose:
# the examples accumulate calls in one database, which is part of what is being fuzzed.
_SUPPRESSED = [HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large,
               HealthCheck.large_base_example]


def _long_examples() -> int | None:
    raw = os.environ.get(EXAMPLES_VARIABLE, "").strip()
    if not raw:
        return None
    if not raw.isdigit() or int(raw) < 1:
        raise pytest.UsageError(f"{EXAMPLES_VARIABLE}={raw!r}: expected a positive number of examples")
    return int(raw)


# HOTLINE_FUZZ_SHRINK=0 reports a failure as found, without minutes spent shrinking it (while investigating).
_PHASES = [phase for phase in Phase if phase != Phase.shrink or os.environ.get("HOTLINE_FUZZ_SHRINK", "1") != "0"]
settings.register_profile("fuzz-short", max_examples=SHORT_EXAMPLES, deadline=None, derandomize=True,
                          database=None, suppress_health_check=_SUPPRESSED, print_blob=False, phases=_PHASES)
settings.register_profile("fuzz-long", max_examples=_long_examples() or SHORT_EXAMPLES, deadline=None,
                          derandomize=False, database=None, suppress_health_check=_SUPPRESSED, print_blob=True,
                          phases=_PHASES)
settings.load_profile("fuzz-long" if _long_examples() else "fuzz-short")


def scaled(short: int) -> int:
    """Examples for a test whose short run differs from the profile's: short, or the long run's count."""
    return _long_examples() or short


_COUNTS = re.compile(r"(\d+) passing, (\d+) failing, and (\d+) invalid")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report: pytest.TestReport = outcome.get_result()
    path = os.environ.get(REPORT_VARIABLE)
    if not path or report.when != "call":
        return
    counts = [0, 0, 0]
    for match in _COUNTS.finditer(getattr(item, "hypothesis_statistics", "")):
        counts = [total + int(found) for total, found in zip(counts, match.groups())]
    line = {"nodeid": item.nodeid, "passing": counts[0], "failing": counts[1], "invalid": counts[2],
            "outcome": report.outcome, "seconds": round(report.duration, 2)}
    with open(path, "a", encoding="utf-8") as out:
        out.write(json.dumps(line) + "\n")


@pytest.fixture
def settings_for_app(db_url: str, tmp_path: Path) -> Settings:
    """Settings of an app on this test's database, with Twilio credentials and no speech model."""
    return Settings(data_dir=tmp_path / "var", database_url=db_url, twilio_account_sid=ACCOUNT_SID,
                    twilio_auth_token=AUTH_TOKEN, speech=False)


@pytest.fixture
def make_app() -> Iterator[MakeApp]:
    """Build apps that are closed (background work finished, connections closed) after the test."""
    apps: list[Flask] = []

    def make(settings: Settings) -> Flask:
        app = create_app(settings)
        app.config["PROPAGATE_EXCEPTIONS"] = True  # an unhandled exception fails the example, not a 500
        apps.append(app)
        return app

    yield make
    for app in apps:
        app.extensions["hotline"].close()


@pytest.fixture
def app(settings_for_app: Settings, make_app: MakeApp) -> Flask:
    return make_app(settings_for_app)
