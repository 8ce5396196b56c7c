"""A hotline server under test: `hotline serve` (gunicorn) on a free port, its log in a file."""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import requests
from sqlalchemy import create_engine
from sqlalchemy.engine import make_url

TOKEN = "bench-" + secrets.token_hex(8)
ACCOUNT = "AC" + "2" * 32
HOTLINE = str(Path(sys.executable).with_name("hotline"))


def call_params(account: str = ACCOUNT, **extra: str) -> dict[str, str]:
    """A new call's webhook parameters as Twilio sends them (a fresh CallSid); extra adds or overrides."""
    return {"CallSid": "CA" + secrets.token_hex(16), "AccountSid": account, "From": "+84901234567", "To": "1022",
            "CallStatus": "ringing", "ApiVersion": "2010-04-01", "Direction": "inbound", **extra}


def free_port() -> int:
    """A TCP port nobody listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class HotlineServer:
    """`hotline serve` on data_dir's var/ and the given database; env adds or overrides variables.

    The database is migrated on entry through `migrate_url` (default: database_url), so a server
    reaching its database through a proxy can still be prepared directly.
    """

    def __init__(self, data_dir: Path, database_url: str, *, workers: int | None = None,
                 env: Mapping[str, str] | None = None, migrate_url: str | None = None) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.database_url = database_url
        self.migrate_url = migrate_url or database_url
        self.data_dir = data_dir
        self.log_path = data_dir / "server.log"
        self.workers = workers
        self.env = {**os.environ, "DATABASE_URL": database_url, "HOTLINE_DATA_DIR": str(data_dir / "var"),
                    "TWILIO_AUTH_TOKEN": TOKEN, "TWILIO_ACCOUNT_SID": ACCOUNT, "PUBLIC_BASE_URL": self.base,
                    **(env or {})}
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def spool_dir(self) -> Path:
        """Where the server spools webhooks it could not store."""
        return self.data_dir / "var" / "spool"

    def __enter__(self) -> HotlineServer:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        migrated = subprocess.run([HOTLINE, "db", "upgrade"], env={**self.env, "DATABASE_URL": self.migrate_url},
                                  capture_output=True, text=True)
        if migrated.returncode:
            raise RuntimeError(f"`hotline db upgrade` failed: {migrated.stderr.strip()[-2000:]}")
        command = [HOTLINE, "serve", "--port", str(self.port)]
        if self.workers:
            command += ["--workers", str(self.workers)]
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(command, env=self.env, stdout=log, stderr=subprocess.STDOUT)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=45)  # gunicorn's graceful timeout is 30 s
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    @property
    def pid(self) -> int:
        """The gunicorn arbiter's process id."""
        assert self.proc is not None
        return self.proc.pid

    def health(self) -> dict[str, Any] | None:
        """/healthz's JSON, or None while the server does not answer."""
        try:
            reply = requests.get(self.base + "/healthz", timeout=2)
            return reply.json() if reply.status_code == 200 else None
        except (requests.RequestException, ValueError):
            return None

    def wait_up(self, timeout_s: float = 60.0, *, speech: bool = False, workers: int = 1) -> dict[str, Any]:
        """/healthz once the server answers (and, with speech, once `workers` worker processes have their
        model loaded: each loads its own at its first request)."""
        deadline, ready = time.monotonic() + timeout_s, set()
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"the server exited with status {self.proc.returncode}; see {self.log_path}")
            health = self.health()
            if health and (not speech or (health.get("speech") or {}).get("ready")):
                ready.add(health.get("pid"))
                if len(ready) >= workers or not speech:
                    return health
            time.sleep(0.1)
        raise RuntimeError(f"the server was not {'ready for speech' if speech else 'up'} after {timeout_s:.0f} s; "
                           f"see {self.log_path}")


def fresh_schema(url: str, prefix: str = "bench") -> str:
    """A throw-away schema on the PostgreSQL server, so a benchmark never touches real data; its URL."""
    schema = f"{prefix}_{os.getpid()}"
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    engine.dispose()
    return make_url(url).update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(False)
