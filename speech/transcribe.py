"""Transcribe a stored recording after the call: any PCM 16-bit WAV through free Vosk recognition."""

from __future__ import annotations

import os
import threading
import wave
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from config.settings import Settings
from speech.audio import AudioError
from speech.models import INSTALL_COMMAND, ModelError, locate_model
from speech.recognition import Final, VoskRecognizer, Word, shared_model
from speech.resample import PHONE_RATE, StreamResampler, model_sample_rate

CHUNK_S = 0.25  # read a quarter of a second at a time: a long file is never held whole


@dataclass(frozen=True)
class Transcript:
    """Everything heard in a recording: the text, the mean word confidence (0–1) and the timed words."""

    text: str
    confidence: float | None
    words: tuple[Word, ...]


def transcribe_wav(path: Path | str, model: Any, model_rate: int) -> Transcript | None:
    """Recognise a PCM 16-bit WAV file (mono or stereo, any rate) freely; None when no word was heard."""
    recognizer: VoskRecognizer | None = None  # built once the file proved readable: a bad one fails fast
    finals: list[Final] = []
    for samples in phone_chunks(path):
        if recognizer is None:
            recognizer = VoskRecognizer(model, model_rate)
        result = recognizer.accept(samples)
        if isinstance(result, Final):
            finals.append(result)
    last = recognizer.finish() if recognizer is not None else None
    finals += [last] if last is not None else []
    words = tuple(word for final in finals for word in final.words)
    if not words:
        return None
    confidence = sum(word.confidence for word in words) / len(words)
    return Transcript(" ".join(word.word for word in words), confidence, words)


def phone_chunks(path: Path | str, seconds: float = CHUNK_S) -> Iterator[npt.NDArray[np.int16]]:
    """A PCM 16-bit WAV file mixed down to mono and resampled to the phone rate, a chunk at a time."""
    with _open_wav(path) as wav:
        channels, width, rate = wav.getnchannels(), wav.getsampwidth(), wav.getframerate()
        if width != 2 or channels < 1 or rate <= 0:
            raise AudioError(f"{path}: expected 16-bit PCM, got {channels} channel(s) of {8 * width}-bit at {rate} Hz")
        resampler = StreamResampler(rate, PHONE_RATE)
        frame_bytes = 2 * channels
        while raw := wav.readframes(max(1, int(rate * seconds))):
            raw = raw[: len(raw) - len(raw) % frame_bytes]  # a truncated file may end mid-frame
            chunk = resampler.process(_mix_down(raw, channels))
            if chunk.size:
                yield chunk
        tail = resampler.flush()
        if tail.size:
            yield tail


def _mix_down(raw: bytes, channels: int) -> npt.NDArray[np.int16]:
    """Interleaved little-endian 16-bit frames as mono: the mean of the channels."""
    samples = np.frombuffer(raw, dtype="<i2")
    if channels == 1:
        return samples.astype(np.int16)
    return np.rint(samples.reshape(-1, channels).mean(axis=1)).astype(np.int16)


@contextmanager
def _open_wav(path: Path | str) -> Iterator[wave.Wave_read]:
    """The file opened by Python's wave module; AudioError when it cannot be read or is not a WAV."""
    try:
        handle = open(path, "rb")  # closed below, also when wave refuses it
    except OSError as error:
        raise AudioError(f"{path}: cannot read the recording ({error.strerror or error})") from error
    with handle:
        try:
            wav = wave.open(handle, "rb")
        except (wave.Error, EOFError) as error:
            raise AudioError(f"{path}: not a PCM WAV file ({error or 'empty'})") from error
        with wav:
            yield wav


def load_installed_model(settings: Settings) -> tuple[Any, int]:
    """The model the server would use (loaded once per process) and its sample rate; ModelError if none is usable."""
    path = locate_model(settings)
    if path is None:
        raise ModelError(f"no speech model in {settings.models_dir} and VOSK_MODEL_PATH is not set: "
                         f"run `{INSTALL_COMMAND}`")
    try:
        rate = model_sample_rate(path)
    except ValueError as error:
        raise ModelError(str(error)) from error
    return shared_model(path), rate


def installed_model(settings: Settings) -> tuple[Any, int] | None:
    """Like load_installed_model, but None when no model is usable (create_app has already said why)."""
    try:
        return load_installed_model(settings)
    except ModelError:
        return None


def lower_thread_priority(niceness: int = 10) -> None:
    """Lower the calling thread's CPU priority (Linux schedules threads by their own nice value), so
    transcription in the background never competes evenly with live calls; elsewhere, nothing."""
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), niceness)
    except (AttributeError, OSError):
        pass
