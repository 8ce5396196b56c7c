"""Filing, finding, correcting and moving cases through their lifecycle; functions never commit.

The console's list (filters, free text, keyset paging) is in storage/search.py."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import exists, select
from sqlalchemy.orm import Session, joinedload

from config.settings import TIMEZONE
from storage.db import add_or_get
from storage.models import CASE_STATUSES, Case, CaseCorrection, CaseEvent, CaseNote, Unit
from storage.numbers import case_number, is_valid_case_number
from storage.search import refresh_search_text

LOCAL_TZ = ZoneInfo(TIMEZONE)

STATUS_LABELS: dict[str, str] = {
    "new": "Mới tiếp nhận",
    "assigned": "Đã chuyển đơn vị xử lý",
    "in_progress": "Đang xử lý",
    "resolved": "Đã xử lý xong",
    "closed": "Đã đóng",
    "incomplete": "Chưa đầy đủ thông tin",
    "rejected": "Không thụ lý",
}

# Which status may follow which. A unit can hand a case back (assigned -> new) or to
# another unit (in_progress -> assigned); a resolved case can be reopened until closed.
TRANSITIONS: dict[str, frozenset[str]] = {
    "new": frozenset({"assigned", "in_progress", "incomplete", "rejected"}),
    "incomplete": frozenset({"new", "assigned", "rejected", "closed"}),
    "assigned": frozenset({"new", "in_progress", "resolved", "rejected"}),
    "in_progress": frozenset({"assigned", "resolved"}),
    "resolved": frozenset({"in_progress", "closed"}),
    "closed": frozenset(),
    "rejected": frozenset(),
}


def file_case(
    session: Session,
    *,
    call_id: int | None,
    caller_number: str | None,
    status: str,
    category: str | None,
    description: str | None,
    address_text: str | None,
    unit_code: str | None,
    deadline: datetime | None,
    now: datetime,
    actor: str = "callbot",
    reason: str | None = None,
    channel: str = "phone",
    ward: str | None = None,
    ward_code: str | None = None,
    legacy_ward: str | None = None,
    legacy_district: str | None = None,
) -> Case:
    """Store a new case with its number and first event; a call's existing case is returned unchanged."""
    _check_status(status)
    case = Case(
        call_id=call_id,
        channel=channel,
        caller_number=caller_number,
        category=category,
        description=description,
        address_text=address_text,
        ward=ward,
        ward_code=ward_code,
        legacy_ward=legacy_ward,
        legacy_district=legacy_district,
        unit_code=unit_code,
        status=status,
        deadline=deadline,
        created_at=now,
        updated_at=now,
    )
    if call_id is None:
        session.add(case)
        session.flush()
    else:
        case, created = add_or_get(session, case, lambda: case_for_call(session, call_id))
        if not created:
            return case
    case.number = case_number(case.id)
    case.events.append(CaseEvent(at=now, actor=actor, from_status=None, to_status=status, reason=reason))
    refresh_search_text(session, case)
    session.flush()
    return case


def case_for_call(session: Session, call_id: int, *, for_update: bool = False) -> Case | None:
    """The case a call left, if any; for_update locks its row until the transaction ends."""
    query = select(Case).where(Case.call_id == call_id)
    if for_update:
        query = query.with_for_update()  # SQLite renders none; its BEGIN IMMEDIATE already serialises writers
    return session.scalars(query).one_or_none()


def set_suggestion(session: Session, case: Case, suggestion: dict[str, Any] | None, now: datetime) -> bool:
    """Keep what the call's transcripts suggest for an operator to confirm; False when it was already so.

    The case's search text is refreshed either way: it holds the transcripts the suggestion came from.
    """
    if refresh_search_text(session, case):
        session.flush()
    if case.suggestion == suggestion:
        return False
    case.suggestion = suggestion
    case.updated_at = now
    session.flush()
    return True


def find_case(session: Session, number: str, *, for_update: bool = False) -> Case | None:
    """Return the case with this number, or None (also when the check digit is wrong).

    for_update locks its row until the transaction ends (its unit and call are then loaded when read).
    """
    number = number.strip()
    if not is_valid_case_number(number):
        return None
    query = select(Case).where(Case.number == number)
    if for_update:
        query = query.with_for_update()  # no outer joins: PostgreSQL cannot lock their nullable side
    else:
        query = query.options(joinedload(Case.unit), joinedload(Case.call))
    return session.scalars(query).one_or_none()


def list_cases(
    session: Session, *, limit: int = 50, offset: int = 0, status: str | None = None
) -> list[Case]:
    """Return cases newest first, optionally only those with one status."""
    query = select(Case).options(joinedload(Case.unit), joinedload(Case.call))
    if status is not None:
        _check_status(status)
        query = query.where(Case.status == status)
    query = query.order_by(Case.created_at.desc(), Case.id.desc()).limit(limit).offset(offset)
    return list(session.scalars(query))


