"""Twilio voice webhooks: the only code that knows Twilio's field names.

Every endpoint checks X-Twilio-Signature against the public URL before anything else.
When the database is unreachable the request's parameters go to the durable spool and
the caller hears an apology and is offered an operator; nothing they gave is lost.
"""

from __future__ import annotations

import hashlib
import logging
import math
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlencode

from flask import Blueprint, Flask, Response, abort, current_app, g, request

from ivr.actions import Action, Transfer, actions_from_json, actions_to_json
from ivr.calls import CallService, StoreUnavailable
from ivr.events import DigitsPressed, Event, NothingHeard, TransferEnded
from ivr.twilio import twiml
from ivr.twilio.recordings import RecordingFetcher
from ivr.twilio.signature import base_url, is_signed, websocket_base_url
from observability.logs import call_context, mask_number
from observability.metrics import metrics
from storage.spool import Spool, SpoolEntry

log = logging.getLogger(__name__)

XML = "application/xml"
APOLOGY = ("Xin lỗi quý vị, hệ thống tiếp nhận đang gặp sự cố kỹ thuật. "
           "Cuộc gọi sẽ được chuyển tới tổng đài viên, xin vui lòng giữ máy.")
RESTART = "Xin lỗi quý vị, cuộc gọi vừa bị gián đoạn. Xin mời quý vị thực hiện lại từ đầu."
MESSAGE_PROMPT = ("Hiện chưa có tổng đài viên nào trả lời. Sau tiếng bíp, xin quý vị để lại lời nhắn "
                  "về sự việc cần phản ánh và địa chỉ, rồi bấm phím thăng. Tổng đài viên sẽ xử lý và gọi lại.")
GOODBYE = "Tổng đài 1022 đã ghi nhận. Cảm ơn quý vị đã gọi. Xin chào."
HOLD = "Xin quý vị vui lòng giữ máy, tổng đài viên sẽ trả lời trong giây lát."
ANSWERED_DIAL = frozenset({"completed", "answered"})
ANSWERED_QUEUE = frozenset({"bridged", "bridging-in-process"})

STORE_KINDS = frozenset({"voice", "gather", "record", "dial", "status", "recording-status", "after-stream"})
MEDIA_PATH = "/twilio/media"
MAX_INT = 2**31 - 1  # the largest value of an SQL INTEGER column
MAX_SID = 64  # calls.sid and recordings.sid
View = Callable[[dict[str, str], dict[str, str]], Response]


@dataclass(frozen=True)
class TwilioConfig:
    """What the adapter needs to know about our Twilio account and how prompts sound."""

    auth_token: str | None
    public_base_url: str | None
    voice: Callable[[], twiml.Voice]
    operator: Transfer


