"""The YAML editor for admins: menus, categories and units; check, compare, publish, versions, roll back.

Every action goes through ConfigService (console/config_service.py), as the `hotline config` commands do.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from config.problems import ConfigProblem
from console.auth import Console, requires
from console.config_files import FILES, MAX_SUBMISSION_BYTES, Checked, DiffLine, UnknownFile
from console.config_service import ConfigService, PublishRefused, UnknownVersion

if TYPE_CHECKING:
    from app import Hotline

NEW_LINES = 5
"""Empty numbered lines below the text, room to type without a script to renumber."""


def config_blueprint(console: Console, hotline: Hotline) -> Blueprint:
    bp = Blueprint("config_editor", __name__, template_folder="templates")
    service: ConfigService = hotline.config_service

    @bp.get("/admin/config")
    @requires("admin")
    def index() -> str:
        return render_template("config_index.html", files=[service.live(file) for file in FILES])

    @bp.get("/admin/config/<path:file>")
    @requires("admin")
    def edit(file: str) -> str:
        _known(service, file)
        return _editor(service, file, service.files.read(file))

    @bp.post("/admin/config/<path:file>")
    @requires("admin")
    def act(file: str) -> str | Response | tuple[str, int]:
        _known(service, file)
        content = request.form.get("content", "")
        comment = request.form.get("comment", "")
        action = request.form.get("action", "validate")
        if len(content.encode("utf-8")) > MAX_SUBMISSION_BYTES:
            flash(f"Nội dung vượt quá giới hạn {MAX_SUBMISSION_BYTES // 1024} KB nên không được kiểm tra "
                  "hay xuất bản. Tệp cấu hình thường chỉ vài chục KB.", "error")
            return _editor(service, file, service.files.read(file), comment=comment), 413
        if action == "diff":
            return _editor(service, file, content, comment=comment, diff=service.diff(file, content))
        if action != "publish":
            checked = service.check(file, content)
            if checked.ok:
                flash("Không có lỗi: máy chủ nạp được nội dung này.", "ok")
            return _editor(service, file, content, comment=comment, checked=checked)
        try:
            publication = service.publish(file, content, author=current_user.username, comment=comment,
                                          remote_addr=request.remote_addr)
        except PublishRefused as refused:
            flash(refused.message, "error")
            return _editor(service, file, content, comment=comment, checked=Checked(refused.problems)), 422
        flash(f"Đã xuất bản {file} (phiên bản {publication.version_id}, mã {publication.sha256[:12]}).", "ok")
        return redirect(url_for("config_editor.edit", file=file))

    @bp.get("/admin/config/<path:file>/versions")
    @requires("admin")
    def versions(file: str) -> str:
        _known(service, file)
        return render_template("config_versions.html", file=file, live=service.live(file),
                               publications=service.versions(file))

    @bp.get("/admin/config/<path:file>/versions/<int:version_id>")
    @requires("admin")
    def version(file: str, version_id: int) -> str:
        _known(service, file)
        try:
            shown = service.version(file, version_id)
        except UnknownVersion:
            abort(404)
        return render_template("config_version.html", file=file, version=shown, gutter=_gutter(shown.content, {}))

    @bp.post("/admin/config/<path:file>/versions/<int:version_id>/rollback")
    @requires("admin")
    def rollback(file: str, version_id: int) -> Response | tuple[str, int]:
        _known(service, file)
        try:
            publication = service.rollback(file, version_id, author=current_user.username,
                                           reason=request.form.get("reason"), remote_addr=request.remote_addr)
        except UnknownVersion:
            abort(404)
        except PublishRefused as refused:
            flash(refused.message, "error")
            if not refused.problems:
                return redirect(url_for("config_editor.versions", file=file))
            checked = Checked(refused.problems)
            return _editor(service, file, service.version(file, version_id).content, checked=checked), 422
        flash(f"Đã khôi phục phiên bản {version_id} của {file} (lần xuất bản {publication.id}).", "ok")
        return redirect(url_for("config_editor.versions", file=file))

    return bp


def _known(service: ConfigService, file: str) -> None:
    """404 for anything but the editable files: no `..`, no absolute paths, no other names."""
    try:
        service.files.path(file)
    except UnknownFile:
        abort(404)


def _editor(service: ConfigService, file: str, content: str, *, comment: str = "", checked: Checked | None = None,
            diff: list[DiffLine] | None = None) -> str:
    marks = checked.lines(file) if checked else {}
    problems = [_problem_text(problem, file) for problem in checked.problems] if checked else []
    return render_template("config_edit.html", file=file, live=service.live(file), content=content,
                           comment=comment, problems=problems, gutter=_gutter(content, marks), diff=diff)


def _gutter(content: str, marks: dict[int, list[str]]) -> list[tuple[int, str | None]]:
    """Line numbers for the editor, each with its problems (joined) or None."""
    count = content.count("\n") + 1 + NEW_LINES
    return [(n, "; ".join(marks[n]) if n in marks else None) for n in range(1, count + 1)]


def _problem_text(problem: ConfigProblem, file: str) -> str:
    """`dòng 14: nodes.report.options[2].next: 'lights' is not a node`, naming the file when it is another."""
    where = f"dòng {problem.line}" if problem.line is not None else "toàn tệp"
    if problem.file != file:
        where = f"{problem.file}, {where}"
    return f"{where}: {problem.path}: {problem.message}" if problem.path else f"{where}: {problem.message}"
