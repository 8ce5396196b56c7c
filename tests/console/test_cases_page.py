"""The case page: fields, status changes, notes, corrections and their export, roles, CSRF, escaping, audit."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from storage.calls import open_call
from storage.models import AuditEvent, CaseCorrection, CaseEvent, CaseNote
from tests.console.cases_support import NOW, FileCase, Page, audits, case_filer, page, stored, unit_of
from tests.console.conftest import LogIn, csrf


@pytest.fixture
def file(console_app: Flask) -> FileCase:
    return case_filer(console_app)


def post(client: FlaskClient, number: str, what: str, **form: str) -> Page:
    """POST a case form with the page's CSRF token and follow the redirect back to the case page."""
    reply = client.post(f"/cases/{number}/{what}", data={"csrf_token": csrf(client, f"/cases/{number}"), **form},
                        follow_redirects=True)
    assert reply.status_code == 200, reply.status_code
    return Page(reply.get_data(as_text=True))


def counts(app: Flask) -> tuple[int, int, int, int]:
    """Events, notes, corrections and audit rows other than log-ins: what a refused POST must not change."""
    with app.extensions["hotline"].sessions() as db:
        return tuple(db.scalar(select(func.count()).select_from(model).where(*where)) or 0  # type: ignore[return-value]
                     for model, where in ((CaseEvent, ()), (CaseNote, ()), (CaseCorrection, ()),
                                          (AuditEvent, (AuditEvent.action.like("case.%"),))))


def test_the_page_shows_the_case(console_app: Flask, log_in: LogIn, file: FileCase) -> None:
    with console_app.extensions["hotline"].sessions.begin() as db:
        call, _ = open_call(db, sid="CA" + "7" * 32, from_number="+84901234567", to_number="1022", now=NOW,
                            menu_version_id=None, state={})
        call_id = call.id
    case = file(call_id=call_id, legacy_ward="Phường Bến Nghé", legacy_district="Quận 1", unit_code="CTY_THOATNUOC",
                deadline=NOW + timedelta(days=5))
    with console_app.extensions["hotline"].sessions.begin() as db:
        stored_case = db.merge(case)
        stored_case.suggestion = {"category": "CAYXANH", "ward": "Phường Bến Thành", "ward_code": "26743",
                                  "address": "5 Lê Lợi", "transcript": "cây đổ ở phường bến thành"}
    shown = page(log_in("lanhdao"), f"/cases/{case.number}")
    for text in (f"Hồ sơ {case.number}", "Mới tiếp nhận", "Ngập nước, thoát nước", "Phường Sài Gòn",
                 "Phường Bến Nghé, Quận 1", "12 Nguyễn Huệ", "Đường ngập sâu sau mưa", "+84901234567",
                 "Công ty TNHH MTV Thoát nước đô thị TP.HCM", "06/07/2025 09:30", "01/07/2025 09:30", "callbot",
                 "Gợi ý từ bản ghi lời nói", "Cây xanh", "cây đổ ở phường bến thành"):
        assert text in shown.text, text
    assert shown.links["call-link"] == f"/calls/{'CA' + '7' * 32}"
    assert shown.forms == ["/logout"], "a leader gets no forms"


def test_status_moves_along_the_lifecycle_only(console_app: Flask, log_in: LogIn, file: FileCase) -> None:
    case = file()
    client = log_in("giamsat")
    assert page(client, f"/cases/{case.number}").options["status"] == ["assigned", "in_progress", "incomplete",
                                                                       "rejected"]
    shown = post(client, case.number, "status", status="assigned", reason="Chuyển phường xử lý")
    assert shown.flashes == ["Đã chuyển hồ sơ sang “Đã chuyển đơn vị xử lý”."]
    assert shown.options["status"] == ["new", "in_progress", "resolved", "rejected"]
    before = counts(console_app)
    refused = post(client, case.number, "status", status="closed")
    assert refused.flashes == ["Không thể chuyển hồ sơ từ “Đã chuyển đơn vị xử lý” sang “Đã đóng”."]
    assert post(client, case.number, "status", status="rejected").flashes == ["Cần ghi lý do khi không thụ lý hồ sơ."]
    assert post(client, case.number, "status", status="nonsense").flashes[0].startswith("Không thể chuyển")
    assert counts(console_app) == before
    after = stored(console_app, case.number)
    assert after.status == "assigned"
    assert [(e.actor, e.from_status, e.to_status, e.reason) for e in after.events] == [
        ("callbot", None, "new", None), ("giamsat", "new", "assigned", "Chuyển phường xử lý")]
    [audit] = audits(console_app, "case.status")
    assert (audit.actor, audit.target_type, audit.target_id, audit.detail) == (
        "giamsat", "case", case.number, {"from": "new", "to": "assigned", "reason": "Chuyển phường xử lý"})


