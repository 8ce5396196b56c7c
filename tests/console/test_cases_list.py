"""The case list: filters, free-text search, keyset pages, counting, who sees what, escaping."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from flask import Flask

from storage.cases import file_case
from tests.console.cases_support import LOCAL, NOW, FileCase, case_filer, page, unit_of
from tests.console.conftest import LogIn


@pytest.fixture
def file(console_app: Flask) -> FileCase:
    return case_filer(console_app)


def test_the_list_shows_cases_newest_first_with_vietnamese_labels(log_in: LogIn, file: FileCase) -> None:
    older = file(now=NOW - timedelta(days=1))
    newer = file(category="CAYXANH", description="Cây đổ chắn đường", status="incomplete",
                 deadline=NOW + timedelta(days=3))
    listed = page(log_in("giamsat"), "/cases")
    assert listed.numbers == [newer.number, older.number]
    for shown in ("Chưa đầy đủ thông tin", "Mới tiếp nhận", "Cây xanh", "Ngập nước, thoát nước", "Phường Sài Gòn",
                  "04/07/2025 09:30", "2 hồ sơ"):
        assert shown in listed.text
    assert listed.links == {} and "/cases/" + newer.number in listed.html


def test_each_filter_narrows_the_list(console_app: Flask, log_in: LogIn, file: FileCase) -> None:
    unit = unit_of(console_app, "donvi")
    case = {
        "plain": file(), "status": file(status="incomplete"),
        "category": file(category="CAYXANH", description="Cây đổ"),
        "ward": file(ward="Phường Bến Thành", ward_code="26743"), "unit": file(unit_code=unit),
        "old": file(now=NOW - timedelta(days=10)), "caller": file(caller_number="+84911222333"),
        "midnight": file(now=datetime(2025, 7, 1, 0, 30, tzinfo=LOCAL)),  # 30 June 17:30 UTC
    }
    client = log_in("giamsat")
    everyone = set(case) - {"old"}
    for query, expected in [
        ({"status": "incomplete"}, {"status"}), ({"category": "CAYXANH"}, {"category"}),
        ({"ward": "Phường Bến Thành"}, {"ward"}), ({"ward": "ben thanh"}, {"ward"}), ({"ward": "26743"}, {"ward"}),
        ({"unit": unit}, {"unit"}), ({"caller": "0911222333"}, {"caller"}), ({"caller": "+84 911 222 333"}, {"caller"}),
        ({"to": "2025-06-30"}, {"old"}), ({"from": "2025-07-01"}, everyone),
        ({"from": "2025-06-21", "to": "2025-06-21"}, {"old"}), ({"from": "2025-06-22", "to": "2025-06-30"}, set()),
        ({"ward": "Sài Gòn", "category": "HT_NGAP", "status": "new", "from": "2025-07-01", "caller": "0901234567"},
         everyone - {"status", "category", "ward", "caller"}),
    ]:
        listed = page(client, "/cases", **query)
        assert set(listed.numbers) == {case[name].number for name in expected}, query
        assert listed.flashes == []


@pytest.mark.parametrize(("query", "error"), [
    ({"ward": "Phường Không Có"}, "Không tìm thấy phường/xã “Phường Không Có”."),
    ({"from": "2025-13-01"}, "Ngày “2025-13-01” không hợp lệ (dạng năm-tháng-ngày)."),
    ({"from": "2025-07-02", "to": "2025-07-01"}, "Ngày bắt đầu phải trước ngày kết thúc."),
    ({"status": "open"}, "Trạng thái không hợp lệ."), ({"category": "NOPE"}, "Lĩnh vực không hợp lệ."),
    ({"caller": "abc"}, "Số điện thoại chỉ gồm chữ số (có thể bắt đầu bằng +)."),
    ({"unit": "NOPE"}, "Không có đơn vị này."),
])
def test_a_bad_filter_says_why_and_lists_nothing(log_in: LogIn, file: FileCase, query: dict[str, str],
                                                 error: str) -> None:
    file()
    listed = page(log_in("giamsat"), "/cases", **query)
    assert listed.flashes == [error] and listed.numbers == []


def test_free_text_ignores_diacritics_and_finds_numbers_and_callers(log_in: LogIn, file: FileCase) -> None:
    flood = file(description="Nước ngập tới đầu gối ở hẻm 42")
    tree = file(description="Cây đổ chắn lối đi", caller_number="+84911222333", address_text="Lê Lợi")
    client = log_in("lanhdao")
    for query, expected in [("ngap", [flood]), ("NGẬP", [flood]), ("ngập hẻm", [flood]), ("hem 42", [flood]),
                            ("cay do", [tree]), ("Cây đổ", [tree]), ("le loi", [tree]), ("ngap loi", []),
                            (flood.number, [flood]), ("0911222333", [tree]), ("+84911222333", [tree]),
                            ("0901234567", [flood]), ('"ngap*" OR', []), ("ngap:* | cay", [])]:
        assert page(client, "/cases", q=query).numbers == [c.number for c in expected], query


def test_keyset_pages_forward_and_back_without_gaps_or_repeats(console_app: Flask, log_in: LogIn) -> None:
    with console_app.extensions["hotline"].sessions.begin() as db:
        numbers = [file_case(db, call_id=None, caller_number="+84901234567", status="new", category="HT_NGAP",
                             description=f"Phản ánh số {i}", address_text=None, unit_code=None, deadline=None,
                             now=NOW + timedelta(minutes=i // 3)).number for i in range(120)]
    client = log_in("giamsat")
    pages = [page(client, "/cases")]
    while "next" in pages[-1].links:
        pages.append(page(client, pages[-1].links["next"]))
    assert [len(p.numbers) for p in pages] == [50, 50, 20]
    assert "prev" not in pages[0].links and all("prev" in p.links for p in pages[1:])
    walked = [n for p in pages for n in p.numbers]
    assert walked == numbers[::-1], "newest first; ties on created_at in id order"
    assert page(client, pages[2].links["prev"]).numbers == pages[1].numbers
    assert page(client, pages[1].links["prev"]).numbers == pages[0].numbers
    assert all(p.text.count("120 hồ sơ") == 1 for p in pages)


def test_filters_are_kept_across_pages(console_app: Flask, log_in: LogIn) -> None:
    with console_app.extensions["hotline"].sessions.begin() as db:
        for i in range(120):
            file_case(db, call_id=None, caller_number=None, status="incomplete" if i % 2 else "new", category=None,
                      description=None, address_text=None, unit_code=None, deadline=None, now=NOW + timedelta(seconds=i))
    client = log_in("giamsat")
    first = page(client, "/cases", status="new", sort="oldest")
    assert "status=new" in first.links["next"] and "sort=oldest" in first.links["next"]
    second = page(client, first.links["next"])
    assert len(first.numbers) == 50 and len(second.numbers) == 10 and "60 hồ sơ" in second.text
    assert int(first.numbers[0]) < int(first.numbers[-1]) < int(second.numbers[0])
    assert "status=new" in second.links["prev"] and "first" in second.links


def test_the_count_stops_at_its_cap(log_in: LogIn, file: FileCase, monkeypatch: pytest.MonkeyPatch) -> None:
    for _ in range(5):
        file()
    client = log_in("giamsat")
    monkeypatch.setattr("console.cases.COUNT_CAP", 3)
    assert "Hơn 3 hồ sơ" in page(client, "/cases").text
    monkeypatch.setattr("console.cases.COUNT_CAP", 5)
    assert "5 hồ sơ" in page(client, "/cases").text and "Hơn" not in page(client, "/cases").text


def test_a_unit_sees_only_its_own_cases(console_app: Flask, log_in: LogIn, file: FileCase) -> None:
    mine = file(unit_code=unit_of(console_app, "donvi"))
    theirs = file(unit_code=unit_of(console_app, "donvi2"))
    nobody = file()
    client = log_in("donvi")
    assert page(client, "/cases").numbers == [mine.number]
    assert page(client, "/cases", unit=unit_of(console_app, "donvi2")).numbers == [mine.number]
    assert page(client, "/cases", q=theirs.number).numbers == []
    for number in (theirs.number, nobody.number):
        reply = client.get(f"/cases/{number}")
        assert reply.status_code == 404 and "Không tìm thấy" in reply.get_data(as_text=True)
    assert client.get(f"/cases/{mine.number}").status_code == 200
    assert "unit" not in page(client, "/cases").options
    assert set(page(log_in("lanhdao"), "/cases").numbers) == {mine.number, theirs.number, nobody.number}


def test_markup_in_cases_and_queries_is_escaped(log_in: LogIn, file: FileCase) -> None:
    file(description="<script>alert(1)</script> ngập", address_text="<b>12</b>")
    client = log_in("giamsat")
    for query in ({}, {"q": "<script>alert(2)</script>"}, {"ward": "<script>alert(3)</script>"}, {"q": "script"}):
        html = client.get("/cases", query_string=query).get_data(as_text=True)
        assert "<script>" not in html and "<b>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in client.get("/cases").get_data(as_text=True)
