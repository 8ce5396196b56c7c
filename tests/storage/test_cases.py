"""Filing cases, their numbers under concurrency, lookups, lifecycle and the JSON view."""

from __future__ import annotations

import subprocess
import sys
import threading
import unicodedata
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from storage.cases import (
    STATUS_LABELS,
    TRANSITIONS,
    case_to_dict,
    change_status,
    file_case,
    find_case,
    list_cases,
)
from storage.db import session_scope
from storage.models import CASE_STATUSES, Call, Case, CaseEvent, Unit
from storage.numbers import case_number, is_valid_case_number

MakeCall = Callable[..., Call]


def _file(session: Session, now: datetime, **overrides: Any) -> Case:
    fields: dict[str, Any] = {
        "call_id": None,
        "caller_number": "+84901234567",
        "status": "new",
        "category": "HT_NGAP",
        "description": "Ngập nước sau mưa",
        "address_text": "12 Nguyễn Huệ",
        "unit_code": None,
        "deadline": None,
        "now": now,
    }
    fields.update(overrides)
    return file_case(session, **fields)


def test_filing_assigns_number_and_first_event(session_factory: sessionmaker[Session], now: datetime) -> None:
    with session_scope(session_factory) as session:
        filed = _file(session, now, ward="Phường Sài Gòn", ward_code="26734", reason="callbot")
    with session_factory() as session:
        case = session.scalars(select(Case)).one()
        events = session.scalars(select(CaseEvent)).all()
    assert case.number == filed.number == case_number(case.id)
    assert case.status == "new" and case.ward == "Phường Sài Gòn" and case.channel == "phone"
    assert [(e.case_id, e.actor, e.from_status, e.to_status, e.reason) for e in events] == [
        (case.id, "callbot", None, "new", "callbot")
    ]


def test_unknown_status_is_refused(session: Session, now: datetime) -> None:
    with pytest.raises(ValueError, match="'open'"):
        _file(session, now, status="open")
    assert session.scalar(select(func.count()).select_from(Case)) == 0


def _file_many(factory: sessionmaker[Session], now: datetime, thread: int, count: int) -> list[str]:
    numbers = []
    for i in range(count):
        with session_scope(factory) as session:
            case = _file(session, now, caller_number=f"+8490{thread:02d}{i:05d}")
            numbers.append(str(case.number))
    return numbers


def test_numbers_are_unique_under_concurrency(session_factory: sessionmaker[Session], now: datetime) -> None:
    threads, per_thread = 8, 25
    with ThreadPoolExecutor(threads) as pool:
        results = list(pool.map(lambda t: _file_many(session_factory, now, t, per_thread), range(threads)))
    returned = [number for numbers in results for number in numbers]
    with session_factory() as session:
        stored = session.scalars(select(Case.number)).all()
        events = session.scalar(select(func.count()).select_from(CaseEvent))
    assert len(stored) == len(set(stored)) == threads * per_thread
    assert sorted(returned) == sorted(str(n) for n in stored)
    assert all(n is not None and is_valid_case_number(n) for n in stored)
    assert events == threads * per_thread


def test_one_case_per_call_under_concurrency(
    session_factory: sessionmaker[Session], call_id: int, now: datetime
) -> None:
    workers = 6
    barrier = threading.Barrier(workers)

    def file_for_call(worker: int) -> str:
        barrier.wait()
        with session_scope(session_factory) as session:
            return str(_file(session, now, call_id=call_id, description=f"worker {worker}").number)

    with ThreadPoolExecutor(workers) as pool:
        numbers = set(pool.map(file_for_call, range(workers)))
    with session_factory() as session:
        cases = session.scalars(select(Case).where(Case.call_id == call_id)).all()
        events = session.scalar(select(func.count()).select_from(CaseEvent))
    assert len(cases) == 1 and numbers == {cases[0].number}
    assert events == 1


def test_refiling_for_a_call_returns_the_case_unchanged(
    session: Session, call_id: int, now: datetime
) -> None:
    first = _file(session, now, call_id=call_id)
    session.commit()
    again = _file(
        session, now + timedelta(minutes=1), call_id=call_id, description="other", status="incomplete"
    )
    session.commit()
    session.expire_all()
    stored = session.scalars(select(Case)).one()
    assert again.id == first.id == stored.id
    assert (stored.description, stored.status, stored.created_at) == ("Ngập nước sau mưa", "new", now)


def test_second_filer_for_a_call_waits_and_gets_the_first_case(
    session_factory: sessionmaker[Session], call_id: int, now: datetime
) -> None:
    """PostgreSQL: the second filer blocks on the unique call_id and falls back on the constraint.

    SQLite: the second filer's BEGIN IMMEDIATE waits for the first to commit, then finds its case.
    """
    first = session_factory()
    mine = _file(first, now, call_id=call_id)
    with ThreadPoolExecutor(1) as pool:
        theirs = pool.submit(lambda: _file_in_own_session(session_factory, now, call_id))
        with pytest.raises(TimeoutError):
            theirs.result(timeout=0.5)  # blocked on our uncommitted row
        first.commit()
        number = theirs.result(timeout=10)
    first.close()
    assert number == mine.number


def _file_in_own_session(factory: sessionmaker[Session], now: datetime, call_id: int) -> str:
    with session_scope(factory) as session:
        return str(_file(session, now, call_id=call_id, description="late").number)


def test_a_bad_unit_code_still_raises(session: Session, call_id: int, now: datetime) -> None:
    with pytest.raises(IntegrityError):
        _file(session, now, call_id=call_id, unit_code="NO_SUCH_UNIT")
    session.rollback()
    assert session.scalar(select(func.count()).select_from(Case)) == 0


