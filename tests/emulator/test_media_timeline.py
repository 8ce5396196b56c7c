"""A Media Stream's turns and bot audio, as the emulator reports and saves them."""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path

import numpy as np
import numpy.typing as npt

from speech.mulaw import mulaw_decode
from tests.emulator.streams import SILENCE_FRAME, TONE_FRAME, StreamApp, read_wav, send_audio, send_mark

OTHER_FRAME = bytes([0x20, 0xA0] * 80)


def runs(samples: npt.NDArray[np.int16]) -> list[tuple[int, int]]:
    """(start, end) sample indices of each stretch of sound between silences."""
    sound = np.concatenate([[0], (samples != 0).astype(np.int8), [0]])
    edges = np.flatnonzero(np.diff(sound))
    return list(zip(edges[::2].tolist(), edges[1::2].tolist(), strict=True))


def is_key(digit: str):
    return lambda m: m["event"] == "dtmf" and m["dtmf"]["digit"] == digit


def is_mark(m: dict) -> bool:
    return m["event"] == "mark"


def payload(message: dict) -> bytes:
    return base64.b64decode(message["media"]["payload"])


def test_turn_latency_and_what_the_caller_heard(stream_app: StreamApp, stream_phone, tmp_path: Path) -> None:
    def script(app: StreamApp, ws) -> None:
        sid = app.receive_until(ws, lambda m: m["event"] == "start")["streamSid"]
        send_audio(ws, sid, 0.2)  # a greeting
        send_mark(ws, sid, "greeting")
        app.receive_until(ws, is_mark)
        app.receive_until(ws, is_key("#"))
        time.sleep(0.1)  # thinking
        send_audio(ws, sid, 0.3, OTHER_FRAME)
        send_mark(ws, sid, "reply")
        app.receive_until(ws, is_mark)

    stream_app.script = script
    result = stream_phone(bot_wav=tmp_path / "bot.wav").call(["press:12#"])

    hash_at = next(i for i, m in enumerate(stream_app.messages) if is_key("#")(m))
    frames_before = sum(1 for m in stream_app.messages[:hash_at] if m["event"] == "media")
    [turn] = result.of("turn")
    assert turn["input"] == "press"
    assert turn["caller_end_s"] == round(frames_before * 0.02, 3)  # when the last key went out
    assert turn["bot_start_s"] > turn["caller_end_s"]
    assert 100 <= turn["latency_ms"] < 2000
    sid = result.of("stream_started")[0]["stream_sid"]
    assert result.of("stream_turns") == [{"event": "stream_turns", "stream_sid": sid,
                                          "latency_ms": [turn["latency_ms"]]}]

    [saved] = result.of("bot_wav")
    assert saved["path"] == str(tmp_path / "bot.wav") and saved["stream_sid"] == sid
    samples = read_wav(tmp_path / "bot.wav")
    assert saved["seconds"] == len(samples) / 8000
    (greeting, greeting_end), (reply, reply_end) = runs(samples)
    assert greeting % 160 == 0 and greeting_end - greeting == 1600  # on a frame of the stream, all of it
    np.testing.assert_array_equal(samples[greeting:greeting_end], mulaw_decode(TONE_FRAME * 10))
    assert reply == round(turn["bot_start_s"] * 8000)  # where the caller's clock stood when it arrived
    # at media_pace 0 audio plays on arrival, so the reply is kept whole though the server hung up at once
    np.testing.assert_array_equal(samples[reply:reply_end], mulaw_decode(OTHER_FRAME * 15))
    assert reply_end == len(samples) or not samples[reply_end:].any()

    kinds = [e["event"] for e in result.events]
    assert kinds.index("turn") < kinds.index("stream_turns") < kinds.index("bot_wav") < kinds.index("stream_ended")


def test_bot_audio_during_the_callers_speech_does_not_answer_it(stream_app: StreamApp, stream_phone) -> None:
    def script(app: StreamApp, ws) -> None:
        sid = app.receive_until(ws, lambda m: m["event"] == "start")["streamSid"]
        app.receive_until(ws, lambda m: m["event"] == "media" and payload(m) != SILENCE_FRAME)
        send_audio(ws, sid, 0.1)  # "ừ" while the caller speaks
        quiet = 0
        while quiet < 5:  # 100 ms of silence after the speech: the caller is done
            message = app.receive(ws)
            if message["event"] == "media":
                quiet = quiet + 1 if payload(message) == SILENCE_FRAME else 0
        send_audio(ws, sid, 0.2, OTHER_FRAME)
        send_mark(ws, sid, "reply")
        app.receive_until(ws, is_mark)

    stream_app.script = script
    result = stream_phone(media_pace=1.0).call(['say:"alo"'])

    spoken = [int(m["media"]["chunk"]) for m in stream_app.of("media") if payload(m) != SILENCE_FRAME]
    [turn] = result.of("turn")
    assert turn["input"] == "say"
    assert turn["caller_end_s"] == round(spoken[-1] * 0.02, 3)  # the end of its last speech frame
    assert turn["latency_ms"] >= 60  # the reply after the silence, not the "ừ" during the speech
    assert turn["bot_start_s"] >= turn["caller_end_s"] + 0.06


