"""Log-in, sessions, roles, CSRF and the audit log for the console.

Flask-Login keeps the user in the signed session cookie, Flask-WTF checks a CSRF token on every
POST of the console, Flask-Limiter slows password guessing. Roles: admin, supervisor, unit (only
its own unit's cases), leader (read-only across the city).
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Flask,
    abort,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager, current_user, login_required, login_user, logout_user
from flask_wtf.csrf import CSRFError, CSRFProtect
from sqlalchemy.orm import Session, sessionmaker
from werkzeug.security import check_password_hash, generate_password_hash
from werkzeug.wrappers import Response

from storage import audit
from storage import users as user_store
from storage.models import User

F = TypeVar("F", bound=Callable[..., Any])

ROLE_LABELS = {"admin": "Quản trị", "supervisor": "Giám sát tổng đài", "unit": "Đơn vị xử lý",
               "leader": "Lãnh đạo"}
USER_LIMITS = "5 per minute;20 per hour"  # failed log-ins per user name
ADDRESS_LIMITS = "30 per minute;200 per hour"  # failed log-ins per address (a call centre shares one NAT)
# The session cookie is signed, not stored: a copy taken before log-out would stay valid until it expires. Each
# log-in gets a random id kept in the cookie, and log-out records it in the audit log, which ends it everywhere.
SESSION_ID = "hotline_session"
# Checked against a throwaway hash when the user does not exist, so timing does not reveal names.
_DUMMY_HASH = generate_password_hash(secrets.token_hex(16))


@dataclass(frozen=True)
class ConsoleUser:
    """The logged-in person as the views see it (a detached snapshot of the users row)."""

    id: int
    username: str
    role: str
    unit_code: str | None
    active: bool

    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        return str(self.id)

    @property
    def role_label(self) -> str:
        return ROLE_LABELS.get(self.role, self.role)

    @classmethod
    def of(cls, user: User) -> ConsoleUser:
        return cls(user.id, user.username, user.role, user.unit_code, user.active)


def hash_password(password: str) -> str:
    """A salted scrypt hash (werkzeug.security)."""
    return generate_password_hash(password)


def secret_key(configured: str | None, data_dir: Path) -> str:
    """HOTLINE_SECRET_KEY, else a random key made once and kept in the data directory (mode 0600)."""
    if configured:
        return configured
    path = data_dir / "secret_key"
    try:
        return path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        pass
    key = secrets.token_hex(32)
    data_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(key)
    return key


class Console:
    """Shared console plumbing: the database, the clock, and auditing inside a transaction."""

    def __init__(self, sessions: sessionmaker[Session], clock: Callable[[], datetime]) -> None:
        self.sessions = sessions
        self.clock = clock

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """One write transaction; render templates after it, not inside (SQLite: one writer at a time)."""
        with self.sessions.begin() as db:
            yield db

    def audit(self, db: Session, action: str, *, target_type: str | None = None, target_id: str | None = None,
              detail: dict[str, Any] | None = None, actor: str | None = None) -> None:
        """Append an audit event for the current user (or actor) and request."""
        who = actor or (current_user.username if current_user.is_authenticated else "anonymous")
        audit.record(db, actor=who, action=action, now=self.clock(), target_type=target_type,
                     target_id=target_id, detail=detail, remote_addr=request.remote_addr)


def requires(*roles: str) -> Callable[[F], F]:
    """Log-in required, and one of roles (403 otherwise)."""

    def decorate(view: F) -> F:
        @wraps(view)
        @login_required
        def guarded(*args: Any, **kwargs: Any) -> Any:
            if current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        return guarded  # type: ignore[return-value]

    return decorate


def install_auth(app: Flask, console: Console, *, session_hours: int, secure_cookies: bool,
                 rate_limit_storage: str, csrf_exempt: tuple[Blueprint, ...] = ()) -> Blueprint:
    """Sessions, CSRF and rate limits on app; returns the /login and /logout blueprint.

    csrf_exempt: blueprints whose POSTs are authenticated otherwise (Twilio's signed webhooks).
    """
    app.config.update(
        PERMANENT_SESSION_LIFETIME=timedelta(hours=session_hours),
        SESSION_REFRESH_EACH_REQUEST=True,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=secure_cookies,
        REMEMBER_COOKIE_HTTPONLY=True,
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the session
    )
    csrf = CSRFProtect(app)
    for blueprint in csrf_exempt:
        csrf.exempt(blueprint)
    limiter = Limiter(get_remote_address, app=app, storage_uri=rate_limit_storage, default_limits=[],
                      strategy="fixed-window")
    manager = LoginManager(app)
    manager.login_view = "auth.login"
    manager.login_message = "Vui lòng đăng nhập để tiếp tục."
    manager.session_protection = "strong"

    @manager.user_loader
    def load_user(user_id: str) -> ConsoleUser | None:
        session_id = session.get(SESSION_ID)
        if not user_id.isdigit() or not isinstance(session_id, str):
            return None
        with console.sessions() as db:
            user = db.get(User, int(user_id))
            if user is None or not user.active or audit.session_ended(db, session_id):
                return None
            return ConsoleUser.of(user)

    @app.before_request
    def load_user_first() -> None:
        # Load the user before the view opens its transaction: on SQLite every transaction takes the
        # writer lock, so a template touching current_user inside one would wait on itself.
        _ = current_user.is_authenticated

    @app.before_request
    def refuse_nul() -> None:
        # Nobody types NUL, and PostgreSQL refuses it in text: a 400 here, not a 500 from the first query.
        # Twilio's webhooks are left to their signature check (and the store fits what they send); a request
        # no view takes (a 404, a redirect merging slashes) is left unread, as Flask-WTF leaves it.
        if not request.endpoint or request.blueprint == "twilio" or request.endpoint.endswith("twilio_media"):
            return
        if "\x00" in request.path or any("\x00" in value for _, value in request.values.items(multi=True)):
            abort(400)

    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError) -> tuple[str, int]:
        return render_template("error.html", title="Phiên làm việc không hợp lệ",
                               message="Biểu mẫu đã hết hạn hoặc không hợp lệ. Vui lòng tải lại trang và thử lại."), 400

    @app.errorhandler(403)
    def forbidden(error: Exception) -> tuple[str, int]:
        return render_template("error.html", title="Không có quyền truy cập",
                               message="Tài khoản của quý vị không có quyền xem trang này."), 403

    @app.errorhandler(404)
    def not_found(error: Exception) -> tuple[str, int]:
        return render_template("error.html", title="Không tìm thấy",
                               message="Không có trang hoặc hồ sơ này."), 404

    @app.errorhandler(413)
    def too_large(error: Exception) -> tuple[str, int]:
        return render_template("error.html", title="Nội dung quá lớn",
                               message="Nội dung gửi lên vượt quá giới hạn cho phép."), 413

    @app.errorhandler(429)
    def too_many(error: Exception) -> tuple[str, int]:
        return render_template("error.html", title="Quá nhiều lần thử",
                               message="Quý vị đã thử đăng nhập quá nhiều lần. Vui lòng đợi một lát rồi thử lại."), 429

    bp = Blueprint("auth", __name__, template_folder="templates")

    @bp.route("/login", methods=["GET", "POST"])
    @limiter.limit(ADDRESS_LIMITS, methods=["POST"], deduct_when=_failed)
    @limiter.limit(USER_LIMITS, methods=["POST"], deduct_when=_failed,
                   key_func=lambda: "user:" + request.form.get("username", "").strip().lower())
    def login() -> str | Response:
        if request.method == "GET":
            return render_template("login.html", next=request.args.get("next", ""))
        username = request.form.get("username", "").strip()
        password = request.form.get("password", "")
        snapshot: ConsoleUser | None = None
        with console.transaction() as db:
            user = user_store.find_user(db, username)
            valid = check_password_hash(user.password_hash if user else _DUMMY_HASH, password)
            if user is None or not valid or not user.active:
                console.audit(db, "login.failed", actor=username[:255] or "anonymous",
                              detail={"reason": "inactive" if user and valid else "bad credentials"})
            else:
                user.last_login_at = console.clock()
                console.audit(db, "login", actor=user.username)
                snapshot = ConsoleUser.of(user)
        if snapshot is None:
            flash("Tên đăng nhập hoặc mật khẩu không đúng.", "error")
            return render_template("login.html", next=request.form.get("next", ""), username=username), 401
        session.clear()  # a new session (and CSRF token): whatever cookie the browser had before stays anonymous
        session.permanent = True
        session[SESSION_ID] = secrets.token_urlsafe(24)
        login_user(snapshot)
        return redirect(_safe_next(request.form.get("next")) or url_for("cases.list_cases"))

    @bp.post("/logout")
    @login_required
    def logout() -> Response:
        with console.transaction() as db:
            console.audit(db, "logout", target_type="session", target_id=session.get(SESSION_ID))
        logout_user()
        session.clear()
        flash("Đã đăng xuất.", "info")
        return redirect(url_for("auth.login"))

    return bp


def _failed(response: Response) -> bool:
    """Only failed log-ins count against the limits."""
    return response.status_code != 302


def _safe_next(target: str | None) -> str | None:
    """A local path to go back to after log-in; anything pointing elsewhere is dropped."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target
