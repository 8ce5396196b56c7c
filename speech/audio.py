"""WAV helpers: read the shape of PCM WAV data and cut it to a maximum length."""

from __future__ import annotations

import io
import wave
from dataclasses import dataclass


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