class TwilioWebhooks:
    """Flask views for Twilio's voice callbacks, over a carrier-neutral CallService."""

    def __init__(self, config: TwilioConfig, service: CallService, spool: Spool, fetcher: RecordingFetcher,
                 clock: Callable[[], datetime], background: Executor,
                 speech: Callable[[], bool] | None = None,
                 on_ended: Callable[[int], object] | None = None) -> None:
        """speech: whether a new call may talk over a media stream now (a model is loaded, a slot is free).
        on_ended: told our id of each call once it has ended (after-call work such as suggestions)."""
        self.config = config
        self.speech = speech
        self.on_ended = on_ended
        self.service = service
        self.spool = spool
        self.fetcher = fetcher
        self.clock = clock
        self.background = background
        self._replaying = threading.Lock()

    def blueprint(self) -> Blueprint:
        """The /twilio/... routes; each checks the signature first."""
        bp = Blueprint("twilio", __name__, url_prefix="/twilio")
        for path, view in self._views().items():
            bp.add_url_rule(f"/{path}", endpoint=path.replace("/", "_").replace("-", "_"),
                            view_func=self._guarded(path, view), methods=["POST"])
        bp.after_request(self._replay_when_recovered)
        return bp

    def replay_spool(self, app: Flask) -> tuple[int, int]:
        """Apply callbacks spooled during a database outage, oldest first; returns (applied, failed)."""
        with self._replaying, app.test_request_context(base_url=self.config.public_base_url or "http://localhost"):
            return self.spool.replay(self.replay, expected=(StoreUnavailable,))

    def _replay_when_recovered(self, response: Response) -> Response:
        # The database answered this webhook: apply what the spool kept meanwhile, in the background.
        if g.get("hotline_store_ok") and not self._replaying.locked() and self.spool.pending():
            self.background.submit(self.replay_spool, current_app._get_current_object())  # type: ignore[attr-defined]
        return response

    def _views(self) -> dict[str, View]:
        return {
            "voice": self.voice, "gather": self.gather, "record": self.record, "dial": self.dial,
            "status": self.status, "recording-status": self.recording_status,
            "degraded/dial": self.degraded_dial, "degraded/message": self.degraded_message,
            "queue-wait": self.queue_wait, "after-stream": self.after_stream,
        }

    # -- views -------------------------------------------------------------------------------

    def voice(self, form: dict[str, str], args: dict[str, str]) -> Response:
        """Incoming call: talk over a media stream when speech is available, else greet with the keypad menu."""
        streamed = self.speech is not None and self.speech()
        body = self.service.begin(sid=form["CallSid"], caller=form.get("From", ""), to=form.get("To", ""),
                                  render=actions_to_json if streamed else self._renderer(),
                                  path="voice" if streamed else "keypad")
        log.info("call from %s to %s answered (%s)", mask_number(form.get("From")), form.get("To", ""),
                 "voice" if streamed else "keypad")
        stored = actions_from_json(body)
        if stored is None:
            return _xml(body)  # a keypad call (or a retry of one): its TwiML as first sent
        if streamed:
            return _xml(twiml.connect_stream(stream_url=self._stream_url(), action_url=self._url("after-stream"),
                                             parameters={"seq": str(stored[0])}))
        return self._carry_on(*stored)  # a retry once speech became unavailable: the same step by keypad

    def after_stream(self, form: dict[str, str], args: dict[str, str]) -> Response:
        """The media stream ended with the call still up: transfer, hang up, or go on by keypad."""
        position = self.service.position(form["CallSid"])
        if position is None:
            return self._restart(form)
        stored = actions_from_json(position.response)
        if position.ended:
            return _xml(twiml.hang_up(None, voice=self.config.voice()))
        if stored is None:  # not a streamed step: the call went on by keypad meanwhile
            return _xml(position.response or twiml.hang_up(None, voice=self.config.voice()))
        return self._carry_on(*stored)

    def gather(self, form: dict[str, str], args: dict[str, str]) -> Response:
        """Keypad input (or its absence) for the current node."""
        digits = form.get("Digits", "").strip().rstrip("#")
        event: Event = DigitsPressed(digits) if digits and "empty" not in args else NothingHeard()
        return self._event(form, args, event)

    def record(self, form: dict[str, str], args: dict[str, str]) -> Response:
        """A recording finished; keep it, then continue the dialogue."""
        url = form.get("RecordingUrl")
        if "empty" in args or not url:
            return self._event(form, args, NothingHeard())
        body = self._keep_recording(form, seq=_seq(args), purpose=None)
        return _xml(body) if body is not None else self._restart(form)

    def dial(self, form: dict[str, str], args: dict[str, str]) -> Response:
        """A transfer ended: answered, or nobody picked up."""
        answered = form.get("DialCallStatus") in ANSWERED_DIAL or form.get("QueueResult") in ANSWERED_QUEUE
        return self._event(form, args, TransferEnded(answered=answered))

    def status(self, form: dict[str, str], args: dict[str, str]) -> Response:
        """Call status callback; a finished call files whatever was collected."""
        ended = self.service.end(sid=form["CallSid"], status=form.get("CallStatus", ""),
                                 duration_s=_int(form.get("CallDuration")), caller=form.get("From", ""),
                                 to=form.get("To", ""))
        if ended is not None:
            log.info("call ended: %s after %s s", form.get("CallStatus", ""), form.get("CallDuration", "?"))
            if self.on_ended is not None:
                self.on_ended(ended)
        return Response(status=204)

    def recording_status(self, form: dict[str, str], args: dict[str, str]) -> Response:
        """Recording status callback: make sure the recording is kept and fetched."""
        if form.get("RecordingStatus") == "completed" and form.get("RecordingUrl"):
            self._keep_recording(form, seq=None, purpose=None)
        return Response(status=204)

    def queue_wait(self, form: dict[str, str], args: dict[str, str]) -> Response:
        """While the caller waits for an operator: hold message, then leave after the limit."""
        return _xml(twiml.queue_wait(queue_time_s=_int(form.get("QueueTime")) or 0,
                                     limit_s=_int(args.get("limit")) or 30, hold_text=HOLD,
                                     voice=self.config.voice()))

    def degraded_dial(self, form: dict[str, str], args: dict[str, str]) -> Response:
        """After the outage transfer: if nobody answered, take a message."""
        self._spool("degraded_dial", form, args)
        if form.get("DialCallStatus") in ANSWERED_DIAL or form.get("QueueResult") in ANSWERED_QUEUE:
            return _xml(twiml.hang_up(None, voice=self.config.voice()))
        return _xml(twiml.take_message(voice=self.config.voice(), message_url=self._url("degraded/message"),
                                       message_prompt=MESSAGE_PROMPT, goodbye=GOODBYE))

    def degraded_message(self, form: dict[str, str], args: dict[str, str]) -> Response:
        """A message left during an outage: spooled, fetched and filed on replay."""
        self._spool("degraded_message", form, args)
        return _xml(twiml.hang_up(None, voice=self.config.voice()))

    def replay(self, entry: SpoolEntry) -> None:
        """Apply a spooled callback to the store (needs a request context for URL building)."""
        with call_context(entry.params.get("CallSid")):
            self._replay(entry)

    def _replay(self, entry: SpoolEntry) -> None:
        form, args = entry.params, entry.query
        if entry.kind == "degraded_message":
            if form.get("RecordingUrl"):
                self._keep_recording(form, seq=None, purpose="message")
            return
        view = self._views().get(entry.kind)
        if view is None:
            log.info("spooled %s for %s needs no replay", entry.kind, form.get("CallSid"))
            return
        view(form, args)

    # -- plumbing ----------------------------------------------------------------------------

    def _keep_recording(self, form: dict[str, str], *, seq: int | None, purpose: str | None) -> str | None:
        """Store the recording of form (then fetch it in the background); the dialogue's answer, or None."""
        url = form["RecordingUrl"]
        body, rec_id = self.service.record(
            sid=form["CallSid"], seq=seq, recording_sid=_recording_sid(form.get("RecordingSid"), url), url=url,
            duration_s=_number(form.get("RecordingDuration")), purpose=purpose, render=self._renderer())
        if rec_id is not None:
            self.fetcher.submit(rec_id)
        return body

    def _event(self, form: dict[str, str], args: dict[str, str], event: Event) -> Response:
        body = self.service.handle(sid=form["CallSid"], seq=_seq(args), event=event, render=self._renderer())
        return _xml(body) if body is not None else self._restart(form)

    def _restart(self, form: dict[str, str]) -> Response:
        log.warning("callback for unknown call %s: starting the menu again", form.get("CallSid"))
        body = self.service.begin(sid=form["CallSid"], caller=form.get("From", ""), to=form.get("To", ""),
                                  render=self._renderer(), preface=RESTART)
        return _xml(body)

    def _guarded(self, kind: str, view: View) -> Callable[[], Response]:
        def guarded() -> Response:
            form = request.form.to_dict()
            args = request.args.to_dict()
            if not is_signed(self.config.auth_token, self.config.public_base_url, form):
                log.warning("rejected %s with a bad signature from %s", request.path, request.remote_addr)
                abort(403)
            if not _is_sid(form.get("CallSid", "")):
                abort(400, description="CallSid is required (at most 64 printable characters)")
            # Signed as sent; stored without NUL, which PostgreSQL refuses in text and JSON (e.g. a SIP From).
            form = {key: value.replace("\x00", "") for key, value in form.items()}
            try:
                response = view(form, args)
            except StoreUnavailable as error:
                log.error("database unavailable during %s for %s: %s", kind, form.get("CallSid"), error)
                metrics().error("store_unavailable")
                return self._degrade(kind, form, args)
            g.hotline_store_ok = kind in STORE_KINDS  # the database answered: a spool can be replayed
            return response

        guarded.__name__ = f"twilio_{kind}"
        return guarded

    def _spool(self, kind: str, form: dict[str, str], args: dict[str, str]) -> None:
        self.spool.append(kind, form, args, self.clock())  # OSError → 500 → Twilio's fallback URL
        metrics().error("spooled")

    def _degrade(self, kind: str, form: dict[str, str], args: dict[str, str]) -> Response:
        self._spool(kind, form, args)
        if kind in ("status", "recording-status"):
            return Response(status=204)
        return _xml(twiml.apology(APOLOGY, voice=self.config.voice(), operator=self.config.operator,
                                  dial_url=self._url("degraded/dial"),
                                  wait_url=self._url("queue-wait", limit=self.config.operator.timeout_s)))

    def _carry_on(self, seq: int, actions: Sequence[Action]) -> Response:
        return _xml(twiml.after_stream(actions, seq=seq, url_for=self._url, voice=self.config.voice()))

    def _stream_url(self) -> str:
        return websocket_base_url(self.config.public_base_url) + MEDIA_PATH

    def _url(self, name: str, **query: object) -> str:
        url = f"{base_url(self.config.public_base_url)}/twilio/{name.replace('_', '-')}"
        return f"{url}?{urlencode(query)}" if query else url

    def _renderer(self) -> Callable[[Sequence[Action], int], str]:
        voice = self.config.voice()
        return lambda actions, seq: twiml.render(actions, seq=seq, url_for=self._url, voice=voice)


