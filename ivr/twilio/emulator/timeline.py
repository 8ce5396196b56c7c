"""A Media Stream's timeline as the caller lives it: the bot audio it heard and how long each answer took.

Stream time is caller-audio time: the seconds of 20 ms frames the caller has sent (a frame's end
is chunk × 20 ms). Bot audio plays on that clock from the moment it arrives, or after the audio
already queued, as Twilio plays it; a clear drops what had not played yet.
"""

from __future__ import annotations

import wave
from dataclasses import dataclass
from pathlib import Path

from speech.mulaw import SILENCE, mulaw_decode
from speech.resample import PHONE_RATE


def _samples(seconds: float) -> int:
    return max(0, round(seconds * PHONE_RATE))


class BotTrack:
    """The bot's side of one stream as the caller heard it: 8 kHz μ-law, silence where the bot was quiet."""

    def __init__(self) -> None:
        self._ulaw = bytearray()

    @property
    def end_s(self) -> float:
        """Stream time at which the audio queued so far ends."""
        return len(self._ulaw) / PHONE_RATE

    def add(self, at_s: float, payload: bytes) -> None:
        """Queue bot audio received at stream time `at_s`: it plays from then, or after what is queued."""
        self._ulaw.extend(bytes([SILENCE]) * (_samples(at_s) - len(self._ulaw)))  # nothing when negative
        self._ulaw.extend(payload)

    def cut(self, at_s: float) -> None:
        """Drop the audio that would have played after stream time `at_s` (a clear, a hang-up)."""
        del self._ulaw[_samples(at_s):]

    def write(self, path: Path, length_s: float) -> float:
        """Write a mono 16-bit PCM WAV, padded with silence to `length_s`; return its length in seconds."""
        ulaw = bytes(self._ulaw) + bytes([SILENCE]) * (_samples(length_s) - len(self._ulaw))
        with open(path, "wb") as file, wave.open(file, "wb") as wav:  # wave.open(path) leaks on a bad path
            wav.setnchannels(1)
            wav.setsampwidth(2)
            wav.setframerate(PHONE_RATE)
            wav.writeframes(mulaw_decode(ulaw).astype("<i2").tobytes())
        return len(ulaw) / PHONE_RATE


@dataclass(frozen=True)
class _Turn:
    input: str
    caller_end_s: float
    sent_at: float  # monotonic time the turn's last frame or key was sent


class TurnTimer:
    """Voice-to-voice latency: a caller turn's last frame (or key) to the first bot audio frame after it.

    Times are given, not read, so the caller's and the reader's threads (and tests) pass their own;
    the caller of these methods serialises them. One turn waits at a time: when the caller ends
    another turn (or the stream ends) before the bot answered, the waiting one is unanswered."""

    def __init__(self) -> None:
        self._waiting: _Turn | None = None
        self.latencies_ms: list[float | None] = []

    def caller_done(self, kind: str, stream_s: float, sent_at: float) -> dict | None:
        """A turn ("say", "record", "press") ended; returns the previous turn's event if never answered."""
        unanswered = self.finish()
        self._waiting = _Turn(kind, stream_s, sent_at)
        return unanswered

    def bot_audio(self, stream_s: float, received_at: float) -> dict | None:
        """A bot media frame arrived; returns the `turn` event of the turn it answers, if one waits."""
        return self._close(stream_s, received_at)

    def finish(self) -> dict | None:
        """The waiting turn's event, unanswered (bot_start_s and latency_ms None), if one waits."""
        return self._close(None, None)

    def _close(self, bot_start_s: float | None, received_at: float | None) -> dict | None:
        turn, self._waiting = self._waiting, None
        if turn is None:
            return None
        latency = None if received_at is None else round((received_at - turn.sent_at) * 1000, 1)
        self.latencies_ms.append(latency)
        return {"event": "turn", "input": turn.input, "caller_end_s": round(turn.caller_end_s, 3),
                "bot_start_s": None if bot_start_s is None else round(bot_start_s, 3), "latency_ms": latency}


def numbered(path: Path, number: int) -> Path:
    """The bot_wav file of a call's `number`-th stream: path itself, then name-2.wav, name-3.wav…"""
    return path if number == 1 else path.with_name(f"{path.stem}-{number}{path.suffix}")
