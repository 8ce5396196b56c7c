"""A worker thread draining one inbox in order: how a call's pipeline runs beside its carrier's socket."""

from __future__ import annotations

import contextvars
import logging
import queue
import threading
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)

BACKLOG_WARN_FRAMES = 50  # one second of caller audio waiting for the worker
JOIN_S = 30.0


class QueueWorker:
    """One thread draining one inbox in order; counts what waits so a lagging call is visible."""

    _DONE = object()

    def __init__(self, handle: Callable[[Any], None], *, name: str,
                 finish: Callable[[], None] | None = None, warn_at: int = BACKLOG_WARN_FRAMES) -> None:
        self._handle = handle
        self._finish = finish
        self._warn_at = warn_at
        self._inbox: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._pending = 0
        self.peak = 0
        self.received = 0
        self._stopping = False
        self._warned = False
        # The worker runs in a copy of its creator's context: its log records carry the creator's call id.
        self.thread = threading.Thread(target=contextvars.copy_context().run, args=(self._run,), name=name,
                                       daemon=True)
        self.thread.start()

    @property
    def pending(self) -> int:
        """Items queued and not yet handled."""
        with self._lock:
            return self._pending

    def put(self, item: Any) -> None:
        """Queue an item for the worker; ignored once stop() was called."""
        with self._lock:
            if self._stopping:
                return
            self._pending += 1
            self.received += 1
            self.peak = max(self.peak, self._pending)
            warn = self._pending >= self._warn_at and not self._warned
            self._warned = self._warned or warn
        if warn:
            log.warning("%s is %d items behind the socket", self.thread.name, self._pending)
        self._inbox.put(item)

    def stop(self, timeout: float | None = JOIN_S) -> bool:
        """Let the worker drain what is queued, then end; True when it ended within `timeout`."""
        with self._lock:
            if not self._stopping:
                self._stopping = True
                self._inbox.put(self._DONE)
        if threading.current_thread() is not self.thread:
            self.thread.join(timeout)
        return not self.thread.is_alive()

    def _run(self) -> None:
        try:
            while (item := self._inbox.get()) is not self._DONE:
                try:
                    self._handle(item)
                except Exception:  # one bad item must not end the call's pipeline
                    log.exception("%s failed on %s", self.thread.name, type(item).__name__)
                with self._lock:
                    self._pending -= 1
                    if self._pending < self._warn_at // 2:
                        self._warned = False
        finally:
            if self._finish is not None:
                self._finish()
