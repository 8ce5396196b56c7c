"""Our emulator and our Media Streams transport speak the same protocol, end to end over real sockets."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import numpy as np
from flask import Flask, Response, request
from flask_sock import Sock
from twilio.twiml.voice_response import VoiceResponse

from ivr.twilio.emulator import Emulator
from ivr.twilio.media import MediaStreamHandler
from ivr.twilio.sender import Sender
from serving import LocalServer
from speech.mulaw import mulaw_encode
from tests.e2e.support import ACCOUNT_SID, AUTH_TOKEN

TONE = mulaw_encode((np.sin(np.arange(2400) * 2 * np.pi * 440 / 8000) * 8000).astype(np.int16))


class KeypadEcho:
    """A session that answers the first key with 0.3 s of tone, then hangs the stream up after it played."""

    def __init__(self, sender: Sender, log: list[Any]) -> None:
        self.sender, self.log = sender, log

    def on_audio(self, ulaw: bytes, timestamp_ms: int) -> None:
        self.log.append(("audio", len(ulaw)))

    def on_dtmf(self, digit: str) -> None:
        self.log.append(("dtmf", digit, threading.current_thread().name))
        self.sender.play([TONE[i:i + 160] for i in range(0, len(TONE), 160)], mark="answer")

    def on_mark(self, name: str) -> None:
        self.log.append(("mark", name))
        self.sender.close()

    def on_stop(self) -> None:
        self.log.append(("stop",))


def test_a_streamed_call_round_trips_between_emulator_and_server(tmp_path: Path) -> None:
    log: list[Any] = []
    app = Flask(__name__)
    handler = MediaStreamHandler(AUTH_TOKEN, None, lambda call, stream, params, sender: KeypadEcho(sender, log),
                                 recordings_dir=tmp_path)
    handler.register(app, Sock(app))

    @app.post("/twilio/voice")
    def voice() -> Response:
        response = VoiceResponse()
        stream = response.connect().stream(url=f"ws://{request.host}/twilio/media")
        stream.parameter(name="menu", value="main")
        response.say("Tạm biệt.", language="vi-VN")
        return Response(str(response), mimetype="application/xml")

    @app.post("/twilio/status")
    def status() -> Response:
        return Response(status=204)

    with LocalServer(app) as server:
        with Emulator(server.url, AUTH_TOKEN, ACCOUNT_SID, media_pace=0.0, media_patience=0.3) as emulator:
            result = emulator.call(["press:1"])

    kinds = [event["event"] for event in result.events]
    assert "stream_started" in kinds and "prompt_audio" in kinds and "mark" in kinds
    assert [e for e in result.events if e["event"] == "stream_ended"][0]["by"] == "server"
    assert result.prompts == ["Tạm biệt."], "the TwiML after <Connect> runs once the server closes"
    assert ("dtmf", "1") in [entry[:2] for entry in log if entry[0] == "dtmf"]
    assert ("mark", "answer") in log and log[-1] == ("stop",)
    assert all(entry[1] == 160 for entry in log if entry[0] == "audio")
    recordings = list(tmp_path.glob("*/stream.wav"))
    assert len(recordings) == 1 and recordings[0].stat().st_size > 44
