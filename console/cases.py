"""Cases in the console: the list with filters and search, the case page, its status, notes and corrections.

Views parse the request and render; the queries and changes are storage.search and storage.cases.
A unit user sees only its own unit's cases (another unit's case is a 404); a leader only reads.
"""

from __future__ import annotations

import json
import unicodedata
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.datastructures import MultiDict

from console.auth import Console, requires
from console.web import LOCAL
from routing.gazetteer import Gazetteer, Ward
from storage.cases import (
    STATUS_LABELS,
    add_note,
    change_status,
    correct_case,
    corrected_cases,
    corrections_of,
    find_case,
    next_statuses,
    notes_of,
)
from storage.models import CASE_STATUSES, Case, Unit
from storage.search import COUNT_CAP, SORTS, CaseFilter, Cursor, count_cases, fold, page_cases

if TYPE_CHECKING:
    from app import Hotline

ALL_ROLES = ("admin", "supervisor", "unit", "leader")
EDITORS = ("admin", "supervisor", "unit")  # status and notes (a unit: of its own cases)
CORRECTORS = ("admin", "supervisor")
SORT_LABELS = {"newest": "Mới nhất trước", "oldest": "Cũ nhất trước", "deadline": "Hạn xử lý gần nhất"}
FIELD_LABELS = {"category": "Lĩnh vực", "ward": "Phường/xã", "unit": "Đơn vị xử lý"}
FILTER_KEYS = ("q", "status", "category", "ward", "unit", "from", "to", "caller", "sort")
MAX_NOTE = 4000
MAX_QUERY = 200


