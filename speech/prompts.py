"""Prompt audio cache: prompts as 8 kHz μ-law frames, synthesised or converted once and kept on disk.

Layout: `<directory>/<key[:2]>/<key>.ulaw` holds the raw μ-law bytes (a whole number of 160-byte
frames). A text prompt's key is the sha256 of (format version, NFC text, voice, rate); a recorded
prompt's key is the sha256 of (format version, the WAV file's bytes). Files appear by rename, so
another process never reads half of one; two processes may both render a prompt, harmlessly.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import tempfile
import threading
import unicodedata
import uuid
import wave
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from config.menu import Menu, template_fields
from speech.audio import FRAME_SAMPLES, AudioError, wav_to_mulaw_frames
from speech.resample import PHONE_RATE
from speech.synthesis import Synthesizer

log = logging.getLogger(__name__)

FORMAT_VERSION = 1
"""Bump when the bytes a key stands for change (gain, resampler, codec), so old files are ignored."""
SUFFIX = ".ulaw"
RECORDED_GAIN_DB = 0.0  # a recorded prompt is played as recorded; the resampler clips rather than wraps
FRAME_SECONDS = FRAME_SAMPLES / PHONE_RATE


class PromptError(RuntimeError):
    """A recorded prompt file is missing or is not a PCM WAV file we can play."""


@dataclass(frozen=True)
class PromptAudio:
    """A prompt ready to send: 160-byte 20 ms frames of 8 kHz μ-law."""

    frames: tuple[bytes, ...]
    duration_s: float

    @classmethod
    def from_mulaw(cls, data: bytes) -> PromptAudio:
        """Split raw μ-law bytes (a whole number of frames) into frames."""
        frames = tuple(data[i : i + FRAME_SAMPLES] for i in range(0, len(data), FRAME_SAMPLES))
        return cls(frames, len(frames) * FRAME_SECONDS)


EMPTY = PromptAudio((), 0.0)


@dataclass
class _KeyLock:
    lock: threading.Lock = field(default_factory=threading.Lock)
    users: int = 0


class PromptCache:
    """Prompt audio keyed by content, on disk; safe to use from many threads and processes.

    The synthesiser must be safe to call from any thread (EspeakSynthesizer serialises its engine).
    """

    def __init__(
        self,
        directory: Path,
        synthesizer: Synthesizer,
        *,
        voice: str,
        rate: int | None,
        executor: Executor | None = None,
    ) -> None:
        self.directory = Path(directory)
        self.synthesizer = synthesizer
        self.voice = voice
        self.rate = rate
        self._executor = executor
        self._owns_executor = executor is None
        self._guard = threading.Lock()
        self._locks: dict[str, _KeyLock] = {}

    # --- text prompts ---------------------------------------------------------------------------

    def key(self, text: str) -> str:
        """The cache key of a text prompt for this cache's voice and rate."""
        spoken = unicodedata.normalize("NFC", text).strip()
        fields = ["text", FORMAT_VERSION, spoken, self.voice, self.rate]
        return hashlib.sha256(json.dumps(fields, ensure_ascii=False).encode("utf-8")).hexdigest()

    def path(self, key: str) -> Path:
        """Where the μ-law bytes of `key` live."""
        return self.directory / key[:2] / f"{key}{SUFFIX}"

    def get(self, text: str, *, keep: bool = True) -> PromptAudio:
        """The audio of `text`, synthesised on a miss; empty text gives empty audio.

        keep=False: a prompt filled in for one call (a case number); a miss is rendered but not stored.
        """
        if not keep:
            audio = _read(self.path(self.key(text))) if text.strip() else EMPTY
            return audio if audio is not None else PromptAudio.from_mulaw(self._synthesize(text))
        return self._get(text)[0]

    def render_async(self, text: str) -> Future[PromptAudio]:
        """The audio of `text` on the executor, for dynamic prompts rendered during a call."""
        return self._pool().submit(self.get, text)

    def _get(self, text: str) -> tuple[PromptAudio, bool]:
        """The audio of `text` and whether it was synthesised just now."""
        if not unicodedata.normalize("NFC", text).strip():
            return EMPTY, False
        key = self.key(text)
        return self._cached(key, lambda: self._synthesize(text))

    def _synthesize(self, text: str) -> bytes:
        with tempfile.TemporaryDirectory(prefix="prompt-") as tmp:
            wav = self.synthesizer.synthesize(text, Path(tmp) / "prompt.wav").read_bytes()
        return b"".join(wav_to_mulaw_frames(wav))

    # --- recorded prompts -----------------------------------------------------------------------

    def get_recorded(self, path: Path) -> PromptAudio:
        """A recorded WAV prompt (any rate, 16-bit, mono or stereo) as frames, converted once."""
        return self._get_recorded(Path(path))[0]

    def _get_recorded(self, path: Path) -> tuple[PromptAudio, bool]:
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise PromptError(f"recorded prompt {path}: cannot read it: {exc.strerror or exc}") from exc
        fields = ["recorded", FORMAT_VERSION, hashlib.sha256(data).hexdigest()]
        key = hashlib.sha256(json.dumps(fields).encode("ascii")).hexdigest()
        return self._cached(key, lambda: _convert_recording(data, path))

    # --- menus ----------------------------------------------------------------------------------

    def warm(self, menu: Menu) -> int:
        """Render every fixed prompt of `menu` (recordings too); return how many were rendered fresh."""
        base = Path(menu.file).parent
        texts: dict[str, None] = {}
        recordings: dict[Path, None] = {}
        for node in menu.nodes.values():
            if node.audio is not None:
                recordings[_resolve(base, node.audio)] = None
            elif node.prompt is not None:
                texts[node.prompt] = None
            for reprompt in (getattr(node, "no_input", None), getattr(node, "no_match", None)):
                if reprompt is not None:
                    texts[reprompt] = None
        fresh = sum(self._get_recorded(path)[1] for path in recordings)
        for template in texts:
            if template_fields(template):
                continue  # dynamic: rendered per call with render_async
            fresh += self._get(template.format())[1]  # format() unescapes {{ }} as the engine does
        return fresh

    # --- shared machinery -----------------------------------------------------------------------

    def close(self) -> None:
        """Shut down the executor this cache created (one passed in is left alone)."""
        with self._guard:
            executor, self._executor = (self._executor, None) if self._owns_executor else (None, self._executor)
        if executor is not None:
            executor.shutdown(wait=True)

    def _pool(self) -> Executor:
        with self._guard:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(max_workers=2, thread_name_prefix="prompt")
            return self._executor

    def _cached(self, key: str, render: Callable[[], bytes]) -> tuple[PromptAudio, bool]:
        """Read `key` from disk, or render it (once across threads) and store it atomically."""
        target = self.path(key)
        audio = _read(target)
        if audio is not None:
            return audio, False
        with self._key_lock(key):
            audio = _read(target)  # another thread may have written it while we waited
            if audio is not None:
                return audio, False
            data = render()
            _write_atomically(target, data)
            return PromptAudio.from_mulaw(data), True

    @contextmanager
    def _key_lock(self, key: str) -> Iterator[None]:
        """Hold the lock of one key; the lock is dropped once nobody holds or waits for it."""
        with self._guard:
            entry = self._locks.setdefault(key, _KeyLock())
            entry.users += 1
        try:
            with entry.lock:
                yield
        finally:
            with self._guard:
                entry.users -= 1
                if entry.users == 0:
                    del self._locks[key]


