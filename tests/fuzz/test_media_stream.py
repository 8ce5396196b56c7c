"""Fuzzed Media Stream frames into the real handler and a real VoiceSession: no crash, a clean end, nothing lost.

The socket is a double that plays Twilio (it echoes every mark the server sends, after the frames
already queued); the handler, the session, the dialogue, the CallService and the database are real,
so a stream that started leaves its stereo recording registered, and the call's end files a case.
"""

from __future__ import annotations

import base64
import itertools
import json
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from flask import Flask
from hypothesis import given, note, settings
from hypothesis import strategies as st
from simple_websocket import ConnectionClosed
from sqlalchemy import select
from twilio.request_validator import RequestValidator

from ivr.actions import actions_to_json
from ivr.twilio.media import PATH, MediaStreamHandler, _parse
from ivr.twilio.sender import Sender
from ivr.voice import VoiceSession
from speech.mulaw import SILENCE, mulaw_encode
from speech.prompts import PromptAudio
from speech.recognition import Final, Partial
from storage.models import Call, Case, Recording
from tests.e2e.support import ACCOUNT_SID, AUTH_TOKEN
from tests.fuzz.conftest import scaled
from tests.fuzz.support import logged_errors

BASE = "http://localhost"
QUIET = bytes([SILENCE]) * 160
LOUD = mulaw_encode(np.full(160, 6000, dtype=np.int16))
_SIDS = itertools.count(1)


class FakeSocket:
    """Twilio's end of the WebSocket: hands out the fuzzed frames, then goes away; echoes marks."""

    def __init__(self, frames: Sequence[str | bytes], echo_marks: bool) -> None:
        self.frames: deque[str | bytes] = deque(frames)
        self.echo_marks = echo_marks
        self.sent: list[dict[str, Any]] = []
        self.connected = True

    def receive(self, timeout: float | None = None) -> str | bytes | None:
        if not self.connected or not self.frames:
            raise ConnectionClosed()
        return self.frames.popleft()

    def send(self, data: str) -> None:
        if not self.connected:
            raise ConnectionClosed()
        message = json.loads(data)
        self.sent.append(message)
        if self.echo_marks and message.get("event") == "mark":
            self.frames.append(json.dumps({"event": "mark", "streamSid": message["streamSid"], "mark": message["mark"]}))

    def close(self, reason: object = None, message: str | None = None) -> None:
        self.connected = False


class FakeRecognizer:
    """Hears "số một" in any loud audio; nothing in silence."""

    def __init__(self) -> None:
        self.heard = False

    def accept(self, samples: np.ndarray) -> Partial | Final | None:
        if int(np.abs(samples.astype(np.int32)).max(initial=0)) > 2000:
            self.heard = True
            return Partial("số")
        return None

    def finish(self) -> Final | None:
        if not self.heard:
            return None
        self.heard = False
        return Final("số một", 0.9, (), 0.0, 0.1)

    def reset(self) -> None:
        self.heard = False


@dataclass
class FakeEars:
    closed: bool = False

    def recognizer(self, grammar: Sequence[str] | None = None, *, offset_s: float = 0.0) -> FakeRecognizer:
        return FakeRecognizer()

    def warm_up(self) -> None:
        pass

    def close(self) -> None:
        self.closed = True


def prompt_audio(say: object) -> PromptAudio:
    frames = max(1, len(getattr(say, "text", "")) // 40)
    return PromptAudio((QUIET,) * frames, frames * 0.02)


@dataclass
class Sessions:
    """The session factory: real VoiceSessions over the app's CallService; remembers what it built."""

    app: Flask
    # Out of the repr: hypothesis prints the test's arguments, and this list grows with every example
    # (2,000 examples made a 79 kB repr, which hypothesis turns into a warning, and the run fails).
    built: list[tuple[VoiceSession, FakeEars]] = field(default_factory=list, repr=False)

    def __call__(self, call_sid: str, stream_sid: str, parameters: dict[str, str], sender: Sender) -> VoiceSession:
        ears = FakeEars()
        path = sender.recording_path
        session = VoiceSession(call_sid=call_sid, stream_sid=stream_sid, service=self.app.extensions["hotline"].service,
                               out=sender, prompts=prompt_audio, ears=ears, recording_path=str(path) if path else None)
        self.built.append((session, ears))
        return session




# -- strategies -----------------------------------------------------------------------------

def _nested(inner: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=6), inner, max_size=3))


