"""The speech side of one server process: the Vosk model, loaded once in the background, and admission.

Until the model has loaded (seconds) or when none is usable, `available()` is False and calls use
the keypad-and-record flow; the server never waits for speech to start answering calls.
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import Executor, Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from speech.models import ModelError
from speech.recognition import Lease, RecognizerPool, shared_model
from speech.resample import model_sample_rate

log = logging.getLogger(__name__)
STRAINED_LAG_MS = 250  # a live call this far behind: background decoding waits


@dataclass(frozen=True)
class SpeechStatus:
    """What the status page and the benchmarks show about speech in this process."""

    model_path: str | None
    ready: bool
    error: str | None
    load_s: float | None
    sample_rate: int | None
    in_use: int
    limit: int
    lag_ms: int = 0  # the worst lag of the calls recognising now; over ADMISSION_LAG_MS no call is admitted


class SpeechService:
    """One shared model and a recogniser pool of `limit` calls; both None until the model has loaded."""

    def __init__(self, model_path: Path | None, *, limit: int) -> None:
        self.model_path = model_path
        self.limit = limit
        self._pool: RecognizerPool | None = None
        self._error: str | None = None
        self._load_s: float | None = None
        self._lock = threading.Lock()

    def start(self, executor: Executor) -> Future[bool] | None:
        """Load the model on the executor; None when there is no model to load."""
        if self.model_path is None or self.limit == 0:
            return None
        return executor.submit(self.load)

    def load(self) -> bool:
        """Load the model now (once); True when speech is ready."""
        with self._lock:
            if self._pool is not None or self.model_path is None:
                return self._pool is not None
            began = time.perf_counter()
            try:
                model: Any = shared_model(self.model_path)
                rate = model_sample_rate(self.model_path)
            except (ModelError, ValueError, OSError) as error:
                self._error = str(error)
                log.error("speech model not loaded, calls use the keypad: %s", error)
                return False
            self._load_s = time.perf_counter() - began
            self._pool = RecognizerPool(model, rate, self.limit)
            log.info("speech model %s loaded in %.2f s (%d Hz); up to %d calls recognised at once",
                     self.model_path, self._load_s, rate, self.limit)
            return True

    @property
    def ready(self) -> bool:
        return self._pool is not None

    def available(self) -> bool:
        """Whether a new call may be answered by voice now."""
        pool = self._pool
        return pool is not None and pool.free

    def strained(self) -> bool:
        """Whether a call being recognised now runs behind its caller (background decoding should wait)."""
        pool = self._pool
        return pool is not None and pool.lag_ms > STRAINED_LAG_MS

    def lease(self) -> Lease | None:
        """A recogniser slot for one call, or None (no model yet, every slot taken, or the calls lag)."""
        pool = self._pool
        return pool.lease() if pool is not None else None

    def status(self) -> SpeechStatus:
        pool = self._pool
        return SpeechStatus(
            model_path=str(self.model_path) if self.model_path else None, ready=pool is not None,
            error=self._error, load_s=round(self._load_s, 3) if self._load_s is not None else None,
            sample_rate=pool.rate if pool else None, in_use=pool.in_use if pool else 0, limit=self.limit,
            lag_ms=pool.lag_ms if pool else 0)
