"""CallRecorder: a stereo WAV written as the call happens, caller left and bot right, on one timeline."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from speech.recorder import CallRecorder

RATE = 8000
FRAME = 160  # 20 ms


def tone(frequency: float, seconds: float, amplitude: float = 8000) -> npt.NDArray[np.int16]:
    t = np.arange(int(RATE * seconds)) / RATE
    return (amplitude * np.sin(2 * np.pi * frequency * t)).astype(np.int16)


def read_stereo(path: Path) -> tuple[wave._wave_params, npt.NDArray[np.int16]]:
    with wave.open(str(path), "rb") as wav:
        params = wav.getparams()
        frames = np.frombuffer(wav.readframes(params.nframes), dtype="<i2").reshape(-1, 2)
    return params, frames


def peak_hz(samples: npt.NDArray[np.int16]) -> float:
    spectrum = np.abs(np.fft.rfft(samples.astype(np.float64) * np.hanning(len(samples))))
    return float(np.fft.rfftfreq(len(samples), 1 / RATE)[np.argmax(spectrum)])


def test_bot_audio_lands_at_its_offset_on_the_caller_timeline(tmp_path: Path) -> None:
    caller, bot = tone(440, 2.0), tone(1000, 1.0)
    offsets = []
    with CallRecorder(tmp_path / "call.wav") as recorder:
        for start in range(0, len(caller), FRAME):
            if start == RATE // 2:  # at 0.5 s the bot sends a whole 1 s prompt in one burst
                offsets.append(recorder.offset_s())
                recorder.bot(bot)
            recorder.caller(caller[start : start + FRAME])
        offsets.append(recorder.offset_s())
    params, frames = read_stereo(tmp_path / "call.wav")
    assert (params.nchannels, params.sampwidth, params.framerate, params.nframes) == (2, 2, RATE, 2 * RATE)
    assert offsets == [0.5, 2.0]
    left, right = frames[:, 0], frames[:, 1]
    assert (left == caller).all()  # caller tone throughout
    assert not right[: RATE // 2].any()  # bot silent before 0.5 s
    assert (right[RATE // 2 : RATE * 3 // 2] == bot).all()  # its tone from 0.5 s to 1.5 s
    assert not right[RATE * 3 // 2 :].any()
    assert peak_hz(left) == pytest.approx(440, abs=1) and peak_hz(right[RATE // 2 : RATE * 3 // 2]) == pytest.approx(1000, abs=1)


def test_bot_bursts_queue_one_after_another(tmp_path: Path) -> None:
    path = tmp_path / "call.wav"
    with CallRecorder(path) as recorder:
        recorder.bot(np.full(FRAME, 100, dtype=np.int16))
        recorder.bot(np.full(FRAME, 200, dtype=np.int16))
        assert recorder.bot_pending_s() == pytest.approx(0.04)
        for _ in range(3):
            recorder.caller(np.zeros(FRAME, dtype=np.int16))
    _, frames = read_stereo(path)
    assert frames[:, 1].tolist() == [100] * FRAME + [200] * FRAME + [0] * FRAME


def test_clear_bot_drops_audio_not_yet_played(tmp_path: Path) -> None:
    path = tmp_path / "call.wav"
    with CallRecorder(path) as recorder:
        recorder.bot(np.full(4 * FRAME, 300, dtype=np.int16))
        recorder.caller(np.zeros(FRAME, dtype=np.int16))
        recorder.clear_bot()  # the caller barged in
        recorder.caller(np.zeros(FRAME, dtype=np.int16))
    _, frames = read_stereo(path)
    assert frames[:, 1].tolist() == [300] * FRAME + [0] * FRAME


def test_close_plays_out_queued_bot_audio_against_caller_silence(tmp_path: Path) -> None:
    path = tmp_path / "call.wav"
    recorder = CallRecorder(path)
    recorder.caller(np.full(FRAME, 5, dtype=np.int16))
    recorder.bot(np.full(2 * FRAME, 7, dtype=np.int16))  # goodbye, sent just before the line drops
    recorder.close()
    recorder.close()  # idempotent
    _, frames = read_stereo(path)
    assert frames[:, 0].tolist() == [5] * FRAME + [0] * 2 * FRAME
    assert frames[:, 1].tolist() == [0] * FRAME + [7] * 2 * FRAME


def test_a_crash_leaves_playable_audio_up_to_the_last_flush(tmp_path: Path) -> None:
    path = tmp_path / "call.wav"
    recorder = CallRecorder(path, flush_s=0.5)
    try:
        for frame in tone(440, 1.3).reshape(-1, FRAME)[:65]:  # 1.3 s, never closed
            recorder.caller(frame)
        params, frames = read_stereo(path)  # what another process would see after a crash
        assert params.nframes == len(frames) == RATE  # flushed at 0.5 s and 1.0 s
        assert (frames[:, 0] == tone(440, 1.3)[:RATE]).all()
    finally:
        recorder.close()
    assert read_stereo(path)[0].nframes == int(1.3 * RATE)


def test_explicit_flush_writes_everything(tmp_path: Path) -> None:
    path = tmp_path / "call.wav"
    with CallRecorder(path, flush_s=60) as recorder:
        recorder.caller(np.ones(FRAME, dtype=np.int16))
        assert path.stat().st_size == 44  # header only: nothing flushed yet
        recorder.flush()
        assert read_stereo(path)[0].nframes == FRAME


def test_an_empty_call_is_a_valid_wav(tmp_path: Path) -> None:
    recorder = CallRecorder(tmp_path / "call.wav")
    assert read_stereo(tmp_path / "call.wav")[0].nframes == 0  # readable before any audio
    recorder.close()
    assert read_stereo(tmp_path / "call.wav")[0].nframes == 0


def test_other_rates_and_sample_checks(tmp_path: Path) -> None:
    path = tmp_path / "call.wav"
    with CallRecorder(path, rate=16000) as recorder:
        recorder.caller(np.zeros(320, dtype=np.int16))
        assert recorder.offset_s() == pytest.approx(0.02)
        with pytest.raises(TypeError, match="int16"):
            recorder.caller(np.zeros(320, dtype=np.float32))  # type: ignore[arg-type]
    assert read_stereo(path)[0].framerate == 16000
    with pytest.raises(ValueError, match="closed"):
        recorder.caller(np.zeros(320, dtype=np.int16))
