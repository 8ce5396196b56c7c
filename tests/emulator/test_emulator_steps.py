"""Parsing the caller's steps."""

from __future__ import annotations

import unicodedata
from pathlib import Path

import pytest

from ivr.twilio.emulator import HangUp, Press, RecordFile, Speak, StepError, Wait, parse_step, parse_steps


@pytest.mark.parametrize(("text", "step"), [
    ("press:1", Press("1")),
    ("press:0909123456#", Press("0909123456#")),
    ("press:*9", Press("*9")),
    ("press:#", Press("#")),
    ('say:"xin chào"', Speak("xin chào")),
    ("say:'cây ngã'", Speak("cây ngã")),
    ("say:ngập nước", Speak("ngập nước")),
    ("wait:2", Wait(2.0)),
    ("wait:0.5", Wait(0.5)),
    ("hangup", HangUp()),
    ("  hangup ", HangUp()),
])
def test_parses_steps(text: str, step: object) -> None:
    assert parse_step(text) == step


def test_say_text_is_nfc() -> None:
    step = parse_step(unicodedata.normalize("NFD", 'say:"phản ánh"'))
    assert step == Speak("phản ánh")


def test_record_needs_a_readable_wav(tmp_path: Path, tone_wav) -> None:
    good = tmp_path / "a.wav"
    good.write_bytes(tone_wav(0.2))
    assert parse_step(f"record:{good}") == RecordFile(good)
    (tmp_path / "bad.wav").write_bytes(b"nope")
    with pytest.raises(StepError, match="not a PCM WAV"):
        parse_step(f"record:{tmp_path / 'bad.wav'}")
    with pytest.raises(StepError, match="cannot read"):
        parse_step(f"record:{tmp_path / 'missing.wav'}")
    with pytest.raises(StepError, match=r"\.wav"):
        parse_step(f"record:{tmp_path / 'a.mp3'}")


@pytest.mark.parametrize(("text", "message"), [
    ("press:", "press takes keys"),
    ("press:1#2", "press takes keys"),
    ("press:12a", "press takes keys"),
    ("say:", "say needs some text"),
    ('say:""', "say needs some text"),
    ("wait:soon", "wait takes a number"),
    ("wait:-1", "between 0 and"),
    ("pres:1", "unknown kind 'pres'"),
    ("hang up", "expected KIND:VALUE"),
])
def test_bad_steps_are_named_in_the_error(text: str, message: str) -> None:
    with pytest.raises(StepError, match=message) as info:
        parse_step(text)
    assert repr(text) in str(info.value)


def test_steps_print_back_as_written() -> None:
    texts = ["press:12#", 'say:"xin chào"', "wait:1.5", "hangup"]
    assert [str(s) for s in parse_steps(texts)] == texts
