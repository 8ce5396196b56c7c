"""Case filing throughput: threads filing cases with their own sessions and commits."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime

from storage.cases import file_case
from storage.db import make_engine, make_session_factory
from storage.migrate import upgrade
from storage.units import sync_units


def filing_throughput(url: str, *, threads: int = 8, per_thread: int = 250) -> float:
    """Cases filed per second by threads × per_thread commits against the database at url."""
    upgrade(url)
    engine = make_engine(url)
    sessions = make_session_factory(engine)
    with sessions.begin() as session:
        sync_units(session, [{"code": "BENCH", "name": "Đơn vị đo thử", "kind": "operators"}])
    barrier = threading.Barrier(threads + 1)

    def work() -> None:
        barrier.wait()
        for _ in range(per_thread):
            with sessions.begin() as session:
                file_case(session, call_id=None, caller_number="+84900000000", status="new",
                          category="HT_NGAP", description="đo hiệu năng", address_text=None,
                          unit_code="BENCH", deadline=None, now=datetime.now(UTC))

    workers = [threading.Thread(target=work) for _ in range(threads)]
    for worker in workers:
        worker.start()
    barrier.wait()
    started = time.perf_counter()
    for worker in workers:
        worker.join()
    elapsed = time.perf_counter() - started
    engine.dispose()
    return threads * per_thread / elapsed
