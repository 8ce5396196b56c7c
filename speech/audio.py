"""WAV helpers: read PCM WAV data, cut it to a length, and turn prompts into 20 ms μ-law frames."""

from __future__ import annotations

import io
import wave
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from speech.mulaw import SILENCE, mulaw_encode
from speech.resample import PHONE_RATE, resample

FRAME_SAMPLES = PHONE_RATE * 20 // 1000  # one 20 ms media frame: 160 samples, 160 bytes of μ-law
DEFAULT_GAIN_DB = -3.0  # espeak-ng peaks near full scale; leave headroom for the resampler and μ-law


class AudioError(ValueError):
    """The bytes are not a PCM WAV file that Python's wave module can read."""


@dataclass(frozen=True)
class WavInfo:
    """The shape of a PCM WAV file."""

    channels: int
    sample_width: int
    rate: int
    frames: int

    @property
    def duration(self) -> float:
        """Length in seconds."""
        return self.frames / self.rate if self.rate else 0.0


def wav_info(data: bytes) -> WavInfo:
    """Read the header of PCM WAV data; raise AudioError when it is not one."""
    try:
        with wave.open(io.BytesIO(data), "rb") as wav:
            return WavInfo(wav.getnchannels(), wav.getsampwidth(), wav.getframerate(), wav.getnframes())
    except (wave.Error, EOFError) as exc:
        raise AudioError(f"not a PCM WAV file: {exc}") from exc


def truncate_wav(data: bytes, seconds: float) -> bytes:
    """Keep at most the first `seconds` of PCM WAV data (returned unchanged when shorter)."""
    info = wav_info(data)
    keep = int(seconds * info.rate)
    if keep >= info.frames:
        return data
    with wave.open(io.BytesIO(data), "rb") as wav:
        frames = wav.readframes(keep)
    out = io.BytesIO()
    with wave.open(out, "wb") as wav:
        wav.setnchannels(info.channels)
        wav.setsampwidth(info.sample_width)
        wav.setframerate(info.rate)
        wav.writeframes(frames)
    return out.getvalue()


def read_pcm16(data: bytes) -> tuple[npt.NDArray[np.int16], int]:
    """The samples and rate of mono 16-bit PCM WAV data; AudioError for any other shape."""
    info = wav_info(data)
    if info.channels != 1 or info.sample_width != 2:
        raise AudioError(f"expected mono 16-bit PCM, got {info.channels} channel(s) of {8 * info.sample_width}-bit")
    with wave.open(io.BytesIO(data), "rb") as wav:
        frames = wav.readframes(info.frames)
    return np.frombuffer(frames, dtype="<i2").astype(np.int16), info.rate


def apply_gain(samples: npt.NDArray[np.int16], gain_db: float) -> npt.NDArray[np.int16]:
    """Scale samples by `gain_db` decibels, rounding and clipping to int16."""
    scaled = samples.astype(np.float32) * np.float32(10 ** (gain_db / 20))
    return np.clip(np.rint(scaled), -32768, 32767).astype(np.int16)


def wav_to_mulaw_frames(wav_bytes: bytes, gain_db: float = DEFAULT_GAIN_DB) -> list[bytes]:
    """Turn a mono 16-bit WAV of any rate into 160-byte 8 kHz μ-law frames, the last padded with silence."""
    samples, rate = read_pcm16(wav_bytes)
    encoded = mulaw_encode(resample(apply_gain(samples, gain_db), rate, PHONE_RATE))
    remainder = len(encoded) % FRAME_SAMPLES
    if remainder:
        encoded += bytes([SILENCE]) * (FRAME_SAMPLES - remainder)
    return [encoded[i : i + FRAME_SAMPLES] for i in range(0, len(encoded), FRAME_SAMPLES)]


QUIET_DBFS = -45.0
"""Below this level a 20 ms frame counts as silence (a phone line's noise floor sits around -60 dBFS)."""


def is_quiet(samples: npt.NDArray[np.int16], threshold_dbfs: float = QUIET_DBFS) -> bool:
    """Whether a frame of 16-bit samples is quieter than threshold_dbfs (RMS against full scale)."""
    if samples.size == 0:
        return True
    rms = float(np.sqrt(np.mean(np.square(samples.astype(np.float64)))))
    return rms < 32768.0 * 10 ** (threshold_dbfs / 20)
