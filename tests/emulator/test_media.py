"""<Connect><Stream>: the emulator speaks Media Streams to a flask-sock server as Twilio does."""

from __future__ import annotations

import base64
import json
import re
import time
from pathlib import Path

import pytest

from tests.emulator.streams import (
    ACCOUNT_SID,
    SILENCE_FRAME,
    StreamApp,
    send_audio,
    send_mark,
    tone_wav,
)


def test_stream_speaks_twilio_media_streams(stream_app: StreamApp, stream_phone) -> None:
    result = stream_phone().call(['say:"xin chào"', "press:12#"])
    assert stream_app.done.wait(5)

    # the handshake is signed over the stream URL with no parameters
    [(url, signature, valid)] = stream_app.handshakes
    assert url == stream_app.stream_url and valid
    assert not stream_app.validator.validate(url, {}, signature[:-2] + "xx")
    assert not stream_app.validator.validate(url.replace("/media", "/other"), {}, signature)

    messages = stream_app.messages
    assert messages[0] == {"event": "connected", "protocol": "Call", "version": "1.0.0"}
    start = messages[1]
    sid = start["streamSid"]
    assert re.fullmatch(r"MZ[0-9a-f]{32}", sid)
    assert start == {"event": "start", "sequenceNumber": "1", "streamSid": sid, "start": {
        "streamSid": sid, "accountSid": ACCOUNT_SID, "callSid": result.sid, "tracks": ["inbound"],
        "customParameters": {"x": "y"},
        "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1}}}
    assert [m["sequenceNumber"] for m in messages[1:]] == [str(n) for n in range(1, len(messages))]
    assert all(m["streamSid"] == sid for m in messages[1:])

    media = stream_app.of("media")
    payloads = [base64.b64decode(m["media"]["payload"]) for m in media]
    assert all(len(p) == 160 for p in payloads)
    assert [m["media"]["chunk"] for m in media] == [str(n) for n in range(1, len(media) + 1)]
    assert [m["media"]["timestamp"] for m in media] == [str(20 * n) for n in range(len(media))]
    assert {m["media"]["track"] for m in media} == {"inbound"}
    spoken = [i for i, p in enumerate(payloads) if p != SILENCE_FRAME]
    assert len(spoken) == 15  # 0.3 s of speech
    assert spoken == list(range(spoken[0], spoken[0] + 15))
    assert spoken[0] > 0  # the caller listened (silence) before speaking

    dtmf = stream_app.of("dtmf")
    assert [m["dtmf"] for m in dtmf] == [{"track": "inbound_track", "digit": d} for d in "12#"]
    first_key = messages.index(dtmf[0])
    speech_end = messages.index(media[spoken[-1]])
    assert sum(1 for m in messages[speech_end + 1:first_key] if m["event"] == "media") >= 50  # ≥ 1 s of silence

    assert [m["mark"] for m in stream_app.of("mark")] == [{"name": "reply-done"}]
    assert stream_app.of("stop") == []  # the server closed: Twilio does not stop

    kinds = [e["event"] for e in result.events]
    assert kinds[:2] == ["call_started", "stream_started"]
    assert result.of("stream_started")[0]["parameters"] == {"x": "y"}
    assert result.of("stream_audio") == [{"event": "stream_audio", "source": 'say:"xin chào"', "seconds": 0.3}]
    assert result.of("dtmf") == [{"event": "dtmf", "digits": "12#"}]
    assert result.of("prompt_audio") == [{"event": "prompt_audio", "seconds": 0.5}]
    assert result.of("mark") == [{"event": "mark", "name": "reply-done"}]
    assert result.of("stream_ended") == [{"event": "stream_ended", "stream_sid": sid, "by": "server"}]
    assert kinds.index("stream_ended") < kinds.index("prompt")
    assert result.prompts == ["sau stream"]
    assert (result.status, result.hung_up_by) == ("completed", "server")
    assert result.errors == [] and result.unused_steps == []
    assert all(stream_app.voice_valid)
    assert [s["CallStatus"] for s in stream_app.status] == ["completed"]
    assert stream_app.status[0]["CallSid"] == result.sid


def test_marks_wait_for_playback_and_clear_echoes_them_at_once(stream_app: StreamApp, stream_phone) -> None:
    timings: dict[str, float] = {}

    def script(app: StreamApp, ws) -> None:
        sid = app.receive_until(ws, lambda m: m["event"] == "start")["streamSid"]
        send_audio(ws, sid, 0.3)
        send_mark(ws, sid, "short")
        timings["short"] = time.monotonic()
        app.receive_until(ws, lambda m: m["event"] == "mark")
        send_audio(ws, sid, 3.0)
        send_mark(ws, sid, "long")
        time.sleep(0.1)
        ws.send(json.dumps({"event": "clear", "streamSid": sid}))
        timings["clear"] = time.monotonic()
        app.receive_until(ws, lambda m: m["event"] == "mark")

    stream_app.script = script
    result = stream_phone(media_pace=1.0, media_patience=0.5).call()
    assert stream_app.done.wait(5)

    short_delay = stream_app.marks_echoed["short"] - timings["short"]
    assert 0.25 <= short_delay < 1.0  # echoed once 0.3 s of audio had played
    assert stream_app.marks_echoed["long"] - timings["clear"] < 0.5  # not after 3 s: clear flushed it
    assert result.of("prompt_audio") == [{"event": "prompt_audio", "seconds": 0.3},
                                        {"event": "prompt_audio", "seconds": 3.0}]
    assert result.of("clear") == [{"event": "clear"}]
    assert [e["name"] for e in result.of("mark")] == ["short", "long"]
    assert result.of("stream_ended")[0]["by"] == "server"
    assert result.prompts == ["sau stream"]
    # a continuous line: real-time silence frames kept flowing while the bot spoke
    assert len(stream_app.of("media")) >= 15


def test_caller_hangs_up_with_stop(stream_app: StreamApp, stream_phone, tmp_path: Path) -> None:
    def script(app: StreamApp, ws) -> None:
        app.receive_until(ws, lambda m: m["event"] == "stop")

    stream_app.script = script
    voice = tmp_path / "voice.wav"
    voice.write_bytes(tone_wav(0.2, 8000))
    result = stream_phone().call(["wait:0.1", f"record:{voice}", "press:5", "hangup", "press:9"])
    assert stream_app.done.wait(5)

    media = stream_app.of("media")
    assert sum(1 for m in media if base64.b64decode(m["media"]["payload"]) != SILENCE_FRAME) == 10
    assert [m["dtmf"]["digit"] for m in stream_app.of("dtmf")] == ["5"]
    [stop] = stream_app.of("stop")
    assert stop["stop"] == {"accountSid": ACCOUNT_SID, "callSid": result.sid}
    assert stop is stream_app.messages[-1]
    assert result.of("wait") == [{"event": "wait", "seconds": 0.1}]
    assert result.of("stream_ended")[0]["by"] == "caller"
    assert result.hung_up_by == "caller" and result.prompts == []
    assert result.unused_steps == ["press:9"]
    assert [s["CallStatus"] for s in stream_app.status] == ["completed"]


def test_caller_hangs_up_when_steps_run_out(stream_app: StreamApp, stream_phone) -> None:
    stream_app.script = lambda app, ws: app.receive_until(ws, lambda m: m["event"] == "stop")
    result = stream_phone().call(["press:1"])
    assert stream_app.done.wait(5)
    assert [m["event"] for m in stream_app.messages][-1] == "stop"
    assert result.of("hangup")[0]["by"] == "caller"
    assert result.prompts == []


def test_server_messages_twilio_rejects_are_reported(stream_app: StreamApp, stream_phone) -> None:
    def script(app: StreamApp, ws) -> None:
        sid = app.receive_until(ws, lambda m: m["event"] == "start")["streamSid"]
        ws.send("not json")
        ws.send("{also not json")  # reported once per stream
        ws.send(b"\x00binary")
        ws.send(json.dumps({"event": "hello", "streamSid": sid}))
        ws.send(json.dumps({"event": "media", "streamSid": sid, "media": {"payload": "%%%"}}))
        send_mark(ws, sid, "ok")
        app.receive_until(ws, lambda m: m["event"] == "mark")

    stream_app.script = script
    result = stream_phone().call()
    assert [e["code"] for e in result.errors] == [31950, 31924, 31924]
    assert result.of("mark") == [{"event": "mark", "name": "ok"}]
    assert result.prompts == ["sau stream"]


@pytest.mark.parametrize(("target", "code"), [
    ("/refuse", 31920),     # HTTP 403 instead of 101
    ("closed-port", 31902),  # nothing listening
    ("https", 31922),       # not ws:// or wss://
])
def test_stream_that_cannot_open_is_an_error_and_the_call_goes_on(stream_app: StreamApp, stream_phone, target: str,
                                                                   code: int) -> None:
    if target == "closed-port":
        import socket

        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        stream_app.stream_url = f"ws://127.0.0.1:{port}/media"
    elif target == "https":
        stream_app.stream_url = stream_app.base_url + "/media"
    else:
        stream_app.stream_url = stream_app.stream_url.replace("/media", target)
    result = stream_phone().call(["press:1"])
    assert [e["code"] for e in result.errors] == [code]
    assert result.of("stream_started") == []
    assert result.prompts == ["sau stream"]
    assert result.hung_up_by == "server"
    assert [s["CallStatus"] for s in stream_app.status] == ["completed"]
