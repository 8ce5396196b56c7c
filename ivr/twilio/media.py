"""Twilio Media Streams over flask-sock: the carrier's JSON frames in, audio frames and marks out.

One call, two threads. The reader (the flask-sock request thread) only parses frames and queues
them; a per-call worker (`QueueWorker`) drains the queue into the `StreamSession`, so a slow
recogniser delays the call's own pipeline, never the socket. Every stream is recorded in stereo
(caller left, bot right) under `recordings_dir/<CallSid>/stream.wav`.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from flask import Blueprint, Flask, Response, request
from flask_sock import Sock
from simple_websocket import ConnectionClosed
from simple_websocket.ws import Base as WebSocket
from wsproto.frame_protocol import CloseReason

from ivr.twilio.sender import Sender
from ivr.twilio.signature import is_signed
from ivr.worker import QueueWorker
from observability.logs import CALL_SID, STREAM_SID
from observability.metrics import metrics
from speech.mulaw import mulaw_decode
from speech.recorder import CallRecorder

log = logging.getLogger(__name__)

PATH = "/twilio/media"
POLL_S = 0.5  # how often the reader looks whether our side closed the socket
WORKER_JOIN_S = 30.0
MAX_BACKLOG_FRAMES = 3000  # a minute of caller audio waiting: beyond it audio is dropped, keys and marks kept
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")


class StreamSession(Protocol):
    """What the dialogue layer implements for one stream; every method runs on the call's worker thread."""

    def on_audio(self, ulaw: bytes, timestamp_ms: int) -> None:
        """20 ms of caller audio (8 kHz μ-law); timestamp_ms is Twilio's, -1 when it sent none we could read."""

    def on_dtmf(self, digit: str) -> None:
        """The caller pressed a key (only <Connect><Stream> sends these)."""

    def on_mark(self, name: str) -> None:
        """Twilio finished playing the audio sent before the mark `name` (or cleared it)."""

    def on_stop(self) -> None:
        """The stream ended, called once and last: Twilio's stop, the socket dropping, or Sender.close()."""


@dataclass(frozen=True)
class AudioReceived:
    ulaw: bytes
    timestamp_ms: int


@dataclass(frozen=True)
class DigitReceived:
    digit: str


@dataclass(frozen=True)
class MarkReached:
    name: str


@dataclass(frozen=True)
class StreamEnded:
    """The caller hung up, Twilio stopped the stream, the socket dropped, or we closed it."""


class SessionRefused(Exception):
    """The session factory declines this stream (e.g. no recogniser slot): the call goes on by TwiML."""


InboxItem = AudioReceived | DigitReceived | MarkReached | StreamEnded
SessionFactory = Callable[[str, str, dict[str, str], "Sender"], StreamSession]


class _Stream:
    """One stream's session, worker and recording, fed by the reader and drained by the worker."""

    def __init__(self, session: StreamSession, recorder: CallRecorder | None, name: str) -> None:
        self.session = session
        self.recorder = recorder
        self.ended = False
        self.dropped = 0
        self.worker = QueueWorker(self._deliver, name=name, finish=self._close_recording)

    def offer_audio(self, item: AudioReceived) -> None:
        """Queue caller audio unless the session is a minute behind (then memory, not audio, is at stake)."""
        if self.worker.pending >= MAX_BACKLOG_FRAMES:
            self.dropped += 1
            if self.dropped == 1:
                log.error("%s is %d frames behind: dropping caller audio until it catches up",
                          self.worker.thread.name, self.worker.pending)
            return
        self.worker.put(item)

    def _deliver(self, item: InboxItem) -> None:
        match item:
            case AudioReceived(ulaw, timestamp_ms):
                if self.recorder is not None:
                    self.recorder.caller(mulaw_decode(ulaw))
                self.session.on_audio(ulaw, timestamp_ms)
            case DigitReceived(digit):
                self.session.on_dtmf(digit)
            case MarkReached(name):
                self.session.on_mark(name)
            case StreamEnded():
                self.session.on_stop()

    def _close_recording(self) -> None:
        if self.recorder is not None:
            self.recorder.close()


