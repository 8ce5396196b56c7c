"""The stream timeline: where bot audio lands in the caller's ears, and how long each answer took."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt

from ivr.twilio.emulator.timeline import BotTrack, TurnTimer, numbered
from speech.mulaw import mulaw_decode
from tests.emulator.streams import read_wav

TONE = bytes([0x10, 0x90] * 80)  # 20 ms, loud
OTHER = bytes([0x20, 0xA0] * 80)  # 20 ms, another sound


def silence(seconds: float) -> npt.NDArray[np.int16]:
    return np.zeros(round(seconds * 8000), dtype=np.int16)


def test_bot_audio_plays_from_its_arrival_or_after_what_is_queued(tmp_path: Path) -> None:
    track = BotTrack()
    track.add(0.5, TONE * 5)  # plays 0.5–0.6
    track.add(0.54, OTHER * 5)  # arrives while the tone plays: 0.6–0.7
    track.add(1.0, TONE)  # after a quiet gap: 1.0–1.02
    assert track.end_s == 1.02

    assert track.write(tmp_path / "bot.wav", 1.5) == 1.5  # padded to the stream's length
    expected = np.concatenate([silence(0.5), mulaw_decode(TONE * 5), mulaw_decode(OTHER * 5), silence(0.3),
                               mulaw_decode(TONE), silence(0.48)])
    np.testing.assert_array_equal(read_wav(tmp_path / "bot.wav"), expected)


def test_a_clear_drops_what_had_not_played_and_later_audio_starts_on_arrival(tmp_path: Path) -> None:
    track = BotTrack()
    track.add(0.0, TONE * 50)  # one second queued
    track.cut(0.3)
    assert track.end_s == 0.3
    track.cut(5.0)  # nothing queued that late: nothing changes
    assert track.end_s == 0.3
    track.add(0.4, OTHER)  # from its arrival, not after the dropped audio

    # the file runs past the caller's audio when the bot's audio ends later
    assert track.write(tmp_path / "bot.wav", 0.2) == 0.42
    expected = np.concatenate([mulaw_decode(TONE * 15), silence(0.1), mulaw_decode(OTHER)])
    np.testing.assert_array_equal(read_wav(tmp_path / "bot.wav"), expected)


def test_a_quiet_bot_leaves_a_silent_file_as_long_as_the_stream(tmp_path: Path) -> None:
    assert BotTrack().write(tmp_path / "bot.wav", 0.26) == 0.26
    np.testing.assert_array_equal(read_wav(tmp_path / "bot.wav"), silence(0.26))


def test_a_turn_is_timed_from_its_last_frame_to_the_next_bot_frame() -> None:
    timer = TurnTimer()
    assert timer.bot_audio(0.2, 10.0) is None  # a greeting: no turn waits
    assert timer.caller_done("say", 1.5, 100.0) is None
    assert timer.bot_audio(1.84, 100.3125) == {"event": "turn", "input": "say", "caller_end_s": 1.5,
                                               "bot_start_s": 1.84, "latency_ms": 312.5}
    assert timer.bot_audio(1.86, 100.33) is None  # the rest of the reply answers nothing
    assert timer.latencies_ms == [312.5]


def test_a_turn_the_bot_never_answered_has_nulls() -> None:
    timer = TurnTimer()
    assert timer.caller_done("press", 3.0, 200.0) is None
    # the caller ends another turn first: the waiting one was never answered
    assert timer.caller_done("record", 5.0, 202.0) == {"event": "turn", "input": "press", "caller_end_s": 3.0,
                                                       "bot_start_s": None, "latency_ms": None}
    assert timer.finish() == {"event": "turn", "input": "record", "caller_end_s": 5.0,
                              "bot_start_s": None, "latency_ms": None}
    assert timer.finish() is None
    assert timer.latencies_ms == [None, None]


def test_later_streams_of_a_call_get_numbered_files() -> None:
    base = Path("out/bot.wav")
    assert [numbered(base, n) for n in (1, 2, 3)] == [base, Path("out/bot-2.wav"), Path("out/bot-3.wav")]