def test_a_closed_case_offers_no_status(console_app: Flask, log_in: LogIn, file: FileCase) -> None:
    case = file(status="incomplete")
    client = log_in("admin")
    shown = post(client, case.number, "status", status="closed")
    assert "status" not in shown.options and "Hồ sơ đã ở trạng thái cuối" in shown.text


def test_notes_are_added_in_order_and_escaped(console_app: Flask, log_in: LogIn, file: FileCase) -> None:
    case = file(unit_code=unit_of(console_app, "donvi"))
    post(log_in("giamsat"), case.number, "notes", text="Đã gọi lại cho người dân")
    shown = post(log_in("donvi"), case.number, "notes", text="<script>alert(1)</script> đã cử người")
    assert shown.flashes == ["Đã thêm ghi chú."]
    assert shown.text.index("Đã gọi lại cho người dân") < shown.text.index("<script>alert(1)</script> đã cử người")
    assert "<script>" not in shown.html and "&lt;script&gt;" in shown.html
    before = counts(console_app)
    assert post(log_in("admin"), case.number, "notes", text="   ").flashes == [
        "Ghi chú cần có nội dung và không quá 4000 ký tự."]
    assert counts(console_app) == before
    assert [(a.actor, a.target_id) for a in audits(console_app, "case.note")] == [
        ("giamsat", case.number), ("donvi", case.number)]


def test_corrections_keep_the_originals_reroute_and_refresh_search(console_app: Flask, log_in: LogIn,
                                                                    file: FileCase) -> None:
    route = console_app.extensions["hotline"].service.route
    case = file(unit_code="CTY_THOATNUOC")
    other = file(description="Không sửa")
    client = log_in("giamsat")
    assert page(client, "/cases", q="ben thanh").numbers == []
    shown = post(client, case.number, "corrections", category="TTDT", ward="ben thanh", unit="")
    assert shown.flashes == ["Đã lưu phần sửa."]
    rerouted = route("TTDT", "26743", NOW)[0]
    after = stored(console_app, case.number)
    assert (after.category, after.ward, after.ward_code, after.unit_code) == ("TTDT", "Phường Bến Thành", "26743",
                                                                              rerouted)
    with console_app.extensions["hotline"].sessions() as db:
        rows = db.scalars(select(CaseCorrection).order_by(CaseCorrection.id)).all()
    assert [(r.field, r.old_value, r.new_value, r.actor) for r in rows] == [
        ("category", "HT_NGAP", "TTDT", "giamsat"), ("ward", "Phường Sài Gòn", "Phường Bến Thành", "giamsat")]
    [audit] = audits(console_app, "case.correct")
    assert audit.target_id == case.number and audit.detail == {
        "category": ["HT_NGAP", "TTDT"], "ward": ["Phường Sài Gòn", "Phường Bến Thành"],
        "rerouted": ["CTY_THOATNUOC", rerouted]}
    assert "Ngập nước, thoát nước → Trật tự đô thị" in shown.text
    assert page(client, "/cases", q="ben thanh").numbers == [case.number]
    assert page(client, "/cases", ward="26743").numbers == [case.number]
    assert post(client, case.number, "corrections", category="TTDT", ward="Phường Bến Thành").flashes == [
        "Không có gì thay đổi."]
    post(client, case.number, "corrections", unit="SAWACO")
    post(client, case.number, "corrections", category="HT_NGAP")
    assert stored(console_app, case.number).unit_code == "SAWACO", "a unit chosen by a person stays"
    assert stored(console_app, other.number).category == "HT_NGAP"


@pytest.mark.parametrize(("form", "error"), [
    ({"ward": "Phường Không Có"}, "Không tìm thấy phường/xã “Phường Không Có”: hãy chọn một tên trong danh sách."),
    ({"category": "NOPE"}, "Lĩnh vực không hợp lệ."), ({"unit": "NOPE"}, "Không có đơn vị này."),
])
def test_bad_corrections_change_nothing(console_app: Flask, log_in: LogIn, file: FileCase, form: dict[str, str],
                                        error: str) -> None:
    case = file()
    client = log_in("admin")
    before = counts(console_app)
    assert post(client, case.number, "corrections", **{"category": "TTDT", **form}).flashes == [error]
    assert counts(console_app) == before and stored(console_app, case.number).category == "HT_NGAP"


def test_the_suggestion_can_be_applied(console_app: Flask, log_in: LogIn, file: FileCase) -> None:
    case = file()
    with console_app.extensions["hotline"].sessions.begin() as db:
        db.merge(case).suggestion = {"category": "CAYXANH", "ward_code": "26743", "ward": "Phường Bến Thành"}
    client = log_in("giamsat")
    assert f"/cases/{case.number}/corrections" in page(client, f"/cases/{case.number}").forms
    post(client, case.number, "corrections", category="CAYXANH", ward="26743")
    after = stored(console_app, case.number)
    assert (after.category, after.ward_code) == ("CAYXANH", "26743")


