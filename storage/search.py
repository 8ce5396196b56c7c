"""Finding cases for the console: filters, free text and keyset paging; functions never commit.

Free text matches folded words kept in cases.search_text (no tones, đ as d, lower case, so "ngap"
finds "ngập"): each word of a query is a prefix, all must match, through SQLite FTS5 or PostgreSQL's
GIN index (both made by migration 0003). Pages are keyset pages on (created_at, id) or (deadline, id).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from itertools import islice
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, column, func, literal, literal_column, select, table, true, tuple_
from sqlalchemy.orm import Session, joinedload

from storage.models import Case, Recording, Turn

MAX_TERMS = 8
"""Words of a query beyond this are ignored: nobody types more, and each one costs an index lookup."""
SQLITE_DENSE = 2000
"""Above this many FTS5 matches SQLite walks the list's order instead of sorting the matches (bench/console.py)."""
SQLITE_WINDOW, SQLITE_WINDOW_MAX = 2_000, 128_000
"""Rows of the list read at a time by that walk: the first window, and the most one may grow to."""
_NOT_WORD = re.compile(r"[\W_]+", re.UNICODE)
_CASE_SEARCH = table("case_search", column("rowid"))
# The GIN index of migration 0003 is on exactly this expression; constants (not bound parameters)
# keep it recognisable to the planner even in a prepared statement's generic plan.
_TSVECTOR = func.to_tsvector(literal_column("'simple'"), func.coalesce(Case.search_text, literal_column("''")))


def fold(text: str) -> str:
    """NFC, lower case, tones and other marks removed, đ as d, anything but letters and digits as one space."""
    lowered = unicodedata.normalize("NFC", text).lower().replace("đ", "d")
    bare = "".join(ch for ch in unicodedata.normalize("NFD", lowered) if not unicodedata.combining(ch))
    return " ".join(_NOT_WORD.sub(" ", bare).split())


def phone_forms(number: str | None) -> list[str]:
    """A phone number as stored and in its other Vietnamese spellings: +84901234567, 84901234567, 0901234567."""
    digits = "".join(re.findall(r"[0-9]", number or ""))
    if not digits:
        return []
    national = "0" + digits[2:] if digits.startswith("84") and len(digits) > 9 else digits
    if not national.startswith("0"):
        return [number.strip()] if number else []
    international = "84" + national[1:]
    return list(dict.fromkeys([(number or "").strip(), "+" + international, international, national]))


def case_search_text(case: Case, transcripts: Iterable[str]) -> str:
    """The folded, de-duplicated words a case is found by: number, caller, what was said and where."""
    parts = [case.number, *phone_forms(case.caller_number), case.description, case.address_text, case.ward,
             case.legacy_ward, case.legacy_district, *transcripts]
    words = fold(" ".join(part for part in parts if part)).split()
    return " ".join(dict.fromkeys(words))


def refresh_search_text(session: Session, case: Case) -> bool:
    """Recompute case.search_text with its call's transcripts and caller turns; True when it changed."""
    transcripts: list[str] = []
    if case.call_id is not None:
        transcripts += session.scalars(
            select(Recording.transcript)
            .where(Recording.call_id == case.call_id, Recording.transcript.is_not(None))
            .order_by(Recording.created_at, Recording.id))
        transcripts += session.scalars(
            select(Turn.text)
            .where(Turn.call_id == case.call_id, Turn.speaker == "caller", Turn.text.is_not(None))
            .order_by(Turn.seq))
    text = case_search_text(case, transcripts)
    if text == case.search_text:
        return False
    case.search_text = text
    return True


def search_terms(query: str) -> list[str]:
    """The folded words of what someone typed, at most MAX_TERMS, each only letters and digits."""
    return list(dict.fromkeys(fold(query).split()))[:MAX_TERMS]


def matches(session: Session, query: str) -> ColumnElement[bool]:
    """A condition on Case: every word of query starts a word of its search text (true when it has no words)."""
    terms = search_terms(query)
    if not terms:
        return true()
    dialect = session.get_bind().dialect.name
    if dialect == "sqlite":
        hits = _fts_hits(terms)
        if _at_most(session, hits, SQLITE_DENSE):
            return Case.id.in_(hits)  # few matches: fetch them by id, then sort
        # Many: walk the list's own index and test each row against the matches, gathered once; "+ 0"
        # stops SQLite from fetching and sorting every match (seconds for a word in half the cases).
        return (Case.id + literal_column("0")).in_(hits)
    if dialect == "postgresql":
        tsquery = " & ".join(f"{term}:*" for term in terms)
        return _TSVECTOR.op("@@")(func.to_tsquery(literal_column("'simple'"), tsquery))
    return and_(*(Case.search_text.like(f"%{term}%") for term in terms))


