"""Faults the soak test injects from outside the server: a database that goes away, a worker killed.

The database outage is real, not simulated in the app: PostgreSQL is reached through a TCP relay
that, during an outage, cuts every open connection and drops new ones at once; SQLite is locked
exclusively by another connection, so every reader and writer of the file waits and then fails.
"""

from __future__ import annotations

import contextlib
import os
import random
import signal
import socket
import sqlite3
import threading
import time
from pathlib import Path

from sqlalchemy.engine import make_url

from bench.procfs import children


class DatabaseGate:
    """The server's way to its database, which the soak can close for a while."""

    url: str  # what the server connects to

    def outage(self, seconds: float) -> None:
        """Make the database unreachable for this long (blocks)."""
        raise NotImplementedError

    def close(self) -> None:
        """Release what the gate holds."""


class TcpRelay(DatabaseGate):
    """A TCP relay in front of PostgreSQL; the server's URL points at it."""

    def __init__(self, database_url: str) -> None:
        url = make_url(database_url)
        self._target = (url.host or "127.0.0.1", url.port or 5432)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.url = url.set(host="127.0.0.1", port=self._listener.getsockname()[1]).render_as_string(False)
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._down = threading.Event()
        self._closed = False
        threading.Thread(target=self._accept, name="db-relay", daemon=True).start()

    def outage(self, seconds: float) -> None:
        self._down.set()
        with self._lock:
            for sock in list(self._open):
                _drop(sock)
            self._open.clear()
        time.sleep(seconds)
        self._down.clear()

    def close(self) -> None:
        self._closed = True
        _drop(self._listener)  # shutdown wakes the accepting thread; close alone would leave it listening
        with self._lock:
            for sock in self._open:
                _drop(sock)

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            if self._down.is_set():
                _drop(client)
                continue
            try:
                upstream = socket.create_connection(self._target, timeout=5)
            except OSError:
                _drop(client)
                continue
            with self._lock:
                self._open.update((client, upstream))
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(source, sink), daemon=True).start()

    def _pipe(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                _drop(sock)
                with self._lock:
                    self._open.discard(sock)


class SqliteLock(DatabaseGate):
    """SQLite cannot be unplugged: another connection holds its write lock instead."""

    def __init__(self, database_url: str) -> None:
        self.url = database_url
        self._path = Path(make_url(database_url).database or "")

    def outage(self, seconds: float) -> None:
        conn = sqlite3.connect(self._path, timeout=60, isolation_level=None)
        try:
            # Every webhook writes, and waits for this lock until it gives up and spools. (Readers still get
            # through in WAL mode; exclusive locking mode would stop them too, but SQLite cannot switch to it
            # while the server's connections share the WAL index.)
            _until_locked(conn)
            time.sleep(seconds)
            conn.execute("ROLLBACK")
        finally:
            conn.close()


def _until_locked(conn: sqlite3.Connection, within_s: float = 30.0) -> None:
    """BEGIN EXCLUSIVE, retried: in WAL mode SQLite may refuse at once, without its busy handler."""
    deadline = time.monotonic() + within_s
    while True:
        try:
            conn.execute("BEGIN EXCLUSIVE")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def gate_for(database_url: str) -> DatabaseGate:
    """The gate that can take this database away."""
    if make_url(database_url).get_backend_name() == "sqlite":
        return SqliteLock(database_url)
    return TcpRelay(database_url)


def kill_worker(arbiter_pid: int, rng: random.Random) -> int | None:
    """SIGKILL one of gunicorn's workers at random (the arbiter starts another); its pid, or None."""
    workers = children(arbiter_pid)
    if not workers:
        return None
    victim = rng.choice(sorted(workers))
    with contextlib.suppress(ProcessLookupError):
        os.kill(victim, signal.SIGKILL)
    return victim


def _drop(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    with contextlib.suppress(OSError):
        sock.close()
