"""The server's status page, health check and readiness check."""

from __future__ import annotations

import os
import resource
from collections.abc import Callable
from dataclasses import asdict

from flask import Blueprint, Response, jsonify, render_template
from flask_login import login_required
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from ivr.menus import MenuRegistry
from observability.readiness import Check
from speech.service import SpeechStatus
from storage.spool import Spool

SpeechProbe = Callable[[], SpeechStatus | None]
ReadinessChecks = Callable[[], dict[str, Check]]


def status_blueprint(sessions: sessionmaker[Session], menus: MenuRegistry, spool: Spool,
                     public_base_url: str | None, speech: SpeechProbe = lambda: None,
                     readiness: ReadinessChecks = dict) -> Blueprint:
    """`/` (Vietnamese status page with the webhook URLs, for logged-in users), `/healthz` (JSON, public:
    load balancers ask it; 503 when the database is down) and `/readyz` (JSON, public: 503 naming each
    failed check while the server cannot take calls)."""
    bp = Blueprint("status", __name__, template_folder="templates")

    @bp.get("/healthz")
    def health() -> tuple[Response, int]:
        try:
            with sessions() as session:
                session.execute(text("SELECT 1"))
            database = "ok"
        except SQLAlchemyError:
            database = "unavailable"
        status = speech()
        body = {"database": database, "menu_version": menus.current().version, "spooled": spool.pending(),
                "speech": asdict(status) if status else None,
                "max_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
                "pid": os.getpid()}  # which worker answered: each has its own model and memory
        return jsonify(body), 200 if database == "ok" else 503

    @bp.get("/readyz")
    def ready() -> tuple[Response, int]:
        checks = readiness()
        ok = all(check.ok for check in checks.values())
        body = {"ready": ok, "checks": {name: check.as_dict() for name, check in checks.items()},
                "failed": [check.detail for check in checks.values() if not check.ok]}
        return jsonify(body), 200 if ok else 503

    @bp.get("/")
    @login_required
    def index() -> str:
        return render_template("status.html", menu=menus.current(), public_base_url=public_base_url,
                               speech=speech())

    return bp