def _fts_hits(terms: list[str]) -> Select[Any]:
    """The ids of the cases whose search text has every term as a word prefix (SQLite FTS5)."""
    # Terms hold only letters and digits, so quoting them cannot break the FTS5 syntax.
    expression = " ".join(f'"{term}"*' for term in terms)
    return select(_CASE_SEARCH.c.rowid).where(literal_column("case_search").op("MATCH")(expression))


def _at_most(session: Session, query: Select[Any], limit: int) -> bool:
    return (session.scalar(select(func.count()).select_from(query.limit(limit + 1).subquery())) or 0) <= limit


def _dense_terms(session: Session, text: str | None) -> list[str] | None:
    """SQLite: the terms of a query matching more than SQLITE_DENSE cases, to be walked (None otherwise)."""
    terms = search_terms(text or "")
    if not terms or session.get_bind().dialect.name != "sqlite" or _at_most(session, _fts_hits(terms), SQLITE_DENSE):
        return None
    return terms


def _walk(session: Session, terms: list[str], conditions: list[ColumnElement[bool]], key: Any,
          ascending: bool) -> Iterator[int]:
    """Ids of the cases meeting conditions, in the list's order, whose search text matches terms (SQLite).

    Reads the list's own index a window at a time and asks FTS5 only for the matches within the window's
    id range: a common word fills a page from the first window, never gathering its 500,000 matches.
    """
    order = (key.asc(), Case.id.asc()) if ascending else (key.desc(), Case.id.desc())
    window, last = SQLITE_WINDOW, None
    while True:
        query = select(key, Case.id).where(*conditions).order_by(*order).limit(window)
        rows = session.execute(query if last is None else query.where(_beyond(key, ascending, *last))).all()
        if not rows:
            return
        ids = [row[1] for row in rows]
        hits = _fts_hits(terms).where(_CASE_SEARCH.c.rowid.between(min(ids), max(ids)))
        matched = set(session.scalars(hits))
        yield from (id_ for id_ in ids if id_ in matched)
        if len(rows) < window:
            return
        last, window = (rows[-1][0], rows[-1][1]), min(window * 8, SQLITE_WINDOW_MAX)


def _beyond(key: Any, ascending: bool, key_value: datetime, id_: int) -> ColumnElement[bool]:
    """Rows after (key_value, id_) in the list's order: the keyset condition."""
    row, mark = tuple_(key, Case.id), tuple_(literal(key_value, key.type), literal(id_, Case.id.type))
    return row > mark if ascending else row < mark


SORTS = ("newest", "oldest", "deadline")
PAGE_SIZE = 50
COUNT_CAP = 1000
"""The list counts matches up to this many and then says "more than": counting never scans a million rows."""
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_CURSOR = re.compile(r"([0-9]{1,18})\.([0-9]{1,18})")


@dataclass(frozen=True)
class CaseFilter:
    """What the case list is narrowed to (None: any) and how it is sorted (one of SORTS)."""

    status: str | None = None
    category: str | None = None
    ward_code: str | None = None
    unit_code: str | None = None
    created_from: datetime | None = None  # inclusive
    created_before: datetime | None = None  # exclusive
    caller: str | None = None
    text: str | None = None
    sort: str = "newest"


@dataclass(frozen=True)
class Cursor:
    """A page boundary of the list: the sort key (created_at, or deadline) and id of a case."""

    key: datetime
    id: int

    def __str__(self) -> str:
        return f"{(self.key - _EPOCH) // timedelta(microseconds=1)}.{self.id}"

    @classmethod
    def parse(cls, text: str | None) -> Cursor | None:
        """The cursor written by str(), or None for anything else."""
        found = _CURSOR.fullmatch(text or "")
        if found is None:
            return None
        try:
            return cls(_EPOCH + timedelta(microseconds=int(found[1])), int(found[2]))
        except OverflowError:
            return None

    @classmethod
    def of(cls, case: Case, sort: str) -> Cursor:
        key = case.deadline if sort == "deadline" else case.created_at
        assert key is not None  # the deadline sort lists only cases with a deadline
        return cls(key, case.id)


