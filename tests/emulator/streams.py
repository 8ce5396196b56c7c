"""A Media Streams server for emulator tests (a flask-sock app whose stream route runs a per-test script),
and the audio helpers those tests share."""

from __future__ import annotations

import base64
import io
import json
import math
import struct
import threading
import time
import wave
from collections.abc import Callable
from pathlib import Path

import numpy as np
import numpy.typing as npt
from flask import Flask, Response, request
from flask_sock import Sock
from twilio.request_validator import RequestValidator
from twilio.twiml.voice_response import VoiceResponse

from speech.mulaw import SILENCE

AUTH_TOKEN = "emulator-test-token-0123456789abcdef"
ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
SILENCE_FRAME = bytes([SILENCE]) * 160
TONE_FRAME = bytes([0x10, 0x90] * 80)  # loud, not silence


def tone_wav(seconds: float, rate: int = 8000) -> bytes:
    """A mono 16-bit 440 Hz tone."""
    frames = b"".join(struct.pack("<h", int(8000 * math.sin(2 * math.pi * 440 * i / rate)))
                      for i in range(int(seconds * rate)))
    out = io.BytesIO()
    with wave.open(out, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(frames)
    return out.getvalue()


def read_wav(path: Path) -> npt.NDArray[np.int16]:
    """The samples of an 8 kHz mono 16-bit WAV (failing on any other format)."""
    with wave.open(str(path)) as wav:
        assert (wav.getnchannels(), wav.getsampwidth(), wav.getframerate()) == (1, 2, 8000)
        return np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2")


class ToneSynthesizer:
    """Speaks any text as 0.3 s of tone at 16 kHz (so the emulator resamples), without espeak."""

    def __init__(self) -> None:
        self.texts: list[str] = []

    def synthesize(self, text: str, path: Path) -> Path:
        self.texts.append(text)
        path.write_bytes(tone_wav(0.3, 16000))
        return path


Script = Callable[["StreamApp", object], None]


class StreamApp:
    """/twilio/voice connects `connects` streams in turn (then says "sau stream"); /media runs `script`."""

    def __init__(self) -> None:
        self.app = Flask(__name__)
        self.sock = Sock(self.app)
        self.validator = RequestValidator(AUTH_TOKEN)
        self.base_url = ""
        self.stream_url = ""  # set once serving; tests may point it elsewhere
        self.messages: list[dict] = []
        self.handshakes: list[tuple[str, str, bool]] = []  # (url, signature, valid)
        self.status: list[dict] = []
        self.voice_valid: list[bool] = []
        self.script: Script = reply_after_hash
        self.connects = 1
        self.marks_echoed: dict[str, float] = {}
        self.done = threading.Event()

        @self.app.post("/twilio/voice")
        def voice() -> Response:
            self.voice_valid.append(self.validator.validate(self.base_url + "/twilio/voice", request.form,
                                                            request.headers.get("X-Twilio-Signature", "")))
            r = VoiceResponse()
            for _ in range(self.connects):
                r.connect().stream(url=self.stream_url).parameter(name="x", value="y")
            r.say("sau stream")
            return Response(str(r), mimetype="text/xml")

        @self.app.post("/twilio/status")
        def status() -> Response:
            self.status.append(dict(request.form))
            return Response(status=204)

        @self.app.get("/refuse")
        def refuse() -> Response:
            return Response("no websockets here", status=403)

        @self.sock.route("/media")
        def media(ws) -> None:
            url = f"ws://{request.host}{request.path}"
            signature = request.headers.get("X-Twilio-Signature", "")
            self.handshakes.append((url, signature, self.validator.validate(url, {}, signature)))
            try:
                self.script(self, ws)
            finally:
                self.done.set()

    # helpers for scripts
    def receive(self, ws, timeout: float = 5.0) -> dict:
        raw = ws.receive(timeout=timeout)
        assert raw is not None, "the emulator went quiet"
        message = json.loads(raw)
        self.messages.append(message)
        if message["event"] == "mark":
            self.marks_echoed[message["mark"]["name"]] = time.monotonic()
        return message

    def receive_until(self, ws, done: Callable[[dict], bool]) -> dict:
        while True:
            message = self.receive(ws)
            if done(message):
                return message

    def of(self, kind: str) -> list[dict]:
        return [m for m in self.messages if m["event"] == kind]


def send_audio(ws, sid: str, seconds: float, frame: bytes = TONE_FRAME) -> None:
    """Bot audio: `seconds` of 20 ms media messages carrying `frame`."""
    for _ in range(round(seconds / 0.02)):
        ws.send(json.dumps({"event": "media", "streamSid": sid,
                            "media": {"payload": base64.b64encode(frame).decode()}}))


def send_mark(ws, sid: str, name: str) -> None:
    ws.send(json.dumps({"event": "mark", "streamSid": sid, "mark": {"name": name}}))


def reply_after_hash(app: StreamApp, ws) -> None:
    """Listen until the caller keys #, answer with 0.5 s of audio and a mark, wait for its echo, close."""
    last = app.receive_until(ws, lambda m: m["event"] == "dtmf" and m["dtmf"]["digit"] == "#")
    send_audio(ws, last["streamSid"], 0.5)
    send_mark(ws, last["streamSid"], "reply-done")
    app.receive_until(ws, lambda m: m["event"] == "mark")

