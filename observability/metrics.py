"""The hotline's Prometheus metrics, defined once per process, and their exposition.

Under gunicorn every worker is a process of its own: `enable_multiprocess` (run by `hotline serve`
before any worker forks) makes prometheus_client keep values in files of one directory, and a
scrape of any worker adds up every process's files. prometheus_client chooses between in-memory
and file-backed values when it is first imported, so this module imports it only inside functions,
once that choice is settled. No metric carries caller data: labels are paths, kinds, endpoints,
categories and statuses.
"""

from __future__ import annotations

import os
import shutil
import sys
import threading
from pathlib import Path
from typing import Any

PATHS = ("voice", "keypad")
ERROR_KINDS = ("http_5xx", "store_unavailable", "spooled", "stream_refused", "synthesis_error")
TURN_KINDS = {"DigitsPressed": "digits", "SpeechHeard": "speech", "NothingHeard": "nothing",
              "RecordingCaptured": "recording", "TransferEnded": "transfer_ended"}
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
BACKLOG_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0)

_lock = threading.Lock()
_metrics: Metrics | None = None
_multiprocess_dir: Path | None = None


class Metrics:
    """Every metric of the hotline; see docs/decisions.md (metrics) for what each one means."""

    def __init__(self) -> None:
        from prometheus_client import Counter, Gauge, Histogram

        # "sum", not "livesum": a call begins in one worker and may end in another, and a worker that
        # dies mid-call must not take its share of the figure with it (its file stays until restart).
        self.calls_in_progress = Gauge("hotline_calls_in_progress", "Calls begun and not yet ended",
                                       multiprocess_mode="sum")
        self.calls_started = Counter("hotline_calls_started", "Calls answered, by how they were answered",
                                     ["path"])
        self.calls_ended = Counter("hotline_calls_ended", "Calls ended, by whether a media stream ran and "
                                   "the carrier's final status", ["path", "status"])
        self.streams_in_progress = Gauge("hotline_streams_in_progress", "Media streams open now",
                                         multiprocess_mode="livesum")
        self.turns = Counter("hotline_turns", "Caller turns applied to the dialogue, by input kind", ["input"])
        self.stream_backlog = Histogram("hotline_stream_backlog_seconds", "Worst lag of a media stream's "
                                        "recogniser behind the caller's audio, one observation per stream",
                                        buckets=BACKLOG_BUCKETS)
        self.webhook_duration = Histogram("hotline_webhook_duration_seconds", "Time to answer a Twilio webhook",
                                          ["endpoint"], buckets=LATENCY_BUCKETS)
        self.cases_filed = Counter("hotline_cases_filed", "Cases filed by the callbot", ["category", "status"])
        self.errors = Counter("hotline_errors", "Errors, by kind", ["kind"])
        self.spool_pending = Gauge("hotline_spool_pending", "Webhooks spooled during a database outage and "
                                   "not yet replayed (set when scraped)", multiprocess_mode="livemostrecent")
        self.recognizers_leased = Gauge("hotline_recognizers_leased", "Recognisers held by calls now",
                                        multiprocess_mode="livesum")
        for path in PATHS:  # known series from the start, so rates work from the first scrape
            self.calls_started.labels(path)
        for kind in ERROR_KINDS:
            self.errors.labels(kind)

    def error(self, kind: str) -> None:
        """Count one error of a kind in ERROR_KINDS."""
        self.errors.labels(kind).inc()

    def turn(self, event: object) -> None:
        """Count one caller turn by the kind of its event."""
        self.turns.labels(TURN_KINDS.get(type(event).__name__, "other")).inc()

    def call_started(self, path: str) -> None:
        self.calls_started.labels(path).inc()
        self.calls_in_progress.inc()

    def call_ended(self, status: str, streamed: bool) -> None:
        self.calls_ended.labels("voice" if streamed else "keypad", status).inc()
        self.calls_in_progress.dec()

    def case_filed(self, category: str | None, status: str) -> None:
        self.cases_filed.labels(category or "none", status).inc()


class CallMetrics:
    """The call service's observer (ivr.desk.CallObserver): counts calls, turns and cases.

    Looks the metrics up at each event, so that building an app defines none (see enable_multiprocess).
    """

    def call_started(self, path: str) -> None:
        metrics().call_started(path)

    def turn(self, event: object) -> None:
        metrics().turn(event)

    def case_filed(self, category: str | None, status: str) -> None:
        metrics().case_filed(category, status)

    def call_ended(self, status: str, streamed: bool) -> None:
        metrics().call_ended(status, streamed)


def metrics() -> Metrics:
    """This process's metrics, defined on first use."""
    global _metrics
    with _lock:
        if _metrics is None:
            _metrics = Metrics()
        return _metrics


def enable_multiprocess(directory: Path) -> None:
    """Keep metric values in files under directory (emptied now) so that worker processes add up.

    Call it in the server's first process before any metric is used and before workers fork.
    """
    global _multiprocess_dir
    if "prometheus_client" in sys.modules:
        raise RuntimeError("multiprocess metrics must be enabled before prometheus_client is imported")
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(directory)  # how prometheus_client is told (it reads it)
    _multiprocess_dir = directory


def mark_process_dead(pid: int) -> None:
    """A worker exited: drop its values of live gauges (gunicorn's child_exit hook)."""
    if _multiprocess_dir is not None:
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid, str(_multiprocess_dir))


def exposition(accept: str | None = None) -> tuple[bytes, str]:
    """The metrics text of this process, or of every process of the server in multiprocess mode."""
    from prometheus_client import REGISTRY, CollectorRegistry, exposition, multiprocess

    metrics()
    registry: Any = REGISTRY
    if _multiprocess_dir is not None:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry, path=str(_multiprocess_dir))
    encoder, content_type = exposition.choose_encoder(accept or "")
    return encoder(registry), content_type
