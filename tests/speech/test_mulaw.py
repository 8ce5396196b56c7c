"""G.711 μ-law codec: bit-exact with audioop (still on Python 3.11–3.12) and round-trip properties."""

from __future__ import annotations

import warnings
from types import ModuleType

import numpy as np
import pytest

from speech.mulaw import SILENCE, mulaw_decode, mulaw_encode

ALL_CODES = bytes(range(256))
ALL_INT16 = np.arange(-32768, 32768, dtype=np.int16)


@pytest.fixture(scope="module")
def audioop() -> ModuleType:
    """The deprecated audioop module as the reference implementation (gone in Python 3.13)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return pytest.importorskip("audioop")


def test_decode_matches_audioop_on_every_code(audioop: ModuleType) -> None:
    decoded = mulaw_decode(ALL_CODES)
    assert decoded.dtype == np.int16
    assert decoded.tobytes() == audioop.ulaw2lin(ALL_CODES, 2)


def test_encode_matches_audioop_on_every_int16(audioop: ModuleType) -> None:
    assert mulaw_encode(ALL_INT16) == audioop.lin2ulaw(ALL_INT16.tobytes(), 2)


def test_encode_matches_audioop_on_a_sine(audioop: ModuleType) -> None:
    t = np.arange(8000) / 8000
    tone = (32767 * np.sin(2 * np.pi * 440 * t)).astype(np.int16)
    assert mulaw_encode(tone) == audioop.lin2ulaw(tone.tobytes(), 2)


def test_code_to_linear_to_code_is_identity_except_negative_zero() -> None:
    again = np.frombuffer(mulaw_encode(mulaw_decode(ALL_CODES)), dtype=np.uint8)
    expected = np.arange(256, dtype=np.uint8)
    expected[0x7F] = 0xFF  # 0x7F is "-0": it decodes to 0, which encodes as +0
    assert (again == expected).all()


def test_linear_round_trip_error_is_within_one_step() -> None:
    back = mulaw_decode(mulaw_encode(ALL_INT16)).astype(np.int32)
    error = np.abs(back - ALL_INT16)
    magnitude = np.abs(ALL_INT16.astype(np.int32))
    # μ-law keeps 4 mantissa bits per segment: the error grows with the magnitude, staying under ~1/8 of it
    # (the worst is clipping at full scale: ±32767 decodes to ±32124).
    assert (error <= magnitude // 8 + 8).all()
    assert error.max() == 644
    assert (np.sign(back) * np.sign(ALL_INT16) >= 0).all()  # never flips the sign


def test_decode_is_monotonic_within_each_sign() -> None:
    positive = mulaw_decode(bytes(range(0x80, 0x100)))  # 0x80 loudest … 0xFF zero
    negative = mulaw_decode(bytes(range(0x00, 0x80)))
    assert (np.diff(positive.astype(np.int32)) < 0).all()
    assert (np.diff(negative.astype(np.int32)) > 0).all()


def test_silence_code_is_zero() -> None:
    assert mulaw_decode(bytes([SILENCE])).tolist() == [0]
    assert mulaw_encode(np.zeros(3, dtype=np.int16)) == bytes([SILENCE]) * 3


def test_empty_input() -> None:
    assert mulaw_decode(b"").size == 0
    assert mulaw_encode(np.zeros(0, dtype=np.int16)) == b""


def test_encode_accepts_non_contiguous_views() -> None:
    assert mulaw_encode(ALL_INT16[::7]) == mulaw_encode(ALL_INT16[::7].copy())


def test_encode_refuses_other_sample_types() -> None:
    with pytest.raises(TypeError, match="int16"):
        mulaw_encode(np.zeros(4, dtype=np.float32))  # type: ignore[arg-type]
