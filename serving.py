"""Running the WSGI app: gunicorn for real service, a threaded server for demos and tests."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from types import TracebackType
from typing import Any

from flask import Flask
from werkzeug.serving import BaseWSGIServer, make_server

log = logging.getLogger(__name__)


def default_workers(database_url: str) -> int:
    """One process for SQLite (it has one writer at a time; threads queue on a lock), 2 per core otherwise."""
    return 1 if database_url.startswith("sqlite") else 2 * (os.cpu_count() or 1)


WEBHOOK_THREADS = 8
"""Threads per worker kept for webhooks and pages beyond those that media streams hold for whole calls."""


def recognizers_per_worker(per_node: int, workers: int) -> int:
    """HOTLINE_MAX_RECOGNIZERS is the node's: each of its workers may recognise its share (rounded up).
    Found by the soak test: a per-process limit let 2 workers run 16 streams on 2 cores, all seconds late."""
    return 0 if per_node <= 0 else max(1, -(-per_node // max(1, workers)))


def default_threads(max_recognizers: int) -> int:
    """Threads per worker: every media stream holds one for its call, and webhooks must still be answered."""
    return max_recognizers + WEBHOOK_THREADS


def serve(factory: Callable[[], Flask], *, host: str, port: int, workers: int, threads: int = WEBHOOK_THREADS,
          log_format: str | None = None, on_worker_exit: Callable[[int], object] | None = None) -> None:
    """Serve with gunicorn (gthread workers) when it is installed, else Flask's development server.

    log_format: gunicorn's own error and access lines in our format (observability.logs);
    on_worker_exit: told the pid of each worker that exited (the metrics of dead workers).
    """
    try:
        from gunicorn.app.base import BaseApplication
        from gunicorn.glogging import Logger
    except ImportError:
        log.warning("gunicorn is not installed: using the development server")
        factory().run(host=host, port=port, threaded=True)
        return

    class _Logger(Logger):  # type: ignore[misc]
        def setup(self, cfg: Any) -> None:
            super().setup(cfg)
            if log_format is not None:
                from observability.logs import dress

                for handler in [*self.error_log.handlers, *self.access_log.handlers]:
                    dress(handler, log_format)

    class _Gunicorn(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            self.cfg.set("bind", f"{host}:{port}")
            self.cfg.set("workers", workers)
            self.cfg.set("worker_class", "gthread")
            self.cfg.set("threads", threads)
            self.cfg.set("timeout", 30)
            self.cfg.set("accesslog", "-")
            self.cfg.set("logger_class", _Logger)
            if on_worker_exit is not None:
                self.cfg.set("child_exit", lambda server, worker: on_worker_exit(worker.pid))

        def load(self) -> Flask:
            return factory()

    _Gunicorn().run()


class LocalServer:
    """A threaded HTTP server for the app on a loopback port, stopped on exit."""

    def __init__(self, app: Flask, host: str = "127.0.0.1", port: int = 0) -> None:
        self._server: BaseWSGIServer = make_server(host, port, app, threaded=True)
        # A short poll so shutdown (end of every test and demo) takes milliseconds, not half a second.
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="local-server", daemon=True)

    @property
    def url(self) -> str:
        """Base URL of the running server."""
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> LocalServer:
        self._thread.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def wait(self) -> None:
        """Block until interrupted."""
        self._thread.join()