def _resolve(base: Path, audio: str) -> Path:
    """A menu's `audio` path: absolute as written, otherwise relative to the menu file."""
    path = Path(audio)
    return path if path.is_absolute() else base / path


def _read(path: Path) -> PromptAudio | None:
    """The cached audio at `path`, or None when absent or not a whole number of frames."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    if not data or len(data) % FRAME_SAMPLES:
        log.warning("ignoring a damaged prompt cache file %s (%d bytes)", path, len(data))
        return None
    return PromptAudio.from_mulaw(data)


def _write_atomically(path: Path, data: bytes) -> None:
    """Write `data` to `path` through a temporary file and a rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        with tmp.open("wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())  # a crash must not leave a renamed but empty file
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _convert_recording(data: bytes, path: Path) -> bytes:
    """A recorded WAV file's bytes as μ-law at 8 kHz, channels averaged, gain unchanged."""
    try:
        with wave.open(io.BytesIO(data), "rb") as wav:
            channels, width, rate = wav.getnchannels(), wav.getsampwidth(), wav.getframerate()
            pcm = wav.readframes(wav.getnframes())
    except (wave.Error, EOFError, ValueError) as exc:
        raise PromptError(f"recorded prompt {path}: not a PCM WAV file: {exc}") from exc
    if width != 2 or rate <= 0 or channels < 1:
        shape = f"{channels} channel(s) of {8 * width}-bit at {rate} Hz"
        raise PromptError(f"recorded prompt {path}: expected 16-bit PCM, got {shape}")
    if len(pcm) < 2 * channels:
        raise PromptError(f"recorded prompt {path}: the file holds no audio")
    usable = len(pcm) - len(pcm) % (2 * channels)
    samples = np.frombuffer(pcm[:usable], dtype="<i2").reshape(-1, channels)
    mono = np.rint(samples.astype(np.float32).mean(axis=1)).astype(np.int16)
    out = io.BytesIO()
    with wave.open(out, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(mono.tobytes())
    try:
        return b"".join(wav_to_mulaw_frames(out.getvalue(), gain_db=RECORDED_GAIN_DB))
    except AudioError as exc:  # unreachable for the WAV built above; kept so a failure names the file
        raise PromptError(f"recorded prompt {path}: {exc}") from exc
