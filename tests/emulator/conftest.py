"""A small Flask app that checks Twilio signatures like our server must, served on a loopback port."""

from __future__ import annotations

import io
import math
import struct
import wave
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask import Flask, Response, request
from twilio.request_validator import RequestValidator
from twilio.twiml.voice_response import VoiceResponse

from ivr.twilio.emulator import Emulator
from serving import LocalServer

AUTH_TOKEN = "emulator-test-token-0123456789abcdef"
ACCOUNT_SID = "AC" + "0123456789abcdef" * 2


@dataclass(frozen=True)
class Hit:
    """One request the app received."""

    method: str
    path: str
    url: str
    params: dict[str, str]
    valid: bool
    idempotency_token: str | None


class TwilioApp:
    """A Flask app whose routes return TwiML and which records every request and its signature check."""

    def __init__(self, token: str = AUTH_TOKEN) -> None:
        self.app = Flask(__name__)
        self.validator = RequestValidator(token)
        self.hits: list[Hit] = []
        self.base_url = ""
        self.app.before_request(self._check_signature)

    def _check_signature(self) -> Response | None:
        query = request.query_string.decode()
        url = self.base_url + request.path + (f"?{query}" if query else "")
        valid = self.validator.validate(url, request.form, request.headers.get("X-Twilio-Signature", ""))
        params = dict(request.form) if request.method == "POST" else dict(request.args)
        self.hits.append(Hit(request.method, request.path, url, params, valid,
                             request.headers.get("I-Twilio-Idempotency-Token")))
        if not valid:
            return Response("bad signature", status=403)
        return None

    def twiml(self, path: str, methods: tuple[str, ...] = ("POST",)) -> Callable:
        """Register a view returning a VoiceResponse (or a (body, status) tuple) at `path`."""

        def register(view: Callable[[], VoiceResponse | tuple]) -> Callable:
            def endpoint() -> Response:
                result = view()
                if isinstance(result, VoiceResponse):
                    return Response(str(result), mimetype="text/xml")
                return Response(*result)

            self.app.add_url_rule(path, path, endpoint, methods=list(methods))
            return view

        return register

    def empty(self, *paths: str) -> None:
        """Routes answering 204, like callback endpoints."""
        for path in paths:
            self.app.add_url_rule(path, path, lambda: Response(status=204), methods=["POST"])

    def to(self, path: str) -> list[Hit]:
        """The requests received at `path`."""
        return [h for h in self.hits if h.path == path]

    @property
    def paths(self) -> list[str]:
        return [h.path for h in self.hits]


@pytest.fixture
def server() -> Iterator[TwilioApp]:
    app = TwilioApp()
    app.empty("/twilio/status")
    with LocalServer(app.app) as local:
        app.base_url = local.url
        yield app


@pytest.fixture
def phone(server: TwilioApp) -> Iterator[Callable[..., Emulator]]:
    """Build emulators pointed at the app; all are closed at the end of the test."""
    made: list[Emulator] = []

    def make(**options: object) -> Emulator:
        options.setdefault("pause_scale", 0.0)
        emulator = Emulator(server.base_url, AUTH_TOKEN, ACCOUNT_SID, **options)  # type: ignore[arg-type]
        made.append(emulator)
        return emulator

    yield make
    for emulator in made:
        emulator.close()


def make_tone_wav(seconds: float, rate: int = 8000) -> bytes:
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


@pytest.fixture
def voice_wav(tmp_path: Path) -> Path:
    """A 2.2-second WAV the caller 'speaks'."""
    path = tmp_path / "caller.wav"
    path.write_bytes(make_tone_wav(2.2))
    return path


@pytest.fixture
def tone_wav() -> Callable[..., bytes]:
    """make_tone_wav, for tests that need WAV bytes of a given length."""
    return make_tone_wav
