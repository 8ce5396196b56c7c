"""Finding cases: folded search text, free text on FTS5 / PostgreSQL, filters, keyset pages, counting, corrections."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

import storage.search
from storage.calls import add_turn
from storage.cases import correct_case, corrected_cases, corrections_of, file_case, set_suggestion
from storage.db import session_scope
from storage.models import Call, Case, Unit
from storage.recordings import add_recording, set_transcript
from storage.search import (
    CaseFilter,
    Cursor,
    count_cases,
    fold,
    matches,
    page_cases,
    phone_forms,
    search_cases,
    search_terms,
)

MakeCall = Callable[..., Call]


def _file(session: Session, now: datetime, **overrides: Any) -> Case:
    fields: dict[str, Any] = {
        "call_id": None, "caller_number": "+84901234567", "status": "new", "category": "HT_NGAP",
        "description": "Đường ngập sâu sau mưa", "address_text": "12 Nguyễn Huệ", "unit_code": None,
        "deadline": None, "now": now, "ward": "Phường Sài Gòn", "ward_code": "26740",
    }
    fields.update(overrides)
    return file_case(session, **fields)


def _found(session: Session, query: str) -> list[str]:
    return sorted(str(n) for n in session.scalars(select(Case.number).where(matches(session, query))))


@pytest.mark.parametrize(("text", "folded"), [
    ("Đường NGẬP  sâu!", "duong ngap sau"),
    ("Thuỷ, thủy; Ưu tiên — ở P.12/Q.Gò Vấp", "thuy thuy uu tien o p 12 q go vap"),
    ("Nhà\u0300 (NFD) ẩm", "nha nfd am"),
    ("'\"*():&|!<>_", ""),
])
def test_fold(text: str, folded: str) -> None:
    assert fold(text) == folded


def test_phone_forms() -> None:
    assert phone_forms("+84901234567") == ["+84901234567", "84901234567", "0901234567"]
    assert phone_forms("0901234567") == ["0901234567", "+84901234567", "84901234567"]
    assert phone_forms("1022") == ["1022"] and phone_forms(None) == []


def test_filing_fills_the_search_text(session: Session, now: datetime) -> None:
    case = _file(session, now, legacy_ward="Phường Bến Nghé", legacy_district="Quận 1")
    words = str(case.search_text).split()
    assert words[0] == case.number
    for word in ("84901234567", "0901234567", "duong", "ngap", "nguyen", "hue", "sai", "gon", "ben", "nghe", "quan"):
        assert word in words
    assert len(words) == len(set(words))


def test_free_text_is_folded_prefixes_that_must_all_match(session_factory: sessionmaker[Session], now: datetime) -> None:
    with session_scope(session_factory) as session:
        flood = _file(session, now).number
        tree = _file(session, now, description="Cây đổ chắn đường", category="CAYXANH", caller_number="0911222333",
                     address_text="5 Lê Lợi").number
    with session_factory() as session:
        assert _found(session, "ngap") == _found(session, "NGẬP") == _found(session, "ngậ") == [flood]
        assert _found(session, "đường") == sorted([flood, tree])
        assert _found(session, "ngap hue") == [flood] and _found(session, "ngap loi") == []
        assert _found(session, str(flood)) == [flood]
        assert _found(session, "0911222333") == _found(session, "+84911222333") == [tree]
        assert _found(session, "0901234567") == [flood]
        assert _found(session, "  ") == _found(session, "!!") == sorted([flood, tree]), "no words: no condition"


@pytest.mark.parametrize("query", ['"', '"ngap', "ngap*", "a OR b", "NEAR(a b)", "x AND", "' ; DROP TABLE cases; --",
                                   "ngap:* & !hue", "(", "\\", "%_", "a:b", "^ngap", "-ngap", "ngap)", "<->", "{}"])
def test_no_query_breaks_the_search_syntax(session: Session, now: datetime, query: str) -> None:
    _file(session, now)
    session.flush()
    assert count_cases(session, CaseFilter(text=query)) in (0, 1)


def test_terms_are_capped() -> None:
    assert search_terms("a b c d e f g h i j a") == list("abcdefgh")


def test_transcripts_and_caller_turns_are_searchable(session_factory: sessionmaker[Session], make_call: MakeCall,
                                                    now: datetime) -> None:
    with session_scope(session_factory) as session:
        call = make_call(session)
        add_turn(session, call, speaker="caller", text="cây đổ chắn ngang hẻm", now=now)
        add_turn(session, call, speaker="bot", text="Xin cảm ơn quý vị", now=now)
        case = _file(session, now, call_id=call.id)
        number = case.number
    with session_factory() as session:
        assert _found(session, "hem") == [number] and _found(session, "cam on") == []
    with session_scope(session_factory) as session:
        rec = add_recording(session, call=session.get(Call, call.id), sid="RE1", remote_url=None, duration_s=3.0,
                            purpose="description", now=now)
        set_transcript(session, rec, "trụ điện nghiêng sắp đổ", 0.9, now)
        case = session.scalars(select(Case).where(Case.number == number)).one()
        assert set_suggestion(session, case, {"category": "DIEN"}, now)
        assert not set_suggestion(session, case, {"category": "DIEN"}, now)
    with session_factory() as session:
        assert _found(session, "nghieng") == [number]


def _numbers(cases: list[Case]) -> list[str]:
    return [str(case.number) for case in cases]


@pytest.mark.parametrize("sort", ["newest", "oldest", "deadline"])
def test_keyset_pages_cover_every_case_once_forward_and_back(session_factory: sessionmaker[Session], now: datetime,
                                                            sort: str) -> None:
    with session_scope(session_factory) as session:
        for i in range(23):  # ties on created_at and on deadline: the id breaks them
            _file(session, now + timedelta(minutes=i // 4),
                  deadline=None if i % 7 == 3 else now + timedelta(days=(i * 5) % 3))
    flt = CaseFilter(sort=sort)
    with session_factory() as session:
        everything = _numbers(search_cases(session, flt, limit=100))
        pages, cursor = [], None
        while True:
            page = page_cases(session, flt, after=cursor, size=5)
            pages.append(_numbers(page.cases))
            assert (page.previous is None) == (cursor is None)
            if page.next is None:
                break
            cursor = Cursor.parse(str(page.next))
        back, cursor = [], Cursor.parse(str(page.previous))
        while cursor is not None:
            page = page_cases(session, flt, before=cursor, size=5)
            back.insert(0, _numbers(page.cases))
            assert page.next is not None
            cursor = page.previous
        keys = [case.deadline if sort == "deadline" else case.created_at for case in search_cases(session, flt, limit=100)]
    assert len(everything) == (20 if sort == "deadline" else 23) == len(set(everything))
    assert [n for p in pages for n in p] == everything and all(len(p) == 5 for p in pages[:-1])
    assert back == pages[:-1]
    assert keys == sorted(keys, reverse=sort == "newest")


def test_cursors_that_are_not_ours_are_ignored() -> None:
    assert Cursor.parse("1751337000000000.13") == Cursor(datetime.fromisoformat("2025-07-01T02:30:00+00:00"), 13)
    for text in (None, "", "abc", "1.2.3", "-5.1", "9" * 19 + ".1", "999999999999999999.1", "１２.3"):
        assert Cursor.parse(text) is None


def test_filters_narrow_and_combine(session_factory: sessionmaker[Session], now: datetime) -> None:
    with session_scope(session_factory) as session:
        unit = "TT_QLHTKT"
        session.add(Unit(code=unit, name="Trung tâm", kind="k"))
        a = _file(session, now, status="new", unit_code=unit).number
        b = _file(session, now + timedelta(days=1), status="incomplete", category="CAYXANH", description="Cây đổ",
                  ward="Phường Bến Thành", ward_code="26743", caller_number="0911222333").number
    with session_factory() as session:
        def listed(**fields: Any) -> list[str]:
            return sorted(_numbers(search_cases(session, CaseFilter(**fields))))

        assert listed() == sorted([a, b])
        assert listed(status="incomplete") == listed(category="CAYXANH") == listed(ward_code="26743") == [b]
        assert listed(unit_code=unit) == [a] and listed(caller="+84911222333") == listed(caller="0911222333") == [b]
        assert listed(created_from=now + timedelta(hours=1)) == [b] and listed(created_before=now + timedelta(hours=1)) == [a]
        assert listed(category="CAYXANH", text="ngap") == [] and listed(category="HT_NGAP", text="ngap") == [a]
        with pytest.raises(ValueError, match="'sideways'"):
            listed(sort="sideways")


def test_counts_stop_past_the_cap(session_factory: sessionmaker[Session], now: datetime) -> None:
    with session_scope(session_factory) as session:
        for _ in range(7):
            _file(session, now)
    with session_factory() as session:
        assert count_cases(session, CaseFilter(), cap=5) == 6
        assert count_cases(session, CaseFilter(), cap=10) == 7
        assert count_cases(session, CaseFilter(text="khongco")) == 0


def _route(category: str | None, ward_code: str | None, now: datetime) -> tuple[str | None, datetime | None]:
    return (f"UBND_{ward_code}" if category == "TTDT" else "TT_QLHTKT"), None


def test_corrections_keep_the_originals_and_reroute_unless_a_person_chose_the_unit(
        session_factory: sessionmaker[Session], now: datetime) -> None:
    with session_scope(session_factory) as session:
        session.add_all([Unit(code=code, name=code, kind="k") for code in ("TT_QLHTKT", "UBND_26740", "UBND_26743")])
        case = _file(session, now, unit_code="TT_QLHTKT")
        later = now + timedelta(hours=1)
        changed = correct_case(session, case, actor="giamsat", now=later, category="TTDT",
                               ward=("Phường Bến Thành", "26743"), route=_route)
        assert [(c.field, c.old_value, c.new_value) for c in changed] == [
            ("category", "HT_NGAP", "TTDT"), ("ward", "Phường Sài Gòn", "Phường Bến Thành")]
        assert (case.category, case.ward, case.ward_code, case.unit_code) == ("TTDT", "Phường Bến Thành", "26743",
                                                                              "UBND_26743")
        assert "ben thanh" in str(case.search_text) and case.updated_at == later
        assert correct_case(session, case, actor="giamsat", now=later, category="TTDT", route=_route) == []
        correct_case(session, case, actor="admin", now=later, unit_code="TT_QLHTKT", route=_route)
        correct_case(session, case, actor="admin", now=later, ward=("Phường Sài Gòn", "26740"), route=_route)
        assert case.unit_code == "TT_QLHTKT", "a unit a person chose is not re-routed"
        with pytest.raises(ValueError, match="'NOWHERE'"):
            correct_case(session, case, actor="admin", now=later, unit_code="NOWHERE")
        assert [c.field for c in corrections_of(session, case)] == ["category", "ward", "unit", "ward"]
        assert corrected_cases(session) == [case]


def test_the_sqlite_walk_for_common_words_finds_what_the_plain_query_finds(
        session_factory: sessionmaker[Session], now: datetime, monkeypatch: pytest.MonkeyPatch) -> None:
    """SQLite walks the list's index for words with many matches; tiny thresholds make these few cases 'many'."""
    real_walk = storage.search._walk
    words = ("Đường ngập sâu", "Cây đổ chắn đường", "Rác trên vỉa hè", "Ngập hẻm")
    with session_scope(session_factory) as session:
        for i in range(60):
            _file(session, now + timedelta(minutes=(i * 7) % 13), description=words[i % 4],
                  status="new" if i % 3 else "assigned", deadline=now + timedelta(days=i % 5))
    filters = [CaseFilter(text=text, status=status, sort=sort) for text in ("ngap", "duong", "cay do", "via", "ran")
               for status in (None, "assigned") for sort in ("newest", "oldest", "deadline")]

    def walk_pages(session: Session, flt: CaseFilter) -> tuple[list[str], list[str], int]:
        forward, cursor = [], None
        while True:
            page = page_cases(session, flt, after=cursor, size=4)
            forward += _numbers(page.cases)
            if page.next is None:
                break
            cursor = page.next
        last = page_cases(session, flt, before=page.previous, size=4) if page.previous else None
        return forward, _numbers(last.cases) if last else [], count_cases(session, flt, cap=15)

    with session_factory() as session:
        plain = [walk_pages(session, flt) for flt in filters]
        monkeypatch.setattr("storage.search.SQLITE_DENSE", 2)
        monkeypatch.setattr("storage.search.SQLITE_WINDOW", 3)
        monkeypatch.setattr("storage.search.SQLITE_WINDOW_MAX", 10)
        walks: list[int] = []
        monkeypatch.setattr("storage.search._walk", lambda *args: walks.append(1) or real_walk(*args))
        walked = [walk_pages(session, flt) for flt in filters]
        sqlite = session.get_bind().dialect.name == "sqlite"
    assert walked == plain
    assert bool(walks) == sqlite, "the walk is SQLite's alone"
    assert plain[0][2] == 16 and len(plain[0][0]) == 30
