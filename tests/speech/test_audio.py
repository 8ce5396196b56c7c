"""WAV helpers."""

from __future__ import annotations

import io
import wave

import pytest

from speech.audio import AudioError, truncate_wav, wav_info


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