def test_turns_the_bot_never_answered_have_nulls(stream_app: StreamApp, stream_phone) -> None:
    def script(app: StreamApp, ws) -> None:
        sid = app.receive_until(ws, lambda m: m["event"] == "start")["streamSid"]
        app.receive_until(ws, is_key("2"))
        send_audio(ws, sid, 0.1)
        send_mark(ws, sid, "two")
        app.receive_until(ws, lambda m: m["event"] == "stop")

    stream_app.script = script
    result = stream_phone().call(["press:1", "press:2", "press:3"])

    turns = result.of("turn")
    assert [t["input"] for t in turns] == ["press"] * 3
    assert [t["bot_start_s"] is None for t in turns] == [True, False, True]  # the 3rd: the caller hung up
    assert turns[0]["latency_ms"] is None and turns[2]["latency_ms"] is None
    assert turns[0]["caller_end_s"] < turns[1]["caller_end_s"] < turns[2]["caller_end_s"]
    [summary] = result.of("stream_turns")
    assert summary["latency_ms"] == [None, turns[1]["latency_ms"], None]
    assert isinstance(turns[1]["latency_ms"], float)
    assert result.of("stream_ended")[0]["by"] == "caller"
    assert result.of("bot_wav") == []  # not asked for


def test_a_clear_cuts_the_bot_audio_where_it_came(stream_app: StreamApp, stream_phone, tmp_path: Path) -> None:
    def script(app: StreamApp, ws) -> None:
        sid = app.receive_until(ws, lambda m: m["event"] == "start")["streamSid"]
        send_audio(ws, sid, 3.0)
        time.sleep(0.2)
        ws.send(json.dumps({"event": "clear", "streamSid": sid}))
        time.sleep(0.1)
        send_audio(ws, sid, 0.1, OTHER_FRAME)
        send_mark(ws, sid, "after")
        app.receive_until(ws, is_mark)

    stream_app.script = script
    result = stream_phone(media_pace=1.0, bot_wav=tmp_path / "bot.wav").call()

    samples = read_wav(tmp_path / "bot.wav")
    (start, cut), (after, after_end) = runs(samples)
    assert 0.1 <= (cut - start) / 8000 <= 0.6  # about the 0.2 s that played before the clear
    np.testing.assert_array_equal(samples[start:cut], mulaw_decode(TONE_FRAME * 150)[:cut - start])
    assert 0.0 < (after - cut) / 8000 <= 0.5  # from its arrival, not after the dropped 3 s
    np.testing.assert_array_equal(samples[after:after_end], mulaw_decode(OTHER_FRAME * 5))
    assert result.of("bot_wav")[0]["seconds"] < 2.0


def test_audio_still_queued_when_the_caller_hangs_up_is_not_written(stream_app: StreamApp, stream_phone,
                                                                   tmp_path: Path) -> None:
    def script(app: StreamApp, ws) -> None:
        sid = app.receive_until(ws, lambda m: m["event"] == "start")["streamSid"]
        app.receive_until(ws, is_key("1"))
        send_audio(ws, sid, 5.0)
        app.receive_until(ws, lambda m: m["event"] == "stop")

    stream_app.script = script
    result = stream_phone(media_pace=1.0, bot_wav=tmp_path / "bot.wav").call(["press:1", "wait:0.3", "hangup"])

    spans = runs(read_wav(tmp_path / "bot.wav"))
    start, end = spans[0][0], spans[-1][1]
    assert 0.1 <= (end - start) / 8000 <= 0.6  # about the 0.3 s the caller waited, not 5 s
    assert result.of("bot_wav")[0]["seconds"] < 2.0
    assert result.of("turn")[0]["latency_ms"] is not None


def test_each_stream_of_a_call_has_its_own_file(stream_app: StreamApp, stream_phone, tmp_path: Path) -> None:
    stream_app.connects = 2  # the default script answers # with 0.5 s of audio, then closes
    result = stream_phone(bot_wav=str(tmp_path / "bot.wav")).call(["press:#", "press:#"])

    paths = [e["path"] for e in result.of("bot_wav")]
    assert paths == [str(tmp_path / "bot.wav"), str(tmp_path / "bot-2.wav")]
    for path in paths:  # under load the server's frames may arrive in bursts with gaps between them
        assert sum(end - start for start, end in runs(read_wav(Path(path)))) == 4000
    sids = [e["stream_sid"] for e in result.of("stream_started")]
    assert [e["stream_sid"] for e in result.of("stream_turns")] == sids and len(set(sids)) == 2
    assert len(result.of("turn")) == 2 and result.prompts == ["sau stream"]


def test_a_file_that_cannot_be_written_is_an_error_and_the_call_goes_on(stream_app: StreamApp, stream_phone,
                                                                         tmp_path: Path) -> None:
    result = stream_phone(bot_wav=tmp_path / "missing" / "bot.wav").call(["press:#"])
    [error] = result.errors
    assert error["message"].startswith(f"cannot write the bot's audio to {tmp_path / 'missing' / 'bot.wav'}")
    assert result.of("bot_wav") == []
    assert result.prompts == ["sau stream"] and len(result.of("turn")) == 1
