"""Call replay in the console: the call's recordings beside its transcript, and the audio itself."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from flask import Blueprint, abort, render_template, request, send_file
from flask_login import current_user
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from console.auth import Console, requires
from storage.models import AuditEvent, Call, Recording

if TYPE_CHECKING:
    from app import Hotline

ALL_ROLES = ("admin", "supervisor", "unit", "leader")
LOW_CONFIDENCE = 0.6
# A browser reads one recording in several range requests and re-reads it when the page is reloaded:
# one audit row per user, recording and window is the open that matters.
OPEN_AUDIT_WINDOW = timedelta(minutes=2)
SPEAKERS = {"caller": "Người gọi", "bot": "Tổng đài"}
PURPOSES = {"call": "Ghi âm cuộc gọi (trái: người gọi, phải: tổng đài)", "description": "Nội dung phản ánh",
            "location": "Địa điểm", "message": "Lời nhắn"}
OUTCOMES = {"case_filed": "Đã lập hồ sơ", "incomplete_case": "Hồ sơ thiếu thông tin", "no_case": "Không lập hồ sơ"}
RECORDING_STATES = {"pending": "chưa tải về", "failed": "không tải về được"}


def calls_blueprint(console: Console, hotline: Hotline) -> Blueprint:
    bp = Blueprint("calls", __name__, template_folder="templates")
    recordings_dir = hotline.settings.recordings_dir

    @bp.get("/calls/<sid>")
    @requires(*ALL_ROLES)
    def call_page(sid: str) -> str:
        with console.sessions() as db:
            call = db.scalars(select(Call).where(Call.sid == sid)).one_or_none()
            if call is None or not _may_see(call):
                abort(404)
            recordings = list(call.recordings)
            timeline = next((r for r in recordings if r.purpose == "call" and _playable(r)), None)
            player = timeline or next((r for r in recordings if _playable(r)), None)
            return render_template(
                "call.html", call=call, turns=list(call.turns), recordings=recordings, timeline=timeline,
                player=player, playable=_playable, by_id={r.id: r for r in recordings}, clock=clock,
                percent=percent, low=LOW_CONFIDENCE, speakers=SPEAKERS, label=recording_label,
                outcome=OUTCOMES.get(call.outcome or "", call.outcome or "—"), states=RECORDING_STATES)

    @bp.get("/recordings/<int:recording_id>")
    @requires(*ALL_ROLES)
    def recording(recording_id: int) -> Response | tuple[str, int]:
        with console.sessions() as db:
            rec = db.get(Recording, recording_id)
            if rec is None or not _may_see(rec.call):
                abort(404)
            if rec.status != "stored" or not rec.local_path:
                return _missing(f"Bản ghi âm này {RECORDING_STATES.get(rec.status, 'chưa tải về')}.")
            path = inside(recordings_dir, rec.local_path)
            if path is None:
                abort(404)
            if not path.is_file():
                return _missing("Tệp ghi âm không còn trên máy chủ.")
            call_sid = rec.call.sid
        if _first_read():
            with console.transaction() as db:
                if not _opened_lately(db, recording_id, console.clock() - OPEN_AUDIT_WINDOW):
                    console.audit(db, "recording.open", target_type="recording", target_id=str(recording_id),
                                  detail={"call": call_sid})
        reply = send_file(path, mimetype="audio/wav", conditional=True, max_age=0)
        reply.headers["Cache-Control"] = "private, no-cache"
        return reply

    return bp


def inside(root: Path, stored: str) -> Path | None:
    """The real path of a stored recording path when it lies inside root; None for `..`, NUL, links out, elsewhere."""
    candidate = Path(stored)
    if ".." in candidate.parts or "\x00" in stored:  # a NUL would make the file system calls raise
        return None
    base = root.resolve()
    real = (base / candidate).resolve()  # an absolute stored path replaces base
    return real if real.is_relative_to(base) else None


def recording_label(rec: Recording) -> str:
    """What a recording holds, in Vietnamese."""
    return PURPOSES.get(rec.purpose or "", "Ghi âm")


def clock(seconds: float | None) -> str:
    """Seconds into a recording as mm:ss (h:mm:ss past an hour); "" when unknown."""
    if seconds is None:
        return ""
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"


def percent(value: float | None) -> str:
    """A recognition confidence as a whole percentage; "" when unknown."""
    return "" if value is None else f"{round(value * 100)}%"


def _may_see(call: Call) -> bool:
    """A unit user sees only calls whose case is its unit's; everyone else sees every call."""
    if current_user.role != "unit":
        return True
    return call.case is not None and call.case.unit_code == current_user.unit_code


def _playable(rec: Recording) -> bool:
    return rec.status == "stored" and bool(rec.local_path)


def _first_read() -> bool:
    """A request that opens the recording (no Range, or one from byte 0), not a seek or a continuation."""
    if request.method != "GET":
        return False
    ranges = request.range
    return ranges is None or ranges.ranges[0][0] == 0


def _opened_lately(db: Session, recording_id: int, since: datetime) -> bool:
    query = select(func.count()).select_from(AuditEvent).where(
        AuditEvent.target_type == "recording", AuditEvent.target_id == str(recording_id),
        AuditEvent.action == "recording.open", AuditEvent.actor == current_user.username, AuditEvent.at >= since)
    return bool(db.scalar(query))


def _missing(message: str) -> tuple[str, int]:
    return render_template("error.html", title="Không tìm thấy bản ghi âm", message=message), 404
