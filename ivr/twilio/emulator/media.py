"""<Connect><Stream>: a bidirectional Media Stream, as Twilio runs one, with the caller's steps as audio.

The emulator opens a WebSocket to the Stream url (ws:// or wss://, used as given) with an
X-Twilio-Signature header computed over that URL and no parameters, then sends `connected`,
`start` (customParameters from the <Parameter name value> children) and the caller's steps:

    say:"…" / record:F.wav   20 ms frames of 8 kHz μ-law (`media`), then ~1 s of silence
    press:DIGITS             one `dtmf` event per key, each followed by 100 ms of silence
    wait:SECONDS             that much silence; the next step then starts at once (barge-in)
    hangup                   `stop`, close; the call ends (caller hangs up)

Before every other step, and when the steps run out, the caller listens: it sends silence until
the bot has been quiet (nothing queued to play, no media arriving) for media_patience seconds.
When the steps run out the caller then hangs up. Frames go out paced at 20 ms × media_pace
(0: as fast as possible); the inbound stream stays continuous with silence frames.

From the server: `media` is queued bot audio ("played" at media_pace), `mark` is echoed once the
audio queued before it has played, `clear` drops queued audio and echoes pending marks at once.
When the server closes the WebSocket, the verbs after <Connect> run (or, with <Connect action>,
the action's document).

Turns (timeline.py): each say:, record: or press: step is a caller turn; it ends with its last
frame that is not digital silence (the trailing end-of-speech silence is not part of it) or its
last key. The first bot `media` frame received after that answers it: the `turn` event gives both
moments in stream time (seconds of caller audio sent) and the wall-clock (monotonic) latency
between sending and receiving. Bot audio received during a turn does not answer it; a turn the
bot has not answered when the caller ends another one, or when the stream ends, has nulls.

bot_wav (timeline.py): the stream's bot audio as the caller heard it, written when the stream
ends: silence where the bot was quiet, each burst from when it arrived or after the audio queued
before it, cut at the moment of a `clear`, and without what was still queued when the stream
ended (at media_pace 0 bot audio has played on arrival, so all of it is kept). It lasts as long
as the caller's audio, or until the bot's last audio when that ends later.

Events: stream_started {url, stream_sid, parameters}    stream_audio {source, seconds}
dtmf {digits}    wait {seconds}    prompt_audio {seconds} (one per burst of bot audio, ended by a
mark, a clear or the end of the stream)    mark {name} (echoed)    clear {}
turn {input: say|record|press, caller_end_s, bot_start_s, latency_ms} (the last two null if unanswered)
stream_turns {stream_sid, latency_ms: [one per turn, null if unanswered]}
bot_wav {stream_sid, path, seconds} (with the bot_wav option)
stream_ended {stream_sid, by: server|caller}    error {code, message} with Twilio's 319xx codes.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import threading
import time
import xml.etree.ElementTree as ET
from urllib.parse import urlsplit

import simple_websocket
from twilio.request_validator import RequestValidator

from ivr.twilio.emulator.call import Call, new_sid
from ivr.twilio.emulator.steps import HangUp, Press, RecordFile, Speak, Step, Wait
from ivr.twilio.emulator.timeline import BotTrack, TurnTimer, numbered
from ivr.twilio.emulator.twiml import Document, attr_method
from ivr.twilio.emulator.websocket import (
    MALFORMED_MESSAGE,
    MALFORMED_URL,
    PROTOCOL_ERROR,
    URL_SCHEME_NOT_SUPPORTED,
    StreamClient,
    StreamOpenError,
)
from speech.audio import FRAME_SAMPLES, AudioError, wav_to_mulaw_frames
from speech.mulaw import SILENCE
from speech.resample import PHONE_RATE
from speech.synthesis import SynthesisError

FRAME_S = FRAME_SAMPLES / PHONE_RATE  # 0.02
SILENCE_FRAME = bytes([SILENCE]) * FRAME_SAMPLES
END_OF_SPEECH_S = 1.0  # silence after each utterance, so the server's end-of-utterance detection fires
DTMF_TONE_S = 0.1  # silence frames sent after each key
MEDIA_FORMAT = {"encoding": "audio/x-mulaw", "sampleRate": PHONE_RATE, "channels": 1}


class _ServerClosed(Exception):
    """The server closed the WebSocket while the caller was sending."""


class _NetworkDropped(Exception):
    """The connection to the server dropped mid-utterance (CallOptions.drop_stream_at)."""


class _CallerHangsUp(Exception):
    """The caller ends the call from inside the stream; `stop` goes out before the call ends."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def connect(call: Call, doc: Document, el: ET.Element) -> Document | None:
    """<Connect>: run its <Stream>; afterwards the next verb runs, or <Connect action>'s document."""
    streams = [child for child in el if child.tag == "Stream"]
    for child in el:
        if child.tag != "Stream":
            call.error(f"<Connect><{child.tag}> is not supported by the emulator; skipped")
    if not streams:
        return None
    if len(streams) > 1:
        call.error("<Connect> takes one <Stream>; only the first is used")
    ended_by = StreamSession(call, streams[0]).run()
    action = el.get("action")
    if ended_by == "server" and action:
        return call.fetch(doc.resolve(action), method=attr_method(el), purpose="action", callback=True)
    return None


