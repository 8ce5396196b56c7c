"""After a soak: match every call placed with what the database kept, once the server has settled."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

from storage.db import make_engine
from storage.models import Call, Case, Recording
from storage.spool import Spool


@dataclass(frozen=True)
class Reconciliation:
    """What the database holds for the calls placed."""

    cases: int
    incomplete_cases: int
    lost: list[str]  # CallSids with neither a case nor a recording (or no call row at all)
    duplicates: int  # extra call rows per CallSid, cases per call, cases per caller, recordings per sid
    unended: int  # calls still open when the wait ran out
    spooled: int  # spool entries not yet replayed when the wait ran out




def settle(database_url: str, sids: Sequence[str], spool_dir: Path, wait_s: float,
           out: Callable[[str], None] = print) -> Reconciliation:
    """Wait (up to wait_s) for the spool to drain and every call to end, then reconcile."""
    engine = make_engine(database_url)
    deadline, said = time.monotonic() + wait_s, 0.0
    try:
        while True:
            spooled = Spool(spool_dir).pending()
            try:
                result = _reconcile(engine, sids, spooled)
            except SQLAlchemyError as error:
                result = None
                out(f"  reconcile: database not readable yet ({type(error).__name__})")
            settled = result is not None and not result.unended and not spooled
            if settled or time.monotonic() > deadline:
                if result is None:
                    raise RuntimeError("the database could not be read to reconcile the calls")
                return result
            if time.monotonic() - said > 15:
                said = time.monotonic()
                out(f"  waiting for the server to settle: {spooled} spooled, "
                    f"{result.unended if result else '?'} calls still open")
            time.sleep(1.0)
    finally:
        engine.dispose()


def _reconcile(engine, sids: Sequence[str], spooled: int) -> Reconciliation:  # noqa: ANN001
    wanted = set(sids)
    with engine.connect() as conn:
        calls = conn.execute(select(Call.id, Call.sid, Call.from_number, Call.ended_at)
                             .where(Call.sid.in_(wanted))).all()
        ids = [row.id for row in calls]
        cases = conn.execute(select(Case.call_id, Case.status, Case.caller_number)
                             .where(Case.call_id.in_(ids))).all() if ids else []
        callers = {row.from_number for row in calls}
        by_caller = conn.execute(select(Case.caller_number, func.count()).where(Case.caller_number.in_(callers))
                                 .group_by(Case.caller_number)).all() if callers else []
        recordings = conn.execute(select(Recording.call_id, Recording.sid)
                                  .where(Recording.call_id.in_(ids))).all() if ids else []
    rows_per_sid = Counter(row.sid for row in calls)
    cases_per_call = Counter(row.call_id for row in cases)
    recordings_per_sid = Counter(row.sid for row in recordings)
    with_recording = {row.call_id for row in recordings}
    id_of: Mapping[str, int] = {row.sid: row.id for row in calls}
    lost = sorted(sid for sid in wanted
                  if sid not in id_of or (id_of[sid] not in cases_per_call and id_of[sid] not in with_recording))
    duplicates = (sum(n - 1 for n in rows_per_sid.values()) + sum(n - 1 for n in cases_per_call.values())
                  + sum(n - 1 for n in recordings_per_sid.values()) + sum(n - 1 for _, n in by_caller))
    return Reconciliation(cases=len(cases), incomplete_cases=sum(1 for row in cases if row.status == "incomplete"),
                          lost=lost, duplicates=duplicates, unended=sum(1 for row in calls if row.ended_at is None),
                          spooled=spooled)
