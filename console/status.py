"""The server's status page and health check."""

from __future__ import annotations

import resource
from collections.abc import Callable
from dataclasses import asdict

from flask import Blueprint, Response, jsonify, render_template
from flask_login import login_required
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from ivr.menus import MenuRegistry
from speech.service import SpeechStatus
from storage.spool import Spool

SpeechProbe = Callable[[], SpeechStatus | None]


def status_blueprint(sessions: sessionmaker[Session], menus: MenuRegistry, spool: Spool,
                     public_base_url: str | None, speech: SpeechProbe = lambda: None) -> Blueprint:
    """`/` (Vietnamese status page with the webhook URLs, for logged-in users) and `/healthz` (JSON, public:
    load balancers ask it; 503 when the database is down)."""
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
                "max_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}
        return jsonify(body), 200 if database == "ok" else 503

    @bp.get("/")
    @login_required
    def index() -> str:
        return render_template("status.html", menu=menus.current(), public_base_url=public_base_url,
                               speech=speech())

    return bp
