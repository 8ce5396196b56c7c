"""Media Streams over a real socket: a LocalServer runs the handler, simple-websocket plays Twilio."""

from __future__ import annotations

import base64
import http.client
import json
import threading
import time
import wave
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import numpy as np
import pytest
from flask import Flask
from flask_sock import Sock
from simple_websocket import Client, ConnectionClosed
from twilio.request_validator import RequestValidator

from ivr.twilio.media import PATH, MediaStreamHandler
from ivr.twilio.sender import Sender
from serving import LocalServer
from speech.mulaw import mulaw_decode, mulaw_encode
from tests.e2e.support import wait_until

TOKEN = "test-auth-token"
CALL_SID = "CA" + "1" * 32
STREAM_SID = "MZ" + "2" * 32
WAIT_S = 5.0
PUBLIC = "https://hotline.example.vn"
SIGNED_URL = f"wss://hotline.example.vn{PATH}"  # what Twilio signs when it connects to the public base


def tone(hz: float, frames: int, amplitude: int = 8000) -> list[bytes]:
    """`frames` 20 ms frames of a sine tone as μ-law."""
    t = np.arange(frames * 160) / 8000
    samples = (amplitude * np.sin(2 * np.pi * hz * t)).astype(np.int16)
    data = mulaw_encode(samples)
    return [data[i : i + 160] for i in range(0, len(data), 160)]


@dataclass
class FakeSession:
    """Notes every callback with the thread it ran on; optionally blocks in on_audio."""

    call_sid: str
    stream_sid: str
    parameters: dict[str, str]
    sender: Sender
    created_on: int
    gate: threading.Event | None = None
    calls: list[tuple[Any, ...]] = field(default_factory=list)
    threads: set[int] = field(default_factory=set)
    stopped: threading.Event = field(default_factory=threading.Event)

    def _note(self, *call: Any) -> None:
        self.threads.add(threading.get_ident())
        self.calls.append(call)

    def on_audio(self, ulaw: bytes, timestamp_ms: int) -> None:
        self._note("audio", ulaw, timestamp_ms)
        if self.gate is not None:
            assert self.gate.wait(WAIT_S)

    def on_dtmf(self, digit: str) -> None:
        self._note("dtmf", digit)

    def on_mark(self, name: str) -> None:
        self._note("mark", name)

    def on_stop(self) -> None:
        self._note("stop")
        self.stopped.set()

    def audio(self) -> list[bytes]:
        return [call[1] for call in self.calls if call[0] == "audio"]


@dataclass
class Served:
    url: str
    handler: MediaStreamHandler
    sessions: list[FakeSession]
    recordings: Path

    @property
    def ws_url(self) -> str:
        return self.url.replace("http://", "ws://", 1) + PATH

    def session(self) -> FakeSession:
        wait_until(lambda: bool(self.sessions), WAIT_S)
        return self.sessions[0]


@contextmanager
def served(tmp_path: Path, *, public_base_url: str | None = PUBLIC,
           gate: threading.Event | None = None) -> Iterator[Served]:
    sessions: list[FakeSession] = []

    def factory(call_sid: str, stream_sid: str, parameters: dict[str, str], sender: Sender) -> FakeSession:
        session = FakeSession(call_sid, stream_sid, parameters, sender, threading.get_ident(), gate)
        sessions.append(session)
        return session

    app = Flask(__name__)
    handler = MediaStreamHandler(TOKEN, public_base_url, factory, recordings_dir=tmp_path / "recordings")
    handler.register(app, Sock(app))
    with LocalServer(app) as server:
        yield Served(server.url, handler, sessions, tmp_path / "recordings")


@contextmanager
def twilio(ws_url: str, *, signed_url: str | None = None, signature: str | None = None) -> Iterator[Client]:
    """A client that signs the handshake as Twilio does, over `signed_url` (the public wss URL by default)."""
    if signature is None:
        signature = RequestValidator(TOKEN).compute_signature(signed_url or SIGNED_URL, {})
    headers = {"X-Twilio-Signature": signature} if signature else {}
    client = Client.connect(ws_url, headers=headers)
    try:
        yield client
    finally:
        if client.connected:
            client.close()
        client.thread.join(WAIT_S)


def send(client: Client, event: str, **body: Any) -> None:
    client.send(json.dumps({"event": event, "streamSid": STREAM_SID, **body}))