def test_the_corrections_export(console_app: Flask, log_in: LogIn, file: FileCase) -> None:
    corrected = file(description="Cây đổ chắn đường", address_text="5 Lê Lợi")
    moved = file(description="Nước ngập ở 12 Nguyễn Huệ", address_text="12 Nguyễn Huệ", ward=None, ward_code=None)
    file(description="Không ai sửa")
    client = log_in("giamsat")
    post(client, corrected.number, "corrections", category="CAYXANH")
    post(client, moved.number, "corrections", ward="Phường Bến Thành")
    reply = client.get("/cases/corrections.jsonl")
    assert reply.status_code == 200 and reply.mimetype == "application/x-ndjson"
    assert reply.headers["Content-Disposition"] == 'attachment; filename="corrections.jsonl"'
    lines = [json.loads(line) for line in reply.get_data(as_text=True).splitlines()]
    assert lines == [
        {"id": corrected.number, "text": "Cây đổ chắn đường 5 Lê Lợi", "category": ["CAYXANH"], "ward": "Sài Gòn"},
        {"id": moved.number, "text": "Nước ngập ở 12 Nguyễn Huệ", "category": ["HT_NGAP"], "ward": "Bến Thành"},
    ]
    assert [a.detail for a in audits(console_app, "case.corrections_export")] == [{"cases": 2}]
    for name in ("lanhdao", "donvi"):
        assert log_in(name).get("/cases/corrections.jsonl").status_code == 403


def test_a_unit_changes_status_and_notes_of_its_own_cases_only(console_app: Flask, log_in: LogIn,
                                                               file: FileCase) -> None:
    mine = file(unit_code=unit_of(console_app, "donvi"))
    theirs = file(unit_code=unit_of(console_app, "donvi2"))
    client = log_in("donvi")
    shown = page(client, f"/cases/{mine.number}")
    assert shown.forms == ["/logout", f"/cases/{mine.number}/status", f"/cases/{mine.number}/notes"]
    assert post(client, mine.number, "status", status="in_progress").flashes == ["Đã chuyển hồ sơ sang “Đang xử lý”."]
    token = csrf(client, f"/cases/{mine.number}")
    before = counts(console_app)
    for what, form in (("status", {"status": "assigned"}), ("notes", {"text": "x"})):
        assert client.post(f"/cases/{theirs.number}/{what}", data={"csrf_token": token, **form}).status_code == 404
    assert client.post(f"/cases/{mine.number}/corrections", data={"csrf_token": token, "category": "TTDT"}
                       ).status_code == 403
    assert counts(console_app) == before and stored(console_app, theirs.number).status == "new"


def test_a_leader_only_reads(console_app: Flask, log_in: LogIn, file: FileCase) -> None:
    case = file()
    client = log_in("lanhdao")
    token = csrf(client, f"/cases/{case.number}")
    before = counts(console_app)
    for what, form in (("status", {"status": "assigned"}), ("notes", {"text": "x"}),
                       ("corrections", {"category": "TTDT"})):
        reply = client.post(f"/cases/{case.number}/{what}", data={"csrf_token": token, **form})
        assert reply.status_code == 403 and "Không có quyền truy cập" in reply.get_data(as_text=True)
    assert counts(console_app) == before and stored(console_app, case.number).status == "new"


@pytest.mark.parametrize("token", [None, "", "forged-token", "IjEyMyI.aaaa.bbbb"])
@pytest.mark.parametrize(("what", "form"), [("status", {"status": "assigned"}), ("notes", {"text": "x"}),
                                            ("corrections", {"category": "TTDT"})])
def test_posts_without_a_valid_csrf_token_are_refused(console_app: Flask, log_in: LogIn, file: FileCase,
                                                      token: str | None, what: str, form: dict[str, str]) -> None:
    case = file()
    client = log_in("admin")
    before = counts(console_app)
    data = form if token is None else {"csrf_token": token, **form}
    reply = client.post(f"/cases/{case.number}/{what}", data=data)
    assert reply.status_code == 400 and "Phiên làm việc không hợp lệ" in reply.get_data(as_text=True)
    assert counts(console_app) == before
    assert (stored(console_app, case.number).status, stored(console_app, case.number).category) == ("new", "HT_NGAP")


def test_markup_in_a_case_is_escaped(log_in: LogIn, file: FileCase) -> None:
    case = file(description="<script>alert(1)</script>", address_text="<img src=x onerror=alert(2)>",
                caller_number="<b>1</b>")
    html = log_in("admin").get(f"/cases/{case.number}").get_data(as_text=True)
    assert "<script>alert" not in html and "<img src=x" not in html and "<b>1</b>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_unknown_and_malformed_numbers_are_not_found(log_in: LogIn, file: FileCase) -> None:
    case = file()
    client = log_in("admin")
    for number in (case.number[:-1] + str((int(case.number[-1]) + 1) % 10), "abc", "0", "9" * 30):
        assert client.get(f"/cases/{number}").status_code == 404
    token = csrf(client, f"/cases/{case.number}")
    assert client.post("/cases/99999/notes", data={"csrf_token": token, "text": "x"}).status_code == 404