# A named function: hypothesis reads a lambda's source to check it recurses, and a multi-line lambda misreads.
junk = st.recursive(st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=12)),
                    _nested, max_leaves=6)
payloads = st.one_of(
    st.sampled_from([QUIET, LOUD]).map(lambda audio: base64.b64encode(audio).decode()),
    st.binary(max_size=400).map(lambda audio: base64.b64encode(audio).decode()),
    st.sampled_from(["", "=", "not base64!", "QUJD", "QUJ", "\u00e1\u00e1\u00e1\u00e1", "A" * 4001]),
    junk,
)
timestamps = st.one_of(st.integers(-5, 10**6).map(str), st.integers(), junk, st.just("9" * 5000))


def media(payload: Any, timestamp: Any) -> dict[str, Any]:
    return {"event": "media", "sequenceNumber": "3",
            "media": {"track": "inbound", "chunk": "1", "timestamp": timestamp, "payload": payload}}


messages = st.one_of(
    st.builds(media, payloads, timestamps),
    st.builds(media, payloads, timestamps),
    st.builds(lambda digit: {"event": "dtmf", "dtmf": {"track": "inbound_track", "digit": digit}},
              st.one_of(st.sampled_from(list("0123456789*#")), junk)),
    st.builds(lambda name: {"event": "mark", "mark": {"name": name}}, st.one_of(st.text(max_size=8), junk)),
    st.just({"event": "connected", "protocol": "Call", "version": "1.0.0"}),
    st.just({"event": "stop", "stop": {"accountSid": ACCOUNT_SID}}),
    st.builds(lambda event, body: {"event": event, event if isinstance(event, str) else "x": body},
              st.one_of(st.sampled_from(["media", "dtmf", "mark", "start", "clear", "unknown", ""]), junk), junk),
    st.dictionaries(st.text(max_size=8), junk, max_size=4),
)
frames = st.one_of(
    messages.map(json.dumps),
    messages.map(json.dumps),
    messages.map(json.dumps),
    st.text(max_size=40), st.binary(max_size=40), junk.map(json.dumps),
    messages.map(lambda message: json.dumps(message).encode("utf-8")),
)


