"""Sample-rate conversion with libsoxr: whole buffers, and a stateful stream for 20 ms call frames."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import numpy.typing as npt
import soxr

PHONE_RATE = 8000
DEFAULT_MODEL_RATE = 16000
QUALITY = "HQ"  # soxr's default; its stream holds ~120 ms before the first output, fine for recognition

_SAMPLE_FREQUENCY = re.compile(r"^\s*--sample-frequency\s*=\s*(\S+)")


def model_sample_rate(model_dir: Path) -> int:
    """The rate a Kaldi/Vosk model expects, from conf/mfcc.conf (16 kHz when it does not say)."""
    conf = Path(model_dir) / "conf" / "mfcc.conf"
    try:
        lines = conf.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return DEFAULT_MODEL_RATE
    for number, line in enumerate(lines, 1):
        match = _SAMPLE_FREQUENCY.match(line.split("#", 1)[0])
        if match:
            try:
                rate = float(match.group(1))
            except ValueError:
                rate = 0.0
            if rate <= 0 or rate != int(rate):
                raise ValueError(f"{conf}:{number}: --sample-frequency is not a whole positive number: {match.group(1)!r}")
            return int(rate)
    return DEFAULT_MODEL_RATE


def mono_int16(samples: npt.ArrayLike) -> npt.NDArray[np.int16]:
    """`samples` as a 1-D int16 array; refuse other sample types rather than cast them silently."""
    array = np.asarray(samples)
    if array.dtype != np.int16 or array.ndim != 1:
        raise TypeError(f"expected 1-D int16 samples, got {array.ndim}-D {array.dtype}")
    return array


def _to_int16(samples: npt.NDArray[np.float32]) -> npt.NDArray[np.int16]:
    """Round float samples on the int16 scale, clipping any overshoot instead of wrapping it."""
    return np.clip(np.rint(samples), -32768, 32767).astype(np.int16)


# libsoxr dithers int16 output (results differ run to run by a few LSB), so it works in
# float32 and the rounding is done here: deterministic, and a stream equals the one-shot result.
def resample(samples: npt.NDArray[np.int16], in_rate: int, out_rate: int) -> npt.NDArray[np.int16]:
    """Resample a whole mono int16 buffer (clipping, not wrapping, any overshoot)."""
    samples = mono_int16(samples)
    if in_rate == out_rate or samples.size == 0:
        return samples.copy()
    return _to_int16(soxr.resample(samples.astype(np.float32), in_rate, out_rate, quality=QUALITY))


class StreamResampler:
    """Resamples a mono int16 stream chunk by chunk, keeping the filter state between chunks."""

    def __init__(self, in_rate: int, out_rate: int, quality: str = QUALITY) -> None:
        if in_rate <= 0 or out_rate <= 0:
            raise ValueError(f"rates must be positive, got {in_rate} → {out_rate}")
        self.in_rate = in_rate
        self.out_rate = out_rate
        self.quality = quality
        self._stream = self._new_stream()

    def _new_stream(self) -> soxr.ResampleStream | None:
        """A fresh libsoxr stream, or None when the rates are equal."""
        if self.in_rate == self.out_rate:
            return None
        return soxr.ResampleStream(self.in_rate, self.out_rate, 1, dtype="float32", quality=self.quality)

    def process(self, samples: npt.NDArray[np.int16]) -> npt.NDArray[np.int16]:
        """Feed one chunk; return whatever output is ready (possibly none yet)."""
        samples = mono_int16(samples)
        if self._stream is None:
            return samples.copy()
        return _to_int16(self._stream.resample_chunk(samples.astype(np.float32)))

    def flush(self) -> npt.NDArray[np.int16]:
        """Return the output still held back at the end of the stream, and start afresh."""
        if self._stream is None:
            return np.zeros(0, dtype=np.int16)
        tail = _to_int16(self._stream.resample_chunk(np.zeros(0, dtype=np.float32), last=True))
        self._stream = self._new_stream()
        return tail
