"""The console's wiring: authentication, then one blueprint per concern (cases, calls, config, audit)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from flask import Blueprint, Flask, Response

from config.settings import TIMEZONE
from console.auth import Console, install_auth, secret_key

if TYPE_CHECKING:
    from app import Hotline

LOCAL = ZoneInfo(TIMEZONE)
# Scripts only from our own files (static/replay.js; no template has inline script or on… handlers), so
# markup that slipped past escaping could not run. Styles allow inline for the status page's <style>.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
                               "img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; "
                               "frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}


def local_time(value: datetime | None, with_seconds: bool = False) -> str:
    """A stored UTC time as Hồ Chí Minh City time, the way people there write it."""
    if value is None:
        return ""
    return value.astimezone(LOCAL).strftime("%d/%m/%Y %H:%M:%S" if with_seconds else "%d/%m/%Y %H:%M")


def _security_headers(response: Response) -> Response:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    return response


def register_console(app: Flask, hotline: Hotline, *, csrf_exempt: tuple[Blueprint, ...]) -> Console:
    """Add the console to app; csrf_exempt are the blueprints Twilio posts to."""
    from console.audit_log import audit_blueprint
    from console.calls import calls_blueprint
    from console.cases import cases_blueprint
    from console.config_editor import config_blueprint

    settings = hotline.settings
    app.config["SECRET_KEY"] = secret_key(settings.secret_key, settings.data_dir)
    app.add_template_filter(local_time)
    app.after_request(_security_headers)
    console = Console(hotline.sessions, hotline.service.clock)
    secure = (settings.public_base_url or "").startswith("https://")
    app.register_blueprint(install_auth(app, console, session_hours=settings.session_hours, secure_cookies=secure,
                                        rate_limit_storage=settings.rate_limit_storage, csrf_exempt=csrf_exempt))
    app.register_blueprint(Blueprint("console_static", __name__, static_folder="static",
                                     static_url_path="/console/static"))
    app.register_blueprint(cases_blueprint(console, hotline))
    app.register_blueprint(calls_blueprint(console, hotline))
    app.register_blueprint(config_blueprint(console, hotline))
    app.register_blueprint(audit_blueprint(console))
    return console