def next_statuses(case: Case) -> list[str]:
    """The statuses a case may move to now, in lifecycle order."""
    return [status for status in CASE_STATUSES if status in TRANSITIONS[case.status]]


def change_status(
    session: Session, case: Case, to_status: str, *, actor: str, reason: str | None, now: datetime
) -> CaseEvent:
    """Move a case to a new status and record who did it; illegal moves raise ValueError."""
    _check_status(to_status)
    if to_status not in TRANSITIONS[case.status]:
        raise ValueError(f"case {case.number}: cannot go from {case.status!r} to {to_status!r}")
    event = CaseEvent(at=now, actor=actor, from_status=case.status, to_status=to_status, reason=reason)
    case.events.append(event)
    case.status = to_status
    case.updated_at = now
    session.flush()
    return event


def add_note(session: Session, case: Case, *, author: str, text: str, now: datetime) -> CaseNote:
    """Append a person's note to a case."""
    note = CaseNote(case_id=case.id, at=now, author=author, text=text)
    session.add(note)
    session.flush()
    return note


def notes_of(session: Session, case: Case) -> list[CaseNote]:
    """A case's notes, oldest first."""
    return list(session.scalars(select(CaseNote).where(CaseNote.case_id == case.id)
                                .order_by(CaseNote.at, CaseNote.id)))


def corrections_of(session: Session, case: Case) -> list[CaseCorrection]:
    """A case's corrections, oldest first."""
    return list(session.scalars(select(CaseCorrection).where(CaseCorrection.case_id == case.id)
                                .order_by(CaseCorrection.at, CaseCorrection.id)))


Route = Callable[[str | None, str | None, datetime], tuple[str | None, datetime | None]]


def correct_case(session: Session, case: Case, *, actor: str, now: datetime, category: str | None = None,
                 ward: tuple[str, str] | None = None, unit_code: str | None = None,
                 route: Route | None = None) -> list[CaseCorrection]:
    """Apply a person's corrections (None: unchanged; ward is (name, code)), each kept with the value it replaces.

    A corrected category or ward re-routes the case through route unless a unit is given now or a person
    corrected the unit before: a person's choice wins. The deadline stays: it was promised to the caller.
    """
    if unit_code is not None and session.get(Unit, unit_code) is None:
        raise ValueError(f"no unit with code {unit_code!r}")
    changed: list[CaseCorrection] = []

    def record(field: str, old: str | None, new: str) -> None:
        changed.append(CaseCorrection(case_id=case.id, at=now, actor=actor, field=field, old_value=old,
                                      new_value=new))

    if category is not None and category != case.category:
        record("category", case.category, category)
        case.category = category
    if ward is not None and ward[1] != case.ward_code:
        record("ward", case.ward, ward[0])
        case.ward, case.ward_code = ward
    if unit_code is not None:
        if unit_code != case.unit_code:
            record("unit", case.unit_code, unit_code)
            case.unit_code = unit_code
    elif changed and route is not None and not _unit_chosen(session, case):
        case.unit_code = route(case.category, case.ward_code, now)[0] or case.unit_code
    if changed:
        session.add_all(changed)
        case.updated_at = now
        refresh_search_text(session, case)
        session.flush()
        session.expire(case, ["unit"])
    return changed


def corrected_cases(session: Session) -> list[Case]:
    """Every case a person corrected, oldest first."""
    corrected = select(CaseCorrection.case_id).distinct()
    return list(session.scalars(select(Case).where(Case.id.in_(corrected)).order_by(Case.id)))


def _unit_chosen(session: Session, case: Case) -> bool:
    query = select(exists().where(CaseCorrection.case_id == case.id, CaseCorrection.field == "unit"))
    return bool(session.scalar(query))


def case_to_dict(case: Case) -> dict[str, Any]:
    """Return a JSON-ready view of a case, times in Ho Chi Minh City local time."""
    return {
        "number": case.number,
        "status": case.status,
        "status_label": STATUS_LABELS[case.status],
        "category": case.category,
        "description": case.description,
        "address_text": case.address_text,
        "ward": case.ward,
        "ward_code": case.ward_code,
        "legacy_ward": case.legacy_ward,
        "legacy_district": case.legacy_district,
        "unit": case.unit_code,
        "unit_name": case.unit.name if case.unit is not None else None,
        "channel": case.channel,
        "caller_number": case.caller_number,
        "call_sid": case.call.sid if case.call is not None else None,
        "deadline": _local_iso(case.deadline),
        "suggestion": case.suggestion,
        "created_at": _local_iso(case.created_at),
        "updated_at": _local_iso(case.updated_at),
    }


def _local_iso(value: datetime | None) -> str | None:
    return value.astimezone(LOCAL_TZ).isoformat() if value is not None else None


def _check_status(status: str) -> None:
    if status not in CASE_STATUSES:
        raise ValueError(f"unknown case status {status!r}; expected one of {', '.join(CASE_STATUSES)}")