def cases_blueprint(console: Console, hotline: Hotline) -> Blueprint:
    """/cases, /cases/corrections.jsonl, /cases/<number> and the case page's three forms."""
    bp = Blueprint("cases", __name__, template_folder="templates")
    gazetteer = hotline.understander.gazetteer
    wards = WardNames(gazetteer)

    @bp.get("/cases", endpoint="list_cases")
    @requires(*ALL_ROLES)
    def list_cases_page() -> str:
        flt, errors = parse_filter(request.args, wards, hotline.catalog.categories)
        after, before = Cursor.parse(request.args.get("after")), Cursor.parse(request.args.get("before"))
        with console.sessions() as db:
            units = _units(db)
            if current_user.role != "unit" and flt.unit_code and flt.unit_code not in units:
                errors.append("Không có đơn vị này.")
            page = None if errors else page_cases(db, flt, after=after, before=None if after else before)
            total = None if errors else count_cases(db, flt, cap=COUNT_CAP)
            kept = {key: request.args[key] for key in FILTER_KEYS if request.args.get(key)}
            return render_template("cases.html", page=page, total=_count_text(total), errors=errors, args=kept,
                                   paged=bool(after or before), units=units, ward_names=wards.names,
                                   **_labels(hotline))

    @bp.get("/cases/corrections.jsonl")
    @requires(*CORRECTORS)
    def corrections_export() -> Response:
        with console.transaction() as db:
            lines = [json.dumps(training_example(case, gazetteer), ensure_ascii=False) for case in corrected_cases(db)]
            console.audit(db, "case.corrections_export", detail={"cases": len(lines)})
        return Response("".join(line + "\n" for line in lines), mimetype="application/x-ndjson",
                        headers={"Content-Disposition": 'attachment; filename="corrections.jsonl"'})

    @bp.get("/cases/<number>")
    @requires(*ALL_ROLES)
    def case_page(number: str) -> str:
        with console.sessions() as db:
            case = _visible_case(db, number)
            return render_template("case.html", case=case, events=list(case.events), notes=notes_of(db, case),
                                   corrections=corrections_of(db, case), units=_units(db),
                                   next_statuses=next_statuses(case), ward_names=wards.names,
                                   may_edit=current_user.role in EDITORS, may_correct=current_user.role in CORRECTORS,
                                   **_labels(hotline))

    @bp.post("/cases/<number>/status")
    @requires(*EDITORS)
    def change_case_status(number: str) -> Response:
        to_status = request.form.get("status", "")
        reason = request.form.get("reason", "").strip()[:MAX_NOTE] or None
        with console.transaction() as db:
            case = _visible_case(db, number, for_update=True)
            from_status = case.status
            if to_status not in next_statuses(case):
                flash(f"Không thể chuyển hồ sơ từ “{STATUS_LABELS[from_status]}” sang "
                      f"“{STATUS_LABELS.get(to_status, to_status)}”.", "error")
            elif to_status == "rejected" and reason is None:
                flash("Cần ghi lý do khi không thụ lý hồ sơ.", "error")
            else:
                change_status(db, case, to_status, actor=current_user.username, reason=reason, now=console.clock())
                console.audit(db, "case.status", target_type="case", target_id=case.number,
                              detail={"from": from_status, "to": to_status, "reason": reason})
                flash(f"Đã chuyển hồ sơ sang “{STATUS_LABELS[to_status]}”.", "ok")
        return redirect(url_for("cases.case_page", number=number))

    @bp.post("/cases/<number>/notes")
    @requires(*EDITORS)
    def add_case_note(number: str) -> Response:
        text = unicodedata.normalize("NFC", request.form.get("text", "")).strip()
        with console.transaction() as db:
            case = _visible_case(db, number)
            if not text or len(text) > MAX_NOTE:
                flash(f"Ghi chú cần có nội dung và không quá {MAX_NOTE} ký tự.", "error")
            else:
                note = add_note(db, case, author=current_user.username, text=text, now=console.clock())
                console.audit(db, "case.note", target_type="case", target_id=case.number, detail={"note_id": note.id})
                flash("Đã thêm ghi chú.", "ok")
        return redirect(url_for("cases.case_page", number=number) + "#notes")

    @bp.post("/cases/<number>/corrections")
    @requires(*CORRECTORS)
    def correct(number: str) -> Response:
        with console.transaction() as db:
            case = _visible_case(db, number, for_update=True)
            asked, error = _corrections_asked(db, request.form, wards, hotline.catalog.categories)
            if error:
                flash(error, "error")
                return redirect(url_for("cases.case_page", number=number) + "#corrections")
            unit_before = case.unit_code
            changed = correct_case(db, case, actor=current_user.username, now=console.clock(),
                                   route=hotline.service.route, **asked)
            if not changed:
                flash("Không có gì thay đổi.", "info")
            else:
                detail: dict[str, Any] = {c.field: [c.old_value, c.new_value] for c in changed}
                if case.unit_code != unit_before and "unit" not in detail:
                    detail["rerouted"] = [unit_before, case.unit_code]
                console.audit(db, "case.correct", target_type="case", target_id=case.number, detail=detail)
                flash("Đã lưu phần sửa.", "ok")
        return redirect(url_for("cases.case_page", number=number) + "#corrections")

    return bp


class WardNames:
    """Today's wards found by code, full name or name, with or without diacritics ("sai gon" is Sài Gòn)."""

    def __init__(self, gazetteer: Gazetteer) -> None:
        self.names = sorted(ward.full_name for ward in gazetteer.wards)
        self._exact: dict[str, Ward] = {}
        folded: dict[str, list[Ward]] = {}
        for ward in gazetteer.wards:
            for name in (ward.code, ward.full_name, ward.name):
                self._exact[unicodedata.normalize("NFC", name).casefold()] = ward
                folded.setdefault(fold(name), []).append(ward)
        self._folded = {key: found[0] for key, found in folded.items() if len(set(found)) == 1}

    def find(self, text: str) -> Ward | None:
        """The ward named, or None when unknown or when its folded spelling fits several wards."""
        key = " ".join(unicodedata.normalize("NFC", text).casefold().split())
        return self._exact.get(key) or self._folded.get(fold(text))


