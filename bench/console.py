"""The console's case list and search over 1,000,000 cases: p50/p95 through the real views, per database.

Each database is fresh (a SQLite file, a PostgreSQL schema of its own dropped afterwards), migrated,
filled by bench/console_data.py, then a supervisor logged in through app.test_client() makes ~50
requests per kind: what a person at the console waits for, minus the network.
"""

from __future__ import annotations

import os
import random
import re
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, select
from sqlalchemy.engine import make_url

from app import create_app
from bench.console_data import RARE_WORD, START, insert_cases
from bench.stats import percentile
from config.settings import Settings
from console.auth import hash_password
from storage.cases import STATUS_LABELS
from storage.migrate import upgrade
from storage.models import Case
from storage.numbers import case_number
from storage.search import Cursor
from storage.users import create_user

CASES = 1_000_000
REQUESTS = 50
PASSWORD = "bench-console-password"
Query = dict[str, str]


def run(postgres_url: str | None, *, cases: int = CASES, requests: int = REQUESTS) -> None:
    """Generate, measure and print the figures on SQLite and (unless None) PostgreSQL."""
    with tempfile.TemporaryDirectory() as tmp:
        _measure("SQLite", f"sqlite:///{tmp}/console.db", Path(tmp) / "sqlite", cases, requests)
        if postgres_url:
            with _own_schema(postgres_url) as url:
                _measure("PostgreSQL", url, Path(tmp) / "postgresql", cases, requests)


def _measure(name: str, url: str, data_dir: Path, cases: int, requests: int) -> None:
    upgrade(url)
    app = create_app(Settings(data_dir=data_dir, database_url=url, twilio_auth_token="bench", speech=False))
    hotline = app.extensions["hotline"]
    try:
        started = time.perf_counter()
        callers = insert_cases(hotline.sessions.kw["bind"], hotline.catalog, hotline.understander.gazetteer, cases)
        print(f"console ({name}): {cases:,} cases generated and indexed in {time.perf_counter() - started:.0f} s")
        client = _supervisor(app)
        for label, queries in _scenarios(app, cases, callers, requests).items():
            print("  " + _line(label, [_timed(client, path, query) for path, query in queries]))
    finally:
        hotline.close()


def _scenarios(app: Flask, cases: int, callers: list[str], n: int) -> dict[str, list[tuple[str, Query]]]:
    """Requests by kind, each with values varied by a seeded generator."""
    rng = random.Random(5)
    hotline = app.extensions["hotline"]
    categories = list(hotline.catalog.categories)
    wards = [ward.full_name for ward in hotline.understander.gazetteer.wards]
    with hotline.sessions() as db:
        sample = db.execute(select(Case.id, Case.created_at, Case.unit_code, Case.deadline)
                            .where(Case.id.in_([rng.randint(1, cases) for _ in range(4 * n)]))).all()
    units = [row.unit_code for row in sample]
    middle = [str(Cursor(row.created_at, row.id)) for row in sample if 0.4 < row.id / cases < 0.6] or ["1.1"]

    def day() -> str:
        return (START + timedelta(days=rng.randint(0, 357))).date().isoformat()

    def week() -> Query:
        first = START + timedelta(days=rng.randint(0, 357))
        return {"from": first.date().isoformat(), "to": (first + timedelta(days=6)).date().isoformat()}

    def national(number: str) -> str:
        return "0" + number[3:]

    kinds: dict[str, Callable[[], Query]] = {
        "first page, no filter": lambda: {},
        "status": lambda: {"status": rng.choice(list(STATUS_LABELS))},
        "category": lambda: {"category": rng.choice(categories)},
        "ward (by name)": lambda: {"ward": rng.choice(wards)},
        "unit": lambda: {"unit": rng.choice(units)},
        "one week": week,
        "caller number": lambda: {"caller": national(rng.choice(callers))},
        "sort by deadline": lambda: {"sort": "deadline"},
        "oldest first": lambda: {"sort": "oldest"},
        "status + category + one week": lambda: {"status": rng.choice(["new", "in_progress"]),
                                                 "category": rng.choice(categories), **week()},
        "status + sort by deadline": lambda: {"status": rng.choice(["new", "assigned", "in_progress"]),
                                              "sort": "deadline"},
        "deep keyset page (~500,000th case)": lambda: {"after": rng.choice(middle)},
        "free text, common word (ngập)": lambda: {"q": "ngập"},
        "free text, very common word (đường)": lambda: {"q": "đường"},
        "free text, two words (cây đổ)": lambda: {"q": "cây đổ"},
        f"free text, rare word ({RARE_WORD})": lambda: {"q": RARE_WORD},
        "free text, case number": lambda: {"q": case_number(rng.randint(1, cases))},
        "free text, caller number": lambda: {"q": national(rng.choice(callers))},
        "free text + status + from date": lambda: {"q": "ngập", "status": "in_progress", "from": day()},
    }
    scenarios = {label: [("/cases", make()) for _ in range(n)] for label, make in kinds.items()}
    scenarios["case page"] = [(f"/cases/{case_number(rng.randint(1, cases))}", {}) for _ in range(n)]
    return scenarios


def _timed(client: FlaskClient, path: str, query: Query) -> float:
    started = time.perf_counter()
    reply = client.get(path, query_string=query)
    elapsed = time.perf_counter() - started
    if reply.status_code != 200 or b'class="flash error"' in reply.data:
        raise RuntimeError(f"{path} {query}: HTTP {reply.status_code}")
    return elapsed


def _line(label: str, samples_s: list[float]) -> str:
    ms = [s * 1000 for s in samples_s]
    return f"{label}: n={len(ms)}, p50 {percentile(ms, 0.5):.1f} ms, p95 {percentile(ms, 0.95):.1f} ms"


def _supervisor(app: Flask) -> FlaskClient:
    """A test client logged in as a new supervisor, through the log-in form."""
    hotline = app.extensions["hotline"]
    with hotline.sessions.begin() as db:
        create_user(db, username="bench", password_hash=hash_password(PASSWORD), role="supervisor", unit_code=None,
                    now=hotline.service.clock())
    client = app.test_client()
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").get_data(as_text=True))
    assert token is not None
    reply = client.post("/login", data={"username": "bench", "password": PASSWORD, "csrf_token": token[1]})
    if reply.status_code != 302:
        raise RuntimeError(f"log-in refused: HTTP {reply.status_code}")
    return client


@contextmanager
def _own_schema(url: str) -> Iterator[str]:
    """A schema of its own on the PostgreSQL server (search_path set in the URL), dropped afterwards."""
    schema = f"bench_console_{os.getpid()}"
    admin = create_engine(url)
    with admin.begin() as conn:
        conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    try:
        yield make_url(url).update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(False)
    finally:
        with admin.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        admin.dispose()