@dataclass(frozen=True)
class CasePage:
    """One page of the list, with the cursors of the pages after and before it (None: there is none)."""

    cases: list[Case]
    next: Cursor | None
    previous: Cursor | None


def search_cases(session: Session, flt: CaseFilter, *, after: Cursor | None = None, before: Cursor | None = None,
                 limit: int = PAGE_SIZE) -> list[Case]:
    """Up to limit cases matching flt in its order, after (or before) a cursor: keyset paging, no OFFSET."""
    key = Case.deadline if flt.sort == "deadline" else Case.created_at
    backwards = before is not None
    ascending = (flt.sort != "newest") != backwards
    cursor = before or after
    conditions = _conditions(session, replace(flt, text=None))
    if cursor is not None:
        conditions.append(_beyond(key, ascending, cursor.key, cursor.id))
    query = select(Case).options(joinedload(Case.unit))
    dense = _dense_terms(session, flt.text)
    if dense is not None:
        picked = list(islice(_walk(session, dense, conditions, key, ascending), limit))
        found = {case.id: case for case in session.scalars(query.where(Case.id.in_(picked)))}
        rows = [found[id_] for id_ in picked]
    else:
        order = (key.asc(), Case.id.asc()) if ascending else (key.desc(), Case.id.desc())
        if flt.text:
            conditions.append(matches(session, flt.text))
        rows = list(session.scalars(query.where(*conditions).order_by(*order).limit(limit)))
    return rows[::-1] if backwards else rows


def page_cases(session: Session, flt: CaseFilter, *, after: Cursor | None = None, before: Cursor | None = None,
               size: int = PAGE_SIZE) -> CasePage:
    """A page of size cases after or before a cursor (the first page without one)."""
    rows = search_cases(session, flt, after=after, before=before, limit=size + 1)
    if before is not None:
        earlier, rows = len(rows) > size, rows[-size:]
        later = True
    else:
        later, rows = len(rows) > size, rows[:size]
        earlier = after is not None
    return CasePage(rows, Cursor.of(rows[-1], flt.sort) if rows and later else None,
                    Cursor.of(rows[0], flt.sort) if rows and earlier else None)


def count_cases(session: Session, flt: CaseFilter, *, cap: int = COUNT_CAP) -> int:
    """How many cases match, counted up to cap + 1 (more than cap: say so rather than count them all)."""
    dense = _dense_terms(session, flt.text)
    if dense is not None and replace(flt, text=None) != CaseFilter():
        key = Case.deadline if flt.sort == "deadline" else Case.created_at
        walked = _walk(session, dense, _conditions(session, replace(flt, text=None)), key, flt.sort != "newest")
        return sum(1 for _ in islice(walked, cap + 1))
    # A dense query with nothing else to narrow it is counted in the FTS5 index alone.
    matching = _fts_hits(dense) if dense is not None else select(Case.id).where(*_conditions(session, flt))
    return session.scalar(select(func.count()).select_from(matching.limit(cap + 1).subquery())) or 0


def _conditions(session: Session, flt: CaseFilter) -> list[ColumnElement[bool]]:
    if flt.sort not in SORTS:
        raise ValueError(f"unknown sort {flt.sort!r}; expected one of {', '.join(SORTS)}")
    conditions: list[ColumnElement[bool]] = []
    if flt.status:
        conditions.append(Case.status == flt.status)
    if flt.category:
        conditions.append(Case.category == flt.category)
    if flt.ward_code:
        conditions.append(Case.ward_code == flt.ward_code)
    if flt.unit_code:
        conditions.append(Case.unit_code == flt.unit_code)
    if flt.created_from:
        conditions.append(Case.created_at >= flt.created_from)
    if flt.created_before:
        conditions.append(Case.created_at < flt.created_before)
    if flt.caller:
        conditions.append(Case.caller_number.in_(phone_forms(flt.caller) or [flt.caller.strip()]))
    if flt.text:
        conditions.append(matches(session, flt.text))
    if flt.sort == "deadline":
        conditions.append(Case.deadline.is_not(None))
    return conditions
