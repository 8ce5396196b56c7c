"""The dialogue driver's CaseDesk over the case store, and what a committed transaction tells its observer.

StoreDesk files and looks up cases inside the call's transaction: what the caller said is understood
(category, ward, address), the case is routed to its unit with a deadline, and filing is idempotent
per call. Notices wait in the session until the transaction commits, so the observer (metrics) only
hears of what really happened.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sqlalchemy.orm import Session

from ivr.actions import CaseDraft
from ivr.events import CaseFound, CaseNotFound, Event
from routing.route import FALLBACK_CATEGORY
from routing.understand import Understanding
from storage import cases as case_store
from storage.models import Call


class CallObserver(Protocol):
    """Told what a transaction did once it has committed (the app counts it); quick, and never raising."""

    def call_started(self, path: str) -> None: ...

    def turn(self, event: Event) -> None: ...

    def case_filed(self, category: str | None, status: str) -> None: ...

    def call_ended(self, status: str, streamed: bool) -> None: ...


Notice = Callable[[CallObserver], None]
NOTICES = "hotline_notices"  # the session.info key where a transaction's notices wait for its commit


def notify(session: Session, notice: Notice) -> None:
    """Tell the observer once this session's transaction has committed."""
    session.info.setdefault(NOTICES, []).append(notice)


class Router(Protocol):
    """Picks the responsible unit and deadline for a case."""

    def __call__(self, category: str | None, ward_code: str | None, now: datetime) -> tuple[str | None, datetime | None]: ...


class Understand(Protocol):
    """Understands what a caller said: category, ward and address."""

    def __call__(self, text: str) -> Understanding: ...


@dataclass
class StoreDesk:
    """The dialogue driver's CaseDesk, bound to one transaction and one call."""

    session: Session
    call: Call
    now: datetime
    route: Router
    understand: Understand | None = None
    label: Callable[[str | None], str | None] = lambda code: None

    def file_case(self, draft: CaseDraft) -> str:
        """File the drafted case for this call (idempotent per call) and return its number."""
        said = " ".join(part for part in (draft.description, draft.location) if part)
        understood = self.understand(said) if said and self.understand else None
        category = _category(draft.category, understood.category if understood else None)
        ward_code = understood.ward_code if understood else None
        unit, deadline = self.route(category, ward_code, self.now)
        case = case_store.file_case(
            self.session, call_id=self.call.id, caller_number=self.call.from_number,
            status=draft.status, category=category, description=draft.description,
            address_text=(understood.address if understood else None) or draft.location,
            unit_code=unit, deadline=deadline, now=self.now, actor="callbot", reason=_filing_reason(draft),
            ward=understood.ward if understood else None, ward_code=ward_code,
            legacy_ward=understood.legacy_ward if understood else None,
            legacy_district=understood.legacy_district if understood else None,
        )
        if case.created_at == self.now:  # filed now, not a call's earlier case returned unchanged
            notify(self.session, lambda observer: observer.case_filed(category, draft.status))
        return case.number

    def look_up_case(self, number: str) -> CaseFound | CaseNotFound:
        """Read a case's status for the caller."""
        case = case_store.find_case(self.session, number)
        if case is None:
            return CaseNotFound(number)
        return CaseFound(number=case.number, status=case.status,
                         status_label=case_store.STATUS_LABELS.get(case.status, case.status),
                         category_label=self.label(case.category))


def _category(chosen: str | None, heard: str | None) -> str | None:
    """The caller's keypad choice, unless it was "other" and what they said names a field."""
    if chosen not in (None, FALLBACK_CATEGORY) or heard in (None, FALLBACK_CATEGORY):
        return chosen or heard
    return heard


def _filing_reason(draft: CaseDraft) -> str:
    if draft.taken_by_operator:
        return "Tổng đài viên đã tiếp nhận cuộc gọi; cần bổ sung nội dung hồ sơ theo cuộc gọi."
    if draft.status == "incomplete":
        return "Người gọi gác máy trước khi hoàn tất; hồ sơ giữ lại những gì đã thu được."
    return "Người gọi xác nhận qua tổng đài tự động."
