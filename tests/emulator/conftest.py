"""A small Flask app that checks Twilio signatures like our server must, served on a loopback port."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask import Flask, Response, request
from twilio.request_validator import RequestValidator
from twilio.twiml.voice_response import VoiceResponse

from ivr.twilio.emulator import Emulator
from serving import LocalServer
from tests.emulator.streams import ACCOUNT_SID, AUTH_TOKEN, StreamApp, ToneSynthesizer, tone_wav


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


def _emulators(base_url: str, defaults: dict[str, object]) -> Iterator[Callable[..., Emulator]]:
    """A factory of emulators pointed at base_url with these default options, closed afterwards."""
    made: list[Emulator] = []

    def make(**options: object) -> Emulator:
        emulator = Emulator(base_url, AUTH_TOKEN, ACCOUNT_SID, **(defaults | options))  # type: ignore[arg-type]
        made.append(emulator)
        return emulator

    yield make
    for emulator in made:
        emulator.close()


@pytest.fixture
def phone(server: TwilioApp) -> Iterator[Callable[..., Emulator]]:
    """Build emulators pointed at the app; all are closed at the end of the test."""
    yield from _emulators(server.base_url, {"pause_scale": 0.0})


@pytest.fixture
def stream_app() -> Iterator[StreamApp]:
    """A Media Streams server (see streams.py) on a loopback port."""
    app = StreamApp()
    with LocalServer(app.app) as local:
        app.base_url = local.url
        app.stream_url = local.url.replace("http://", "ws://") + "/media"
        yield app


@pytest.fixture
def stream_phone(stream_app: StreamApp) -> Iterator[Callable[..., Emulator]]:
    """Emulators calling stream_app: frames as fast as possible, a short patience, a tone for every say:."""
    yield from _emulators(stream_app.base_url, {"pause_scale": 0.0, "media_pace": 0.0, "media_patience": 0.3,
                                                "synthesizer": ToneSynthesizer()})


@pytest.fixture
def voice_wav(tmp_path: Path) -> Path:
    """A 2.2-second WAV the caller 'speaks'."""
    path = tmp_path / "caller.wav"
    path.write_bytes(tone_wav(2.2))
    return path


@pytest.fixture(name="tone_wav")
def tone_wav_fixture() -> Callable[..., bytes]:
    """streams.tone_wav, for tests that need WAV bytes of a given length."""
    return tone_wav
