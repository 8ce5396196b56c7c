"""WAV helpers."""

from __future__ import annotations

import io
import wave
from pathlib import Path

import numpy as np
import pytest

from speech.audio import (
    FRAME_SAMPLES,
    AudioError,
    apply_gain,
    read_pcm16,
    truncate_wav,
    wav_info,
    wav_to_mulaw_frames,
)
from speech.mulaw import SILENCE, mulaw_decode
from speech.synthesis import EspeakSynthesizer


def silence_wav(frames: int, rate: int = 8000) -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(b"\x01\x00" * frames)
    return out.getvalue()


def test_wav_info_reads_the_header() -> None:
    info = wav_info(silence_wav(12000))
    assert (info.channels, info.sample_width, info.rate, info.frames) == (1, 2, 8000, 12000)
    assert info.duration == 1.5


def test_truncate_keeps_the_first_seconds() -> None:
    data = silence_wav(12000)
    cut = truncate_wav(data, 1)
    assert wav_info(cut).frames == 8000
    assert truncate_wav(data, 2) is data


def test_not_a_wav_is_an_audio_error() -> None:
    with pytest.raises(AudioError):
        wav_info(b"ID3 not a wav")


def pcm_wav(samples: np.ndarray, rate: int, channels: int = 1) -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as wav:
        wav.setnchannels(channels)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(samples.astype("<i2").tobytes())
    return out.getvalue()


def test_read_pcm16_returns_samples_and_rate() -> None:
    samples = np.array([0, 1, -1, 32767, -32768], dtype=np.int16)
    read, rate = read_pcm16(pcm_wav(samples, 22050))
    assert rate == 22050 and read.dtype == np.int16 and read.tolist() == samples.tolist()


def test_read_pcm16_refuses_stereo() -> None:
    with pytest.raises(AudioError, match="2 channel"):
        read_pcm16(pcm_wav(np.zeros(20, dtype=np.int16), 8000, channels=2))


def test_gain_lowers_the_level_and_clips_when_raising() -> None:
    samples = np.array([32767, -32768, 1000], dtype=np.int16)
    assert apply_gain(samples, -6.0).tolist() == [16422, -16423, 501]
    assert apply_gain(samples, 6.0).tolist() == [32767, -32768, 1995]


def test_frames_are_160_bytes_and_the_last_is_padded_with_silence() -> None:
    tone = (8000 * np.sin(2 * np.pi * 440 * np.arange(2205) / 22050)).astype(np.int16)  # 100 ms
    frames = wav_to_mulaw_frames(pcm_wav(np.concatenate([tone, tone[:110]]), 22050))  # 105 ms → 840 samples
    assert [len(f) for f in frames] == [FRAME_SAMPLES] * 6
    assert frames[-1][40:] == bytes([SILENCE]) * 120
    assert frames[0] != bytes([SILENCE]) * FRAME_SAMPLES


def test_an_empty_wav_gives_no_frames() -> None:
    assert wav_to_mulaw_frames(pcm_wav(np.zeros(0, dtype=np.int16), 22050)) == []


def test_gain_is_applied_before_encoding() -> None:
    full = (32767 * np.sin(2 * np.pi * 440 * np.arange(8000) / 8000)).astype(np.int16)
    def level(gain_db: float) -> float:
        decoded = mulaw_decode(b"".join(wav_to_mulaw_frames(pcm_wav(full, 8000), gain_db)))
        return float(np.sqrt(np.mean(decoded.astype(np.float64) ** 2)))
    assert level(0.0) / level(-6.0) == pytest.approx(2.0, rel=0.03)


def test_espeak_vietnamese_prompt_becomes_audible_20_ms_frames(tmp_path: Path) -> None:
    path = EspeakSynthesizer().synthesize("xin chào, tôi muốn phản ánh ngập nước", tmp_path / "prompt.wav")
    data = path.read_bytes()
    frames = wav_to_mulaw_frames(data)
    assert abs(len(frames) - wav_info(data).duration / 0.020) <= 1
    assert {len(f) for f in frames} == {FRAME_SAMPLES}
    decoded = mulaw_decode(b"".join(frames))
    assert np.abs(decoded).max() > 5000  # speech, not silence
    assert np.abs(decoded).max() < 32124  # the -3 dB gain keeps espeak's peaks off μ-law's ceiling
    original, _ = read_pcm16(data)
    assert np.mean(np.abs(decoded)) > 0.3 * np.mean(np.abs(original))