class StreamSession:
    """One Media Stream: the caller's side (this thread) and the server's side (a reader thread)."""

    def __init__(self, call: Call, el: ET.Element) -> None:
        self.call = call
        self.url = (el.get("url") or "").strip()
        self.parameters = {p.get("name", ""): p.get("value", "") for p in el if p.tag == "Parameter"}
        self.stream_sid = new_sid("MZ")
        self.pace = max(0.0, call.options.media_pace)
        self.patience = max(0.0, call.options.media_patience)
        self._ws: StreamClient | None = None
        self._send_lock = threading.Lock()
        self._state = threading.Lock()
        self._server_closed = threading.Event()
        self._closing = False
        self._sequence = 0
        self._chunk = 0
        self._next_frame = 0.0
        self._turn_end = 0.0  # monotonic time the caller's last input ended
        # bot audio, guarded by _state
        self._play_end = 0.0  # monotonic time at which queued bot audio has finished playing
        self._last_heard = 0.0  # monotonic time the bot's audio last arrived or stopped playing
        self._marks: list[tuple[float, str]] = []  # (due time, name) waiting to be echoed
        self._burst_s = 0.0
        self._track = BotTrack() if call.options.bot_wav else None  # what the caller heard (bot_wav)
        self._turns = TurnTimer()
        self._number = 0  # this stream's place among the call's streams
        self._ended_at = 0.0  # monotonic time the stream ended (before the closing handshake)
        self._malformed_reported = False
        self._reader: threading.Thread | None = None

    # -- lifecycle -----------------------------------------------------------------

    def run(self) -> str | None:
        """Stream until the server closes (returns "server") or the caller hangs up (the call ends).

        Returns None when the WebSocket could not be opened (an error event says why)."""
        try:
            self._open()
        except StreamOpenError as exc:
            self.call.error(str(exc), exc.code)
            return None
        emit, lock = self.call.emit, threading.Lock()

        def locked_emit(event: dict) -> None:  # the reader thread emits too
            with lock:
                emit(event)

        self.call.emit = locked_emit
        hung_up: _CallerHangsUp | None = None
        ended_by = "server"
        try:
            self.call.emit({"event": "stream_started", "url": self.url, "stream_sid": self.stream_sid,
                            "parameters": dict(self.parameters)})
            try:
                self._send({"event": "connected", "protocol": "Call", "version": "1.0.0"}, sequence=False)
                self._send({"event": "start", "start": {
                    "streamSid": self.stream_sid, "accountSid": self.call.options.account_sid,
                    "callSid": self.call.sid, "tracks": ["inbound"], "customParameters": dict(self.parameters),
                    "mediaFormat": dict(MEDIA_FORMAT)}})
                self._reader = threading.Thread(target=self._read, name=f"stream-{self.stream_sid}", daemon=True)
                self._reader.start()
                self._converse()
            except _ServerClosed:
                pass
            except _NetworkDropped:
                ended_by = "network"
                self._closing = True
                assert self._ws is not None
                self._ws.abort()
            except _CallerHangsUp as exc:
                hung_up = exc
                with contextlib.suppress(_ServerClosed):
                    self._send({"event": "stop", "stop": {"accountSid": self.call.options.account_sid,
                                                          "callSid": self.call.sid}})
            finally:
                self._close()
            self._finish_burst()
            self._report_timeline()
            self.call.emit({"event": "stream_ended", "stream_sid": self.stream_sid,
                            "by": "caller" if hung_up else ended_by})
        finally:
            self.call.emit = emit
        if hung_up is not None:
            self.call.end("caller", hung_up.reason)
        return "server"

    def _open(self) -> None:
        scheme = urlsplit(self.url).scheme.lower()
        if not self.url:
            raise StreamOpenError("<Stream> has no url", MALFORMED_URL)
        if scheme not in ("ws", "wss"):
            raise StreamOpenError(f"stream URL {self.url!r}: scheme {scheme or '(none)'!r} is not supported; use wss://",
                                  URL_SCHEME_NOT_SUPPORTED)
        signature = RequestValidator(self.call.options.auth_token).compute_signature(self.url, {})
        self._ws = StreamClient(self.url, {"X-Twilio-Signature": signature}, self.call.options.timeout)
        self.call.streams += 1
        self._number = self.call.streams
        now = time.monotonic()
        self._last_heard = now
        self._next_frame = now

    def _close(self) -> None:
        self._ended_at = time.monotonic()
        self._closing = True
        if self._ws is not None:
            self._ws.close()
        if self._reader is not None:
            self._reader.join()

    def _report_timeline(self) -> None:
        """Once the reader has stopped: the turn still waiting, the stream's latencies, the bot's audio."""
        turn = self._turns.finish()
        if turn:
            self.call.emit(turn)
        self.call.emit({"event": "stream_turns", "stream_sid": self.stream_sid,
                        "latency_ms": list(self._turns.latencies_ms)})
        base = self.call.options.bot_wav
        if self._track is None or base is None:
            return
        unplayed = max(0.0, self._play_end - self._ended_at) / self.pace if self.pace else 0.0
        self._track.cut(self._track.end_s - unplayed)  # the caller never heard what was still queued
        path = numbered(base, self._number)
        try:
            seconds = self._track.write(path, self._stream_s())
        except OSError as exc:
            self.call.error(f"cannot write the bot's audio to {path}: {exc}")
            return
        self.call.emit({"event": "bot_wav", "stream_sid": self.stream_sid, "path": str(path),
                        "seconds": round(seconds, 3)})

    # -- the caller's side ---------------------------------------------------------

    def _converse(self) -> None:
        """Play the caller's steps into the stream; raise _CallerHangsUp when the caller hangs up."""
        listen = True
        while True:
            step = self.call.steps.peek()
            if isinstance(step, Wait):
                self.call.steps.pop()
                self.call.emit({"event": "wait", "seconds": step.seconds})
                self._silence(step.seconds)
                listen = False  # the caller's own timing: the next step starts now, even over the bot
                continue
            if isinstance(step, HangUp):
                self.call.steps.pop()
                raise _CallerHangsUp("hung up during the stream")
            if listen:
                self._listen()
            if step is None:
                raise _CallerHangsUp("no more steps: hung up once the bot was quiet")
            self.call.steps.pop()
            if isinstance(step, Press):
                self._press(step.digits)
            else:
                self._speak(step)
            self._turn_end = time.monotonic()  # the bot gets `patience` seconds to answer from here
            listen = True

    def _press(self, digits: str) -> None:
        self.call.emit({"event": "dtmf", "digits": digits})
        for index, digit in enumerate(digits, 1):
            self._send({"event": "dtmf", "dtmf": {"track": "inbound_track", "digit": digit}})
            if index == len(digits):
                self._caller_done("press")
            self._silence(DTMF_TONE_S)

    def _speak(self, step: Step) -> None:
        try:
            if isinstance(step, RecordFile):
                wav = step.path.read_bytes()
            else:
                assert isinstance(step, Speak)
                wav = self.call.synthesize(step.text)
            frames = wav_to_mulaw_frames(wav, gain_db=0)
        except (OSError, AudioError, SynthesisError) as exc:
            self.call.error(f"cannot produce audio for {step}: {exc}")
            raise _CallerHangsUp("emulator could not produce audio") from None
        self.call.emit({"event": "stream_audio", "source": str(step), "seconds": round(len(frames) * FRAME_S, 3)})
        voiced = [index for index, frame in enumerate(frames) if frame != SILENCE_FRAME]
        last = voiced[-1] if voiced else len(frames) - 1  # the turn ends with the speech, not the file
        self.call.utterances += 1
        if self.call.utterances == self.call.options.drop_stream_at:
            for frame in frames[: max(1, last // 2)]:
                self._frame(frame)
            raise _NetworkDropped
        for index, frame in enumerate(frames):
            self._frame(frame)
            if index == last:
                self._caller_done("record" if isinstance(step, RecordFile) else "say")
        self._silence(END_OF_SPEECH_S)

    def _caller_done(self, kind: str) -> None:
        """The frame or key just sent ended the caller's turn: the bot's answer is timed from now."""
        with self._state:
            unanswered = self._turns.caller_done(kind, self._stream_s(), time.monotonic())
        if unanswered:
            self.call.emit(unanswered)

    def _stream_s(self) -> float:
        """Stream time: the end of the last caller frame sent (the reader thread reads it too)."""
        return self._chunk * FRAME_S

    def _silence(self, seconds: float) -> None:
        for _ in range(round(seconds / FRAME_S)):
            self._frame(SILENCE_FRAME)

    def _listen(self) -> None:
        """Send silence until the bot has been quiet for `patience` seconds since the caller's last input
        and since its own audio last arrived or finished playing (or until the server closes)."""
        tick = FRAME_S * self.pace if self.pace else FRAME_S
        while True:
            with self._state:
                now = time.monotonic()
                quiet_since = max(self._last_heard, self._play_end, self._turn_end)
            if now - quiet_since >= self.patience:
                return
            self._frame(SILENCE_FRAME, tick=tick)

    def _frame(self, payload: bytes, tick: float | None = None) -> None:
        """Send one 20 ms media frame, paced; time Twilio would spend beyond the pace is accounted."""
        step = FRAME_S * self.pace if tick is None else tick
        if step:
            now = time.monotonic()
            if self._next_frame < now - 0.2:  # fell behind (synthesis, a slow send): restart the clock
                self._next_frame = now
            if self._next_frame > now:
                time.sleep(self._next_frame - now)
            self._next_frame += step
        self.call.advance(FRAME_S - step)
        self._chunk += 1
        self._send({"event": "media", "media": {
            "track": "inbound", "chunk": str(self._chunk), "timestamp": str(round((self._chunk - 1) * FRAME_S * 1000)),
            "payload": base64.b64encode(payload).decode("ascii")}})

    def _send(self, message: dict, *, sequence: bool = True) -> None:
        """Send one JSON message with the next sequenceNumber and the streamSid; _ServerClosed if gone."""
        if self._server_closed.is_set() or self._ws is None:
            raise _ServerClosed
        with self._send_lock:
            if sequence:
                self._sequence += 1
                message = {"event": message["event"], "sequenceNumber": str(self._sequence),
                           "streamSid": self.stream_sid} | message
            try:
                self._ws.send(json.dumps(message))
            except (simple_websocket.ConnectionClosed, OSError):
                self._server_closed.set()
                raise _ServerClosed from None

    # -- the server's side (reader thread) -------------------------------------------

    def _read(self) -> None:
        assert self._ws is not None
        try:
            while True:
                with self._state:
                    wait = 0.01 if self._marks else 0.05
                try:
                    raw = self._ws.receive(timeout=wait)
                except simple_websocket.ConnectionClosed:
                    break
                if raw is not None:
                    self._handle(raw)
                self._echo_due_marks()
        except _ServerClosed:
            pass
        finally:
            if not self._closing:
                self._server_closed.set()

    def _handle(self, raw: str | bytes) -> None:
        try:
            if isinstance(raw, bytes):
                raise ValueError("binary WebSocket message")
            message = json.loads(raw)
            if not isinstance(message, dict):
                raise ValueError("not a JSON object")
        except ValueError as exc:
            if not self._malformed_reported:  # Twilio reports this once per stream
                self._malformed_reported = True
                self.call.emit({"event": "error", "code": MALFORMED_MESSAGE,
                                "message": f"stream message cannot be decoded: {exc}"})
            return
        kind = message.get("event")
        try:
            if kind == "media":
                self._bot_audio(base64.b64decode(message["media"]["payload"], validate=True))
            elif kind == "mark":
                self._mark(str(message["mark"]["name"]))
            elif kind == "clear":
                self._clear()
            else:
                raise ValueError(f"unsupported event {kind!r} (a <Connect><Stream> accepts media, mark and clear)")
        except (KeyError, TypeError, ValueError, binascii.Error) as exc:
            self.call.emit({"event": "error", "code": PROTOCOL_ERROR, "message": f"invalid {kind} message: {exc}"})

    def _bot_audio(self, payload: bytes) -> None:
        seconds = len(payload) / PHONE_RATE
        with self._state:
            now = time.monotonic()
            self._play_end = max(self._play_end, now) + seconds * self.pace
            self._last_heard = now
            self._burst_s += seconds
            if self._track is not None:
                self._track.add(self._stream_s(), payload)
            answered = self._turns.bot_audio(self._stream_s(), now)
        if answered:
            self.call.emit(answered)

    def _mark(self, name: str) -> None:
        self._finish_burst()
        with self._state:
            self._marks.append((max(self._play_end, time.monotonic()), name))
        self._echo_due_marks()

    def _clear(self) -> None:
        self._finish_burst()
        with self._state:
            now = time.monotonic()
            self._play_end = self._last_heard = now
            if self._track is not None:
                self._track.cut(self._stream_s())
            for index, (_, name) in enumerate(self._marks):
                self._marks[index] = (now, name)
        self._echo_due_marks()
        self.call.emit({"event": "clear"})

    def _echo_due_marks(self) -> None:
        with self._state:
            now = time.monotonic()
            due = [name for when, name in self._marks if when <= now]
            self._marks = [(when, name) for when, name in self._marks if when > now]
        for name in due:
            self._send({"event": "mark", "mark": {"name": name}})
            self.call.emit({"event": "mark", "name": name})

    def _finish_burst(self) -> None:
        with self._state:
            seconds, self._burst_s = self._burst_s, 0.0
        if seconds:
            self.call.emit({"event": "prompt_audio", "seconds": round(seconds, 3)})