class MediaStreamHandler:
    """The /twilio/media WebSocket: checks the handshake signature, then runs one stream per connection."""

    def __init__(self, auth_token: str | None, public_base_url: str | None, session_factory: SessionFactory,
                 *, recordings_dir: Path) -> None:
        self.auth_token = auth_token
        self.public_base_url = public_base_url.rstrip("/") if public_base_url else None
        self.session_factory = session_factory
        self.recordings_dir = Path(recordings_dir)
        self._lock = threading.Lock()
        self._streams: dict[str, _Stream] = {}

    def register(self, app_or_blueprint: Flask | Blueprint, sock: Sock, path: str = PATH) -> None:
        """Add the WebSocket route; under a blueprint with a url_prefix pass the path below it."""

        def twilio_media(ws: WebSocket) -> None:
            self.serve(ws)

        sock.route(path, bp=app_or_blueprint)(twilio_media)
        app_or_blueprint.before_request(self._refuse_unsigned)

    def _refuse_unsigned(self) -> Response | None:
        """Answer a handshake without Twilio's signature with HTTP 403, before any WebSocket upgrade."""
        if not (request.endpoint or "").endswith("twilio_media"):
            return None
        if is_signed(self.auth_token, self.public_base_url, {}, websocket=True):
            return None
        log.warning("refused a media stream handshake with a bad signature from %s", request.remote_addr)
        return Response("bad signature\n", status=403, mimetype="text/plain")

    def backlog(self) -> dict[str, int]:
        """Frames waiting for each active stream's worker, by StreamSid."""
        with self._lock:
            return {sid: stream.worker.pending for sid, stream in self._streams.items()}

    def serve(self, ws: WebSocket) -> None:
        """Run one connection on the current (reader) thread, inside a request context."""
        if not is_signed(self.auth_token, self.public_base_url, {}, websocket=True):
            log.warning("rejected a media stream with a bad signature from %s", request.remote_addr)
            ws.close(reason=CloseReason.POLICY_VIOLATION, message="bad signature")
            return
        stream: _Stream | None = None
        sender: Sender | None = None
        try:
            while stream is None or not stream.ended:
                if sender is not None and sender.closed_here:
                    break
                try:
                    text = ws.receive(timeout=POLL_S)
                except ConnectionClosed:
                    break
                if text is None:
                    continue
                message = _parse(text)
                if message is None:
                    continue
                if message.get("event") == "start":
                    if stream is not None:
                        log.warning("a second start on stream %s ignored", sender and sender.stream_sid)
                        continue
                    started = self._start(ws, message)
                    if started is None:
                        return
                    stream, sender = started
                elif stream is None:
                    if message.get("event") != "connected":
                        log.warning("media stream %r event before start skipped", message.get("event"))
                else:
                    _dispatch(message, stream)
        finally:
            if stream is not None and sender is not None:
                self._end(stream, sender)
            CALL_SID.set(None)
            STREAM_SID.set(None)

    # -- plumbing ----------------------------------------------------------------------------

    def _start(self, ws: WebSocket, message: dict[str, Any]) -> tuple[_Stream, Sender] | None:
        start = message.get("start") if isinstance(message.get("start"), dict) else {}
        call_sid = str(start.get("callSid") or "")
        stream_sid = str(message.get("streamSid") or start.get("streamSid") or "")
        raw = start.get("customParameters")
        parameters = {str(k): str(v) for k, v in raw.items()} if isinstance(raw, Mapping) else {}
        if not call_sid or not stream_sid:
            log.warning("media stream start without callSid or streamSid: closing")
            ws.close(reason=CloseReason.PROTOCOL_ERROR, message="start without callSid or streamSid")
            return None
        CALL_SID.set(call_sid)  # this reader thread's log lines, and (copied) the worker thread's
        STREAM_SID.set(stream_sid)
        recorder = self._recorder(call_sid, stream_sid)
        sender = Sender(ws, stream_sid, recorder)
        try:
            session = self.session_factory(call_sid, stream_sid, parameters, sender)
        except Exception as error:  # hand the call back to the TwiML after <Connect>
            if isinstance(error, SessionRefused):
                metrics().error("stream_refused")
                log.warning("stream for call %s refused (%s): closing it", call_sid, error)
            else:
                log.exception("no session for call %s: closing the stream", call_sid)
            if recorder is not None:
                recorder.close()
            sender.close()
            return None
        stream = _Stream(session, recorder, name=f"stream-{stream_sid}")
        with self._lock:
            self._streams[stream_sid] = stream
        metrics().streams_in_progress.inc()
        log.info("media stream %s started for call %s", stream_sid, call_sid)
        return stream, sender

    def _end(self, stream: _Stream, sender: Sender) -> None:
        """Tell the session the stream ended (once), let it drain, and close the recording."""
        if not stream.ended:  # the socket dropped or we closed it: no stop frame came
            stream.worker.put(StreamEnded())
        if not stream.worker.stop():
            log.error("stream %s: the session did not finish within %.0f s", sender.stream_sid, WORKER_JOIN_S)
        with self._lock:
            self._streams.pop(sender.stream_sid, None)
        metrics().streams_in_progress.dec()
        log.info("media stream %s ended (%d frames queued, peak backlog %d, %d dropped)",
                 sender.stream_sid, stream.worker.received, stream.worker.peak, stream.dropped)

    def _recorder(self, call_sid: str, stream_sid: str) -> CallRecorder | None:
        directory = self.recordings_dir / _UNSAFE.sub("_", call_sid)
        path = directory / "stream.wav"
        try:
            directory.mkdir(parents=True, exist_ok=True)
            if path.exists():  # a second stream in the same call keeps the first one's audio
                path = directory / f"stream-{_UNSAFE.sub('_', stream_sid)}.wav"
            return CallRecorder(path)
        except OSError as error:
            log.error("call %s will not be recorded: %s", call_sid, error)
            return None


def _parse(text: str | bytes) -> dict[str, Any] | None:
    """A frame as a JSON object, or None (logged) when it is not one."""
    try:
        message = json.loads(text)
    except (ValueError, UnicodeDecodeError):
        log.warning("media stream frame of %d characters is not JSON", len(text))
        return None
    if not isinstance(message, dict):
        log.warning("media stream frame of %d characters is not a JSON object", len(text))
        return None
    return message


def _dispatch(message: dict[str, Any], stream: _Stream) -> None:
    """Queue one parsed frame for the worker; nothing here decodes audio or waits."""
    event = message.get("event")
    body = message.get(event) if isinstance(event, str) else None
    body = body if isinstance(body, dict) else {}
    if event == "media":
        try:
            ulaw = base64.b64decode(str(body.get("payload", "")), validate=True)
        except (binascii.Error, ValueError):
            ulaw = b""
        if not ulaw:
            log.warning("media frame with a bad or empty payload skipped")
            return
        stream.offer_audio(AudioReceived(ulaw, _int(body.get("timestamp"))))
    elif event == "dtmf" and body.get("digit"):
        stream.worker.put(DigitReceived(str(body["digit"])))
    elif event == "mark" and body.get("name") is not None:
        stream.worker.put(MarkReached(str(body["name"])))
    elif event == "stop":
        stream.worker.put(StreamEnded())
        stream.ended = True
    else:
        log.warning("media stream event %r skipped", event)


def _int(value: object) -> int:
    try:
        return int(str(value))
    except ValueError:
        return -1
