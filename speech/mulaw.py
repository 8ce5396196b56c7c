"""G.711 μ-law codec with numpy lookup tables, bit-exact with the old audioop module."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

SILENCE = 0xFF  # the μ-law code for 0; Twilio pads with it too

_BIAS = 0x84
_CLIP = 8159  # largest magnitude on audioop's 14-bit scale
_SEGMENT_ENDS = np.array([0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF, 0x1FFF])


def _decode_table() -> npt.NDArray[np.int16]:
    """The 16-bit linear value of each of the 256 μ-law codes."""
    code = ~np.arange(256, dtype=np.int32) & 0xFF
    magnitude = (((code & 0x0F) << 3) + _BIAS) << ((code & 0x70) >> 4)
    linear = np.where(code & 0x80, _BIAS - magnitude, magnitude - _BIAS)
    return linear.astype(np.int16)


def _encode_table() -> npt.NDArray[np.uint8]:
    """The μ-law code of every int16 value, indexed by the value's bits read as uint16."""
    value = np.arange(65536, dtype=np.uint16).view(np.int16).astype(np.int32) >> 2
    mask = np.where(value < 0, 0x7F, 0xFF)
    magnitude = np.minimum(np.abs(value), _CLIP) + (_BIAS >> 2)
    segment = np.searchsorted(_SEGMENT_ENDS, magnitude)  # first end >= magnitude
    code = (segment << 4) | ((magnitude >> (segment + 1)) & 0x0F)
    code = np.where(segment >= len(_SEGMENT_ENDS), 0x7F, code)  # past the last segment: the loudest code
    return (code ^ mask).astype(np.uint8)


_DECODE = _decode_table()
_ENCODE = _encode_table()


def mulaw_decode(data: bytes) -> npt.NDArray[np.int16]:
    """Decode μ-law bytes to 16-bit linear samples."""
    return _DECODE[np.frombuffer(data, dtype=np.uint8)]


def mulaw_encode(samples: npt.NDArray[np.int16]) -> bytes:
    """Encode 16-bit linear samples as μ-law bytes."""
    samples = np.asarray(samples)
    if samples.dtype != np.int16:
        raise TypeError(f"expected int16 samples, got {samples.dtype}")
    return _ENCODE[np.ascontiguousarray(samples).view(np.uint16)].tobytes()