def _xml(body: str) -> Response:
    return Response(body, mimetype=XML)


def _seq(args: dict[str, str]) -> int:
    try:
        return int(args.get("seq", ""))
    except ValueError:
        return -1


def _int(value: str | None) -> int | None:
    """A count Twilio sent (seconds, a limit); None when absent, unreadable or too big for a database column."""
    try:
        number = int(value) if value else None
    except ValueError:
        return None
    return number if number is not None and abs(number) <= MAX_INT else None


def _number(value: str | None) -> float:
    try:
        number = float(value) if value else 0.0
    except ValueError:
        return 0.0
    return number if math.isfinite(number) else 0.0  # NaN and infinity are not durations, nor valid JSON


def _sid_from(url: str) -> str:
    return url.rstrip("/").rsplit("/", 1)[-1]


def _recording_sid(given: str | None, url: str) -> str:
    """Twilio's RecordingSid, else the last part of the URL; a digest of the URL when neither can be stored."""
    for sid in (given or "", _sid_from(url)):
        if _is_sid(sid):
            return sid
    return "RE" + hashlib.sha256(url.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def _is_sid(sid: str) -> bool:
    """A carrier id we can store: Twilio's are 34 characters; anything unprintable or longer is not one."""
    return 0 < len(sid) <= MAX_SID and sid.isprintable()