def parse_filter(args: MultiDict[str, str], wards: WardNames, categories: dict[str, Any]) -> tuple[CaseFilter, list[str]]:
    """The list's filter from query arguments, and what was wrong with them (in Vietnamese)."""
    errors: list[str] = []
    status, category = args.get("status") or None, args.get("category") or None
    if status and status not in CASE_STATUSES:
        errors.append("Trạng thái không hợp lệ.")
    if category and category not in categories:
        errors.append("Lĩnh vực không hợp lệ.")
    ward_code = None
    if ward_text := args.get("ward", "").strip():
        ward = wards.find(ward_text)
        ward_code = ward.code if ward else None
        if ward is None:
            errors.append(f"Không tìm thấy phường/xã “{ward_text}”.")
    created_from, created_before = _day(args.get("from"), errors), _day(args.get("to"), errors)
    if created_before is not None:
        created_before += timedelta(days=1)  # "to" is the last day shown
    if created_from and created_before and created_from >= created_before:
        errors.append("Ngày bắt đầu phải trước ngày kết thúc.")
    caller = args.get("caller", "").strip() or None
    if caller and not caller.lstrip("+").replace(" ", "").isdigit():
        errors.append("Số điện thoại chỉ gồm chữ số (có thể bắt đầu bằng +).")
    unit = current_user.unit_code if current_user.role == "unit" else args.get("unit") or None
    sort = args.get("sort") if args.get("sort") in SORTS else "newest"
    text = args.get("q", "").strip()[:MAX_QUERY] or None
    return CaseFilter(status=status, category=category, ward_code=ward_code, unit_code=unit,
                      created_from=created_from, created_before=created_before,
                      caller=caller.replace(" ", "") if caller else None, text=text, sort=sort), errors


def training_example(case: Case, gazetteer: Gazetteer) -> dict[str, Any]:
    """A corrected case in the format of the evaluation sets: id, text, category (a list) and ward name."""
    said = [case.description or ""]
    if case.address_text and fold(case.address_text) not in fold(case.description or ""):
        said.append(case.address_text)
    ward = gazetteer.ward(case.ward_code) if case.ward_code else None
    return {"id": case.number, "text": unicodedata.normalize("NFC", " ".join(p for p in said if p)),
            "category": [case.category] if case.category else [], "ward": ward.name if ward else case.ward}


def _visible_case(db: Session, number: str, *, for_update: bool = False) -> Case:
    """The case with this number if the current user may see it; a 404 otherwise (existence not disclosed)."""
    case = find_case(db, number, for_update=for_update)
    if case is None or (current_user.role == "unit" and case.unit_code != current_user.unit_code):
        abort(404)
    return case


def _corrections_asked(db: Session, form: MultiDict[str, str], wards: WardNames,
                       categories: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
    """correct_case's keyword arguments from the form, or an error message; empty fields change nothing."""
    category, ward_text, unit = form.get("category") or None, form.get("ward", "").strip(), form.get("unit") or None
    if category and category not in categories:
        return {}, "Lĩnh vực không hợp lệ."
    ward = wards.find(ward_text) if ward_text else None
    if ward_text and ward is None:
        return {}, f"Không tìm thấy phường/xã “{ward_text}”: hãy chọn một tên trong danh sách."
    if unit and db.get(Unit, unit) is None:
        return {}, "Không có đơn vị này."
    return {"category": category, "ward": (ward.full_name, ward.code) if ward else None, "unit_code": unit}, None


def _units(db: Session) -> dict[str, str]:
    """Unit names by code, in name order."""
    return dict(db.execute(select(Unit.code, Unit.name).order_by(Unit.name, Unit.code)).tuples().all())


def _labels(hotline: Hotline) -> dict[str, Any]:
    return {"status_labels": STATUS_LABELS, "sort_labels": SORT_LABELS, "field_labels": FIELD_LABELS,
            "categories": {code: entry.label for code, entry in hotline.catalog.categories.items()}}


def _day(value: str | None, errors: list[str]) -> datetime | None:
    """Local midnight at the start of a YYYY-MM-DD day."""
    if not value:
        return None
    try:
        return datetime.combine(date.fromisoformat(value), time(), LOCAL)
    except ValueError:
        errors.append(f"Ngày “{value}” không hợp lệ (dạng năm-tháng-ngày).")
        return None


def _count_text(total: int | None) -> str | None:
    if total is None:
        return None
    if total > COUNT_CAP:
        return f"Hơn {COUNT_CAP:,} hồ sơ".replace(",", ".")
    return f"{total:,} hồ sơ".replace(",", ".")
