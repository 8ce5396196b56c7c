"""Text to speech: a small Synthesizer protocol and an offline espeak-ng implementation via pyttsx3."""

from __future__ import annotations

import atexit
import logging
import os
import threading
import unicodedata
import uuid
from pathlib import Path
from typing import Any, Protocol

from speech.audio import AudioError, wav_info

log = logging.getLogger(__name__)

DEFAULT_VOICE = "vi-vn-x-south"
FALLBACK_VOICE = "vi"
DEFAULT_RATE = 200  # words per minute; what pyttsx3's espeak driver starts with

# pyttsx3 keeps espeak's state in the C library and caches engines only weakly:
# hold one engine for the whole process and let one thread at a time drive it.
_engine_lock = threading.Lock()
_engine: Any = None


def _forget_engine_after_fork() -> None:
    """A forked child has none of the parent's espeak-ng threads: it starts its own engine and lock."""
    global _engine, _engine_lock
    _engine, _engine_lock = None, threading.Lock()


os.register_at_fork(after_in_child=_forget_engine_after_fork)


def _release_engine_at_exit() -> None:
    """Let the engine go while the interpreter is whole: pyttsx3's finaliser run at shutdown finds its
    modules torn down and prints an AttributeError."""
    global _engine
    _engine = None


atexit.register(_release_engine_at_exit)


class SynthesisError(RuntimeError):
    """Speech could not be produced (no voice, empty text, or no audio written)."""


class Synthesizer(Protocol):
    """Turns text into a WAV file."""

    def synthesize(self, text: str, path: Path) -> Path:
        """Write `text` spoken as a WAV file at `path` and return the path."""
        ...


def _get_engine() -> Any:
    """The process's pyttsx3 espeak engine, created on first use (caller holds _engine_lock)."""
    global _engine
    if _engine is None:
        import pyttsx3

        try:
            engine = pyttsx3.init("espeak")
            _quiet_driver_prints()
            # A new engine queues property changes until its first loop; an empty run
            # leaves it idle so later setProperty calls reach espeak-ng at once.
            _synchronize()
            engine.runAndWait()
        except Exception as exc:  # pyttsx3 raises bare RuntimeError/OSError from ctypes
            raise SynthesisError(f"cannot start espeak-ng through pyttsx3: {exc}") from exc
        _engine = engine
    return _engine


def _quiet_driver_prints() -> None:
    """Send the espeak driver's print() calls ("Audio saved to ...") to the debug log.

    Only that module's name `print` is rebound: swapping sys.stdout instead would swallow,
    for the length of a synthesis, lines other threads print (the CLI's JSON events).
    """
    from pyttsx3.drivers import espeak as driver_module

    def to_log(*values: object, **_: object) -> None:
        log.debug("pyttsx3: %s", " ".join(map(str, values)))

    driver_module.print = to_log  # type: ignore[attr-defined]


def _synchronize() -> None:
    """Wait until espeak-ng's own thread has run every queued command.

    In retrieval mode espeak-ng queues voice and rate changes. pyttsx3's runAndWait
    calls espeak_Cancel when espeak still looks busy, which drops them (the previous
    call's rate was used about one time in three), and can leave the driver's
    _stopping flag set so that the next run cancels its own text (an empty WAV).
    """
    from pyttsx3.drivers import _espeak

    _espeak.Synchronize()


def _clear_stale_stop(engine: Any) -> None:
    """Reset a stop request left over from an earlier run (pyttsx3 2.99 espeak driver)."""
    driver = getattr(getattr(engine, "proxy", None), "_driver", None)
    if getattr(driver, "_stopping", False):
        log.debug("clearing a stale stop request in pyttsx3's espeak driver")
        driver._stopping = False


def _find_voice(voices: list[Any], wanted: str) -> str | None:
    """Id of the voice whose id, id without its family prefix, or name equals `wanted`."""
    wanted = wanted.lower()
    for voice in voices:
        if wanted in (voice.id.lower(), voice.id.lower().rsplit("/", 1)[-1], voice.name.lower()):
            return voice.id
    return None


class EspeakSynthesizer:
    """Offline Vietnamese speech through espeak-ng: 22,050 Hz mono 16-bit WAV."""

    def __init__(self, voice: str = DEFAULT_VOICE, rate: int | None = None) -> None:
        self.voice = voice
        self.rate = rate
        self._voice_id: str | None = None

    def synthesize(self, text: str, path: Path) -> Path:
        """Speak NFC-normalised `text` into the WAV file `path` (replaced atomically)."""
        text = unicodedata.normalize("NFC", text).strip()
        if not text:
            raise SynthesisError("nothing to synthesise: the text is empty")
        path = Path(path)
        tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
        try:
            with _engine_lock:
                self._run(_get_engine(), text, tmp)
            self._check(tmp, text)
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
        return path

    def _run(self, engine: Any, text: str, target: Path) -> None:
        """Queue voice, rate and text on the shared engine and run it."""
        errors: list[BaseException] = []
        token = engine.connect("error", lambda **kw: errors.append(kw.get("exception")))
        try:
            engine.setProperty("voice", self._resolve_voice(engine))
            engine.setProperty("rate", self.rate or DEFAULT_RATE)
            _synchronize()
            _clear_stale_stop(engine)
            engine.save_to_file(text, str(target))
            engine.runAndWait()
            _synchronize()
        except SynthesisError:
            raise
        except Exception as exc:
            raise SynthesisError(f"espeak-ng failed on {text!r}: {exc}") from exc
        finally:
            engine.disconnect(token)
        if errors:
            raise SynthesisError(f"espeak-ng failed on {text!r}: {errors[0]}")

    def _resolve_voice(self, engine: Any) -> str:
        """The espeak voice id for self.voice, falling back to plain Vietnamese with a warning."""
        if self._voice_id is None:
            voices = engine.getProperty("voices")
            found = _find_voice(voices, self.voice)
            if found is None:
                found = _find_voice(voices, FALLBACK_VOICE)
                if found is None:
                    raise SynthesisError(f"espeak-ng has neither voice {self.voice!r} nor {FALLBACK_VOICE!r}")
                log.warning("espeak-ng voice %r not found; using %r", self.voice, found)
            self._voice_id = found
        return self._voice_id

    @staticmethod
    def _check(target: Path, text: str) -> None:
        """Raise SynthesisError unless `target` is a WAV file with at least one frame."""
        if not target.exists():
            raise SynthesisError(f"espeak-ng wrote no file for {text!r}")
        try:
            info = wav_info(target.read_bytes())
        except AudioError as exc:
            raise SynthesisError(f"espeak-ng wrote an unreadable file for {text!r}: {exc}") from exc
        if info.frames == 0:
            raise SynthesisError(f"espeak-ng produced no audio for {text!r}")
