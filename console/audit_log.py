"""The audit log page (admins): who opened which recording, who changed what."""

from __future__ import annotations

from flask import Blueprint, render_template, request

from console.auth import Console, requires
from storage import audit


def audit_blueprint(console: Console) -> Blueprint:
    bp = Blueprint("audit", __name__, template_folder="templates")

    @bp.get("/admin/audit")
    @requires("admin")
    def index() -> str:
        target_type = request.args.get("target_type") or None
        target_id = request.args.get("target_id") or None
        with console.sessions() as db:
            events = audit.recent(db, limit=500, target_type=target_type, target_id=target_id)
            return render_template("audit.html", events=events, target_type=target_type, target_id=target_id)

    return bp