def start_message(call_sid: str, stream_sid: str, mutation: str) -> dict[str, Any]:
    start: dict[str, Any] = {"accountSid": ACCOUNT_SID, "streamSid": stream_sid, "callSid": call_sid,
                             "tracks": ["inbound"], "customParameters": {"seq": "1"},
                             "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1}}
    if mutation == "no-parameters":
        del start["customParameters"]
    elif mutation == "odd-parameters":
        start["customParameters"] = ["seq", 1]
    return {"event": "start", "sequenceNumber": "1", "start": start, "streamSid": stream_sid}


@dataclass
class Stream:
    handler: MediaStreamHandler
    sessions: Sessions


@pytest.fixture
def stream(app: Flask, tmp_path: Path) -> Stream:
    sessions = Sessions(app)
    return Stream(MediaStreamHandler(AUTH_TOKEN, None, sessions, recordings_dir=tmp_path / "recordings"), sessions)


def serve(app: Flask, handler: MediaStreamHandler, socket: FakeSocket) -> None:
    """Run one connection as flask-sock would, inside the signed handshake's request context."""
    signature = RequestValidator(AUTH_TOKEN).compute_signature(f"ws://localhost{PATH}", {})
    with app.test_request_context(PATH, base_url=BASE, headers={"X-Twilio-Signature": signature}):
        handler.serve(socket)  # type: ignore[arg-type]


# -- properties -----------------------------------------------------------------------------

def _not_a_start(frame: str | bytes) -> bool:
    message = _parse(frame)
    return message is None or message.get("event") != "start"  # a bad start closes the stream, by design


@settings(max_examples=scaled(80))
@given(before=st.lists(frames.filter(_not_a_start), max_size=4), after=st.lists(frames, max_size=25),
       started=st.sampled_from(["start", "start", "start", "none", "no-parameters", "odd-parameters"]),
       loud=st.integers(0, 15), echo_marks=st.booleans(), second_start=st.booleans())
def test_fuzzed_frames_end_cleanly_and_lose_nothing(app: Flask, stream: Stream, before: list, after: list,
                                                    started: str, loud: int, echo_marks: bool,
                                                    second_start: bool) -> None:
    n = next(_SIDS)
    call_sid, stream_sid = f"CA{n:032x}", f"MZ{n:032x}"
    service = app.extensions["hotline"].service
    service.begin(sid=call_sid, caller="+84901111222", to="1022", render=actions_to_json)  # the voice webhook
    script: list[str | bytes] = list(before)
    if started != "none":
        script.append(json.dumps(start_message(call_sid, stream_sid, started)))
        script += [json.dumps(media(base64.b64encode(LOUD if i % 7 < 3 else QUIET).decode(), str(20 * i)))
                   for i in range(loud)]
    script += after
    if second_start:
        # A sid no other example uses ("MZ{n:031x}f" was the first stream of example 16n+15, whose
        # recording then belonged to this call: found by the 2,000-example run).
        script.append(json.dumps(start_message(call_sid, f"MZf{n:031x}", "start")))
    socket = FakeSocket(script, echo_marks)
    built = len(stream.sessions.built)
    with logged_errors() as errors:
        serve(app, stream.handler, socket)
    note(f"sent: {socket.sent[:5]}")
    assert not errors.records, [record.getMessage() for record in errors.records]
    assert stream.handler.backlog() == {}  # the worker drained and ended
    new = stream.sessions.built[built:]
    if started == "none":
        return
    assert len(new) == 1
    _, ears = new[0]
    assert ears.closed  # on_stop ran: the recogniser was given back
    service.end(sid=call_sid, status="completed", duration_s=None, caller="+84901111222", to="1022")
    with app.extensions["hotline"].sessions() as db:
        call = db.scalars(select(Call).where(Call.sid == call_sid)).one()
        recordings = db.scalars(select(Recording).where(Recording.call_id == call.id)).all()
        case = db.scalars(select(Case).where(Case.call_id == call.id)).one_or_none()
        assert any(rec.purpose == "call" and rec.status == "stored" for rec in recordings)
        assert case is not None and call.ended_at is not None


@given(st.one_of(st.text(), st.binary(), junk.map(json.dumps)))
def test_any_frame_parses_to_an_object_or_nothing(frame: str | bytes) -> None:
    message = _parse(frame)
    assert message is None or isinstance(message, dict)


def test_a_stream_with_only_a_start_keeps_its_recording(app: Flask, stream: Stream) -> None:
    service = app.extensions["hotline"].service
    service.begin(sid="CA" + "e" * 32, caller="+84901111222", to="1022", render=actions_to_json)
    serve(app, stream.handler, FakeSocket([json.dumps(start_message("CA" + "e" * 32, "MZ" + "e" * 32, "start"))], True))
    service.end(sid="CA" + "e" * 32, status="completed", duration_s=None, caller="+84901111222", to="1022")
    with app.extensions["hotline"].sessions() as db:
        call = db.scalars(select(Call).where(Call.sid == "CA" + "e" * 32)).one()
        assert [rec.purpose for rec in call.recordings] == ["call"] and call.case is not None
