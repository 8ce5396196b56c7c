"""Attack 2, forged Media Stream handshakes on the real app's `/twilio/media` WebSocket (ivr/twilio/media.py).

tests/ivr/twilio/test_media.py checks the handler on its own; here the whole app is served on a port.

- no signature, an empty or forged one, one made with another token → HTTP 403 before any upgrade,
  no session, no recording: test_a_bad_handshake_is_refused_before_the_upgrade
- a valid signature over another URL (http instead of ws, wss, other host, port, path, query added,
  a webhook's signature) → 403: test_a_signature_over_another_url_is_refused
- the same handshake signed over its own URL is upgraded (101), so the refusals are the signature's:
  both tests end with it
"""

from __future__ import annotations

import base64
import http.client
from urllib.parse import urlsplit

import pytest
from flask import Flask

from serving import LocalServer
from tests.security.support import files, rows, signature

PATH = "/twilio/media"


def handshake(server: LocalServer, signed: str | None, path: str = PATH) -> int:
    """The HTTP status the app answers to a WebSocket upgrade request carrying this signature."""
    parts = urlsplit(server.url)
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=10)
    headers = {"Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Version": "13",
               "Sec-WebSocket-Key": base64.b64encode(b"0123456789abcdef").decode()}
    if signed is not None:
        headers["X-Twilio-Signature"] = signed
    try:
        connection.request("GET", path, headers=headers)
        return connection.getresponse().status
    finally:
        connection.close()


def own_url(server: LocalServer, path: str = PATH) -> str:
    """The URL the app rebuilds for this handshake (no public base URL: the Host it was sent to)."""
    return "ws://" + server.url.split("://", 1)[1] + path


@pytest.fixture
def sessions(app: Flask, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The calls a stream session was asked for (none may be, for a refused handshake)."""
    asked: list[str] = []
    media = app.extensions["hotline"].media

    def factory(call_sid: str, *args: object) -> object:
        asked.append(call_sid)
        raise RuntimeError("no sessions in this test")

    monkeypatch.setattr(media, "session_factory", factory)
    return asked


@pytest.mark.parametrize("forgery", ["absent", "empty", "forged", "other token"])
def test_a_bad_handshake_is_refused_before_the_upgrade(app: Flask, server: LocalServer, sessions: list[str],
                                                       forgery: str) -> None:
    recordings = app.extensions["hotline"].settings.recordings_dir
    before = rows(app), files(recordings)
    signed = {"absent": None, "empty": "", "forged": base64.b64encode(b"not a signature at all").decode(),
              "other token": signature(own_url(server), {}, token="not-our-token")}[forgery]
    assert handshake(server, signed) == 403
    assert sessions == [] and (rows(app), files(recordings)) == before
    assert handshake(server, signature(own_url(server), {})) == 101, "the same handshake, signed, is upgraded"


def test_a_signature_over_another_url_is_refused(app: Flask, server: LocalServer, sessions: list[str]) -> None:
    host = server.url.split("://", 1)[1]
    port = urlsplit(server.url).port
    before = rows(app)
    for url in (f"http://{host}{PATH}", f"https://{host}{PATH}", f"wss://{host}{PATH}", f"ws://evil.example{PATH}",
                f"ws://127.0.0.1:{(port or 0) + 1}{PATH}", f"ws://{host}/twilio/voice", f"ws://{host}{PATH}?x=1",
                f"ws://{host}{PATH}/", f"http://{host}/twilio/voice"):
        assert handshake(server, signature(url, {})) == 403, url
    assert handshake(server, signature(own_url(server), {}), path=PATH + "?x=1") == 403, "query added after signing"
    assert sessions == [] and rows(app) == before
    assert handshake(server, signature(own_url(server, PATH + "?x=1"), {}), path=PATH + "?x=1") == 101