def test_find_case_checks_the_check_digit(session: Session, now: datetime) -> None:
    case = _file(session, now)
    session.commit()
    number = str(case.number)
    typo = number[:-1] + str((int(number[-1]) + 1) % 10)
    assert find_case(session, number) is case
    assert find_case(session, f" {number} ") is case
    assert find_case(session, typo) is None
    assert find_case(session, case_number(case.id + 1)) is None


@pytest.mark.parametrize(
    ("path", "allowed"),
    [
        (["assigned", "in_progress", "resolved", "closed"], True),
        (["incomplete", "new", "rejected"], True),
        (["assigned", "resolved", "in_progress", "resolved"], True),
        (["resolved"], False),
        (["closed"], False),
        (["rejected", "new"], False),
        (["assigned", "in_progress", "resolved", "closed", "in_progress"], False),
        (["new"], False),
    ],
)
def test_lifecycle(session: Session, now: datetime, path: list[str], allowed: bool) -> None:
    case = _file(session, now)
    session.commit()
    moves = path if allowed else path[:-1]
    for minute, status in enumerate(moves, start=1):
        change_status(
            session,
            case,
            status,
            actor="operator",
            reason=f"to {status}",
            now=now + timedelta(minutes=minute),
        )
    if not allowed:
        with pytest.raises(ValueError, match=f"'{case.status}' to '{path[-1]}'"):
            change_status(session, case, path[-1], actor="operator", reason=None, now=now)
    session.commit()
    session.expire_all()
    stored = session.scalars(select(Case)).one()
    history = [(e.from_status, e.to_status) for e in stored.events]
    expected_statuses = ["new", *moves]
    assert stored.status == expected_statuses[-1]
    assert history == list(zip([None, *expected_statuses[:-1]], expected_statuses, strict=True))
    assert stored.updated_at == now + timedelta(minutes=len(moves))


def test_transitions_and_labels_cover_every_status() -> None:
    assert set(TRANSITIONS) == set(STATUS_LABELS) == set(CASE_STATUSES)
    assert all(target in CASE_STATUSES for targets in TRANSITIONS.values() for target in targets)
    assert all(unicodedata.is_normalized("NFC", label) for label in STATUS_LABELS.values())
    assert STATUS_LABELS["assigned"] == "Đã chuyển đơn vị xử lý"


def test_case_to_dict(session: Session, make_call: MakeCall, now: datetime) -> None:
    session.add(
        Unit(code="UBND_26734", name="UBND phường Sài Gòn", kind="ubnd_ward", ward_code="26734", active=True)
    )
    call = make_call(session, "CA-dict")
    deadline = now + timedelta(days=3)
    _file(session, now, call_id=call.id, unit_code="UBND_26734", deadline=deadline, ward="Phường Sài Gòn")
    session.commit()
    session.expunge_all()
    found = find_case(session, case_number(1))
    assert found is not None
    view = case_to_dict(found)
    assert {
        "number",
        "status",
        "category",
        "ward",
        "unit",
        "deadline",
        "call_sid",
        "created_at",
        "caller_number",
        "description",
        "address_text",
        "updated_at",
    } <= set(view)
    assert view["number"] == found.number and view["status"] == "new"
    assert view["unit"] == "UBND_26734" and view["unit_name"] == "UBND phường Sài Gòn"
    assert view["call_sid"] == "CA-dict"
    assert view["created_at"] == "2025-07-01T09:30:00+07:00"
    assert view["deadline"] == "2025-07-04T09:30:00+07:00"
    assert datetime.fromisoformat(view["updated_at"]) == now


def test_list_cases_newest_first_with_status_filter(session: Session, now: datetime) -> None:
    for minute in range(5):
        _file(session, now + timedelta(minutes=minute), status="incomplete" if minute % 2 else "new")
    session.commit()
    newest = list_cases(session, limit=3)
    assert [c.created_at for c in newest] == [now + timedelta(minutes=m) for m in (4, 3, 2)]
    assert [c.created_at for c in list_cases(session, limit=3, offset=3)] == [
        now + timedelta(minutes=m) for m in (1, 0)
    ]
    assert {c.status for c in list_cases(session, status="incomplete")} == {"incomplete"}
    assert len(list_cases(session, status="incomplete")) == 2


_FILER = """
import sys
from datetime import datetime, timezone
from storage.cases import file_case
from storage.db import make_engine, make_session_factory, session_scope

url, worker, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
factory = make_session_factory(make_engine(url))
now = datetime(2025, 7, 1, 2, 30, tzinfo=timezone.utc)
for i in range(count):
    with session_scope(factory) as session:
        case = file_case(session, call_id=None, caller_number=f"{worker}-{i}", status="new", category=None,
                         description=None, address_text=None, unit_code=None, deadline=None, now=now)
        print(case.number)
"""


def test_numbers_are_unique_across_processes(db_url: str, session_factory: sessionmaker[Session]) -> None:
    processes, per_process = 4, 20
    filers = [
        subprocess.Popen(
            [sys.executable, "-c", _FILER, db_url, str(p), str(per_process)],
            stdout=subprocess.PIPE,
            text=True,
        )
        for p in range(processes)
    ]
    printed = [line for filer in filers for line in filer.communicate(timeout=60)[0].split()]
    assert [filer.returncode for filer in filers] == [0] * processes
    with session_factory() as session:
        stored = session.scalars(select(Case.number)).all()
    assert len(set(stored)) == len(stored) == processes * per_process
    assert sorted(printed) == sorted(str(n) for n in stored)