def start(client: Client, **parameters: str) -> None:
    client.send(json.dumps({"event": "connected", "protocol": "Call", "version": "1.0.0"}))
    send(client, "start", sequenceNumber="1", start={
        "streamSid": STREAM_SID, "accountSid": "AC" + "3" * 32, "callSid": CALL_SID, "tracks": ["inbound"],
        "customParameters": parameters,
        "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1}})


def media(client: Client, frames: list[bytes], first_ms: int = 0) -> None:
    for i, frame in enumerate(frames):
        send(client, "media", media={"track": "inbound", "chunk": str(i + 1), "timestamp": str(first_ms + 20 * i),
                                     "payload": base64.b64encode(frame).decode()})


def drain(client: Client) -> list[dict[str, Any]]:
    """Every message the server sends until it closes the socket."""
    received = []
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        try:
            text = client.receive(timeout=0.2)
        except ConnectionClosed:
            return received
        if text is not None:
            received.append(json.loads(text))
    raise AssertionError("the server did not close the socket")


def closed_by_server(client: Client) -> bool:
    try:
        drain(client)
    except AssertionError:
        return False
    return True


# -- handshake -------------------------------------------------------------------------------


def test_a_signed_handshake_starts_a_session(tmp_path: Path) -> None:
    with served(tmp_path) as s, twilio(s.ws_url) as client:
        start(client, menu="main", seq="3")
        session = s.session()
        assert (session.call_sid, session.stream_sid) == (CALL_SID, STREAM_SID)
        assert session.parameters == {"menu": "main", "seq": "3"}
        assert client.connected


def handshake_status(ws_url: str, signature: str | None) -> int:
    """The HTTP status the server answers to a WebSocket upgrade request with this signature."""
    parts = urlsplit(ws_url)
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=WAIT_S)
    headers = {"Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Version": "13",
               "Sec-WebSocket-Key": base64.b64encode(b"0123456789abcdef").decode()}
    if signature is not None:
        headers["X-Twilio-Signature"] = signature
    try:
        connection.request("GET", parts.path, headers=headers)
        return connection.getresponse().status
    finally:
        connection.close()


@pytest.mark.parametrize("signature", [None, "", "Zm9yZ2VkIHNpZ25hdHVyZQ=="], ids=["absent", "empty", "forged"])
def test_a_bad_handshake_gets_403_before_any_upgrade(tmp_path: Path, signature: str | None) -> None:
    with served(tmp_path) as s:
        assert handshake_status(s.ws_url, signature) == 403
        good = RequestValidator(TOKEN).compute_signature(SIGNED_URL, {})
        assert handshake_status(s.ws_url, good) == 101, "the same request, signed, is upgraded"
    assert s.sessions == [] and not s.recordings.exists()


def test_the_signature_covers_the_public_wss_url(tmp_path: Path) -> None:
    with served(tmp_path) as s:
        local = RequestValidator(TOKEN).compute_signature(s.ws_url, {})  # the address the app sees
        insecure = RequestValidator(TOKEN).compute_signature(f"ws://hotline.example.vn{PATH}", {})
        assert handshake_status(s.ws_url, local) == 403
        assert handshake_status(s.ws_url, insecure) == 403
        assert s.sessions == []


def test_without_a_public_base_the_request_host_is_signed(tmp_path: Path) -> None:
    # simple-websocket's client sends Host without the port, so that is the URL the server rebuilds
    with served(tmp_path, public_base_url=None) as s, twilio(s.ws_url, signed_url=f"ws://127.0.0.1{PATH}") as client:
        start(client)
        assert s.session().call_sid == CALL_SID


# -- frames in -------------------------------------------------------------------------------


def test_frames_reach_the_session_in_order_on_a_worker_thread(tmp_path: Path) -> None:
    frames = tone(440, 3)
    with served(tmp_path) as s, twilio(s.ws_url) as client:
        start(client)
        media(client, frames, first_ms=100)
        send(client, "dtmf", dtmf={"track": "inbound_track", "digit": "5"})
        send(client, "mark", mark={"name": "greeting"})
        send(client, "stop", stop={"accountSid": "AC" + "3" * 32, "callSid": CALL_SID})
        assert drain(client) == []
        session = s.session()
    assert session.calls == [("audio", frames[0], 100), ("audio", frames[1], 120), ("audio", frames[2], 140),
                             ("dtmf", "5"), ("mark", "greeting"), ("stop",)]
    assert len(session.threads) == 1 and session.created_on not in session.threads


def test_a_slow_session_does_not_stall_the_reader(tmp_path: Path) -> None:
    gate = threading.Event()
    with served(tmp_path, gate=gate) as s, twilio(s.ws_url) as client:
        start(client)
        media(client, tone(300, 21))
        send(client, "dtmf", dtmf={"digit": "1"})
        session = s.session()
        wait_until(lambda: len(session.calls) == 1, WAIT_S)  # the worker is now stuck in the first on_audio...
        wait_until(lambda: s.handler.backlog().get(STREAM_SID, 0) >= 22, WAIT_S)  # ...and the reader queued the rest
        assert len(session.calls) == 1
        gate.set()
        send(client, "stop")
        drain(client)
    assert len(session.audio()) == 21 and session.calls[-2:] == [("dtmf", "1"), ("stop",)]
    assert s.handler.backlog() == {}


def test_a_stuck_session_drops_audio_beyond_the_limit_but_keeps_keys(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("ivr.twilio.media.MAX_BACKLOG_FRAMES", 5)
    gate = threading.Event()
    with served(tmp_path, gate=gate) as s, twilio(s.ws_url) as client:
        start(client)
        media(client, tone(300, 3))
        session = s.session()
        wait_until(lambda: len(session.calls) == 1, WAIT_S)  # stuck in the first frame
        media(client, tone(300, 10), first_ms=60)
        send(client, "dtmf", dtmf={"digit": "7"})
        wait_until(lambda: s.handler.backlog().get(STREAM_SID, 0) >= 6, WAIT_S)
        gate.set()
        send(client, "stop")
        drain(client)
    assert len(session.audio()) == 5, "five frames (the one being handled included) at most; the rest dropped"
    assert session.calls[-2:] == [("dtmf", "7"), ("stop",)]


def test_garbage_frames_are_skipped_without_closing(tmp_path: Path) -> None:
    frame = tone(500, 1)[0]
    with served(tmp_path) as s, twilio(s.ws_url) as client:
        start(client)
        for garbage in ("not json", "[1, 2]", '{"event": "bogus"}', '{"no": "event"}', b"\x00\xff"):
            client.send(garbage)
        send(client, "media", media={"timestamp": "0", "payload": "!!not base64!!"})
        send(client, "media", media={"timestamp": "0"})
        send(client, "dtmf", dtmf={})
        send(client, "media", media={"timestamp": "x", "payload": base64.b64encode(frame).decode()})
        send(client, "dtmf", dtmf={"digit": "#"})
        session = s.session()
        wait_until(lambda: len(session.calls) == 2, WAIT_S)
        assert client.connected
        send(client, "stop")
        drain(client)
    assert session.calls == [("audio", frame, -1), ("dtmf", "#"), ("stop",)]


def test_the_caller_hanging_up_stops_the_session(tmp_path: Path) -> None:
    with served(tmp_path) as s:
        with twilio(s.ws_url) as client:
            start(client)
            media(client, tone(440, 2))
            session = s.session()
        assert session.stopped.wait(WAIT_S)
    assert [call[0] for call in session.calls] == ["audio", "audio", "stop"]


# -- frames out ------------------------------------------------------------------------------


def test_play_sends_media_then_a_mark(tmp_path: Path) -> None:
    frames = tone(800, 2)
    with served(tmp_path) as s, twilio(s.ws_url) as client:
        start(client)
        assert s.session().sender.play(frames, "prompt-1")
        received = [json.loads(client.receive(WAIT_S)) for _ in range(3)]
    assert [m["event"] for m in received] == ["media", "media", "mark"]
    assert {m["streamSid"] for m in received} == {STREAM_SID}
    assert [base64.b64decode(m["media"]["payload"]) for m in received[:2]] == frames
    assert received[2]["mark"] == {"name": "prompt-1"}


def test_clear_and_close(tmp_path: Path) -> None:
    with served(tmp_path) as s, twilio(s.ws_url) as client:
        start(client)
        session = s.session()
        assert session.sender.clear()
        assert json.loads(client.receive(WAIT_S)) == {"event": "clear", "streamSid": STREAM_SID}
        session.sender.close()
        assert drain(client) == []
        assert session.stopped.wait(WAIT_S)
        assert not session.sender.play(tone(800, 1), "late")  # after close: a no-op, not an error


# -- recording -------------------------------------------------------------------------------


def test_every_stream_leaves_a_stereo_recording(tmp_path: Path) -> None:
    caller, bot, silence = tone(440, 5), tone(1000, 5), [b"\xff" * 160] * 5
    with served(tmp_path) as s, twilio(s.ws_url) as client:
        start(client)
        media(client, caller)
        session = s.session()
        wait_until(lambda: len(session.audio()) == 5, WAIT_S)
        session.sender.play(bot, "answer")
        media(client, silence, first_ms=100)
        wait_until(lambda: len(session.audio()) == 10, WAIT_S)
        send(client, "stop")
        drain(client)
    with wave.open(str(s.recordings / CALL_SID / "stream.wav"), "rb") as wav:
        assert (wav.getnchannels(), wav.getsampwidth(), wav.getframerate()) == (2, 2, 8000)
        samples = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2").reshape(-1, 2)
    assert len(samples) == 1600
    left, right = samples[:, 0], samples[:, 1]
    np.testing.assert_array_equal(left[:800], mulaw_decode(b"".join(caller)))
    assert not left[800:].any() and not right[:800].any()
    np.testing.assert_array_equal(right[800:], mulaw_decode(b"".join(bot)))


def test_frames_after_stop_are_ignored_and_the_server_closes(tmp_path: Path) -> None:
    frame = tone(500, 1)[0]
    with served(tmp_path) as s, twilio(s.ws_url) as client:
        start(client)
        media(client, [frame])
        send(client, "stop")
        media(client, [frame, frame])  # Twilio never sends these; a confused peer might
        send(client, "dtmf", dtmf={"digit": "5"})
        session = s.session()
        assert session.stopped.wait(WAIT_S)
        assert closed_by_server(client)
    assert session.calls == [("audio", frame, 0), ("stop",)], "nothing reaches the session after stop"
