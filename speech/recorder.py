"""A call's audio as a stereo WAV written while the call happens: caller left, bot right.

The caller's side drives the timeline: a Media Stream sends inbound audio continuously
(silence included) in 20 ms frames, so the samples received so far are the call's clock.
The bot's audio arrives in bursts far faster than it plays, so it is queued like the
carrier queues it and played out alongside the caller's frames as they arrive.
"""

from __future__ import annotations

import threading
import wave
from pathlib import Path
from types import TracebackType

import numpy as np
import numpy.typing as npt

from speech.resample import mono_int16

DEFAULT_FLUSH_S = 1.0


class CallRecorder:
    """Writes a 16-bit stereo WAV of one call incrementally; a crash keeps audio up to the last flush."""

    def __init__(self, path: Path, rate: int = 8000, flush_s: float = DEFAULT_FLUSH_S) -> None:
        self.path = Path(path)
        self.rate = rate
        self._flush_frames = max(1, int(flush_s * rate))
        self._lock = threading.Lock()
        self._file = open(self.path, "wb")  # kept open for the whole call, closed by close()
        try:
            self._wav = wave.open(self._file, "wb")
            self._wav.setnchannels(2)
            self._wav.setsampwidth(2)
            self._wav.setframerate(rate)
            self._wav.writeframes(b"")  # the header now: even an empty call leaves a valid WAV
            self._file.flush()
        except BaseException:
            self._file.close()
            raise
        self._bot_queue = np.zeros(0, dtype=np.int16)  # bot audio not yet played out
        self._unflushed: list[npt.NDArray[np.int16]] = []  # interleaved frames not yet written
        self._unflushed_frames = 0
        self._position = 0  # samples of call time recorded so far
        self._closed = False

    def caller(self, samples: npt.NDArray[np.int16]) -> None:
        """Append the caller's audio, advancing the call's timeline by its length."""
        with self._lock:
            self._check_open()
            self._advance(mono_int16(samples))

    def bot(self, samples: npt.NDArray[np.int16]) -> None:
        """Queue the bot's audio to play from now, or after the bot audio already queued."""
        with self._lock:
            self._check_open()
            self._bot_queue = np.concatenate([self._bot_queue, mono_int16(samples)])

    def clear_bot(self) -> None:
        """Drop queued bot audio that has not played yet (barge-in)."""
        with self._lock:
            self._bot_queue = np.zeros(0, dtype=np.int16)

    def bot_pending_s(self) -> float:
        """Seconds of queued bot audio still to play."""
        with self._lock:
            return len(self._bot_queue) / self.rate

    def offset_s(self) -> float:
        """The current position in the call, in seconds from the start of the recording."""
        with self._lock:
            return self._position / self.rate

    def flush(self) -> None:
        """Write buffered audio and the header length to disk."""
        with self._lock:
            self._check_open()
            self._write()

    def close(self) -> None:
        """Play out queued bot audio against caller silence, finalise the header and close the file."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            try:
                if len(self._bot_queue):
                    self._advance(np.zeros(len(self._bot_queue), dtype=np.int16))
                self._write()
                self._wav.close()
            finally:
                self._file.close()

    def __enter__(self) -> CallRecorder:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def _check_open(self) -> None:
        """Raise ValueError once the recorder is closed."""
        if self._closed:
            raise ValueError(f"the recording {self.path} is closed")

    def _advance(self, caller: npt.NDArray[np.int16]) -> None:
        """Pair caller samples with the next queued bot samples (or silence) and buffer them."""
        count = len(caller)
        bot = self._bot_queue[:count]
        self._bot_queue = self._bot_queue[count:]
        frames = np.zeros((count, 2), dtype=np.int16)
        frames[:, 0] = caller
        frames[: len(bot), 1] = bot
        self._unflushed.append(frames)
        self._unflushed_frames += count
        self._position += count
        if self._unflushed_frames >= self._flush_frames:
            self._write()

    def _write(self) -> None:
        """Write buffered frames; wave patches the header's lengths on every write."""
        if self._unflushed:
            self._wav.writeframes(np.concatenate(self._unflushed).astype("<i2").tobytes())
            self._unflushed = []
            self._unflushed_frames = 0
        self._file.flush()
