"""Speech recognition: a small Recognizer protocol, Vosk behind it, one shared model and admission control."""

from __future__ import annotations

import json
import logging
import os
import threading
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from speech.models import load_model
from speech.resample import PHONE_RATE, StreamResampler

log = logging.getLogger(__name__)

# The out-of-grammar word, so that speech outside a grammar stays unmatched; Vosk's small models
# spell it "[unk]", Kaldi recipes (e.g. the Korean stand-in) "<UNK>".
UNKNOWN_WORDS = ("[unk]", "<unk>", "<UNK>")
WARM_UP_SAMPLES = PHONE_RATE // 2  # half a second of silence makes Vosk build its decoder
# New calls get no recogniser while a call recognising now runs further behind its caller than this: the
# benchmark's worst healthy backlog was ~0.7 s; beyond a second callers hear the bot answer late.
ADMISSION_LAG_MS = 1000


@dataclass(frozen=True)
class Word:
    """One recognised word, with its times in seconds of call audio and Vosk's confidence (0–1)."""

    word: str
    start_s: float
    end_s: float
    confidence: float


@dataclass(frozen=True)
class Partial:
    """Words heard so far in an utterance still going on (with a grammar, may be "[unk]": someone speaks)."""

    text: str


@dataclass(frozen=True)
class Final:
    """A finished utterance: text and words without "[unk]", mean word confidence, times in call audio."""

    text: str
    confidence: float | None
    words: tuple[Word, ...]
    start_s: float
    end_s: float


class Recognizer(Protocol):
    """Turns 8 kHz phone audio into partial and final transcripts."""

    def accept(self, samples: npt.NDArray[np.int16]) -> Partial | Final | None:
        """Feed phone-rate samples; a Final at the end of an utterance, a Partial when the words so far change."""
        ...

    def finish(self) -> Final | None:
        """End of the audio: the last utterance, or None when nothing was said."""
        ...

    def reset(self) -> None:
        """Drop the utterance in progress (e.g. after barge-in); the audio clock keeps running."""
        ...


class VoskRecognizer:
    """One call's Vosk recogniser over a shared model, optionally restricted to a grammar of phrases."""

    def __init__(self, model: Any, model_rate: int, *, grammar: Sequence[str] | None = None,
                 offset_s: float = 0.0) -> None:
        from vosk import KaldiRecognizer

        self.model_rate = model_rate
        self.offset_s = offset_s  # where this recogniser's first sample sits in the call audio
        self.grammar = usable_grammar(model, grammar) if grammar is not None else None
        if self.grammar is None:
            self._kaldi = KaldiRecognizer(model, model_rate)
        else:
            self._kaldi = KaldiRecognizer(model, model_rate, json.dumps(self.grammar, ensure_ascii=False))
        self._kaldi.SetWords(True)
        self._resampler = StreamResampler(PHONE_RATE, model_rate)
        self._fed = 0  # samples given to Vosk, at the model's rate
        self._segment_start = 0  # where the current utterance began, in the same samples
        self._partial = ""

    def accept(self, samples: npt.NDArray[np.int16]) -> Partial | Final | None:
        """Feed phone-rate samples; a Final at the end of an utterance, a Partial when the words so far change."""
        resampled = self._resampler.process(samples)
        if resampled.size == 0:  # the resampler holds back its first ~120 ms
            return None
        if self._feed(resampled):
            return self._final(self._kaldi.Result())
        text = str(json.loads(self._kaldi.PartialResult()).get("partial", ""))
        if text == self._partial:
            return None
        self._partial = text
        return Partial(text) if text else None

    def finish(self) -> Final | None:
        """End of the audio: the last utterance, or None when nothing was said."""
        tail = self._resampler.flush()
        if tail.size:
            self._feed(tail)
        return self._final(self._kaldi.FinalResult())

    def reset(self) -> None:
        """Drop the utterance in progress (e.g. after barge-in); the audio clock keeps running."""
        self._kaldi.Reset()  # Vosk's word times stay counted from its first sample, like ours
        self._segment_start = self._fed
        self._partial = ""

    def restart(self, offset_s: float) -> None:
        """Listen afresh from offset_s of the call audio, reusing this recogniser.

        A new Vosk recogniser spends most of a second on its first decode; a reset one does not.
        Vosk keeps counting its times from its first sample, so the offset absorbs what was fed.
        """
        self.reset()
        self._resampler = StreamResampler(PHONE_RATE, self.model_rate)
        self.offset_s = offset_s - self._fed / self.model_rate

    def _feed(self, samples: npt.NDArray[np.int16]) -> bool:
        """Give model-rate samples to Vosk; True when it found the end of an utterance."""
        self._fed += samples.size
        return bool(self._kaldi.AcceptWaveform(samples.astype("<i2").tobytes()))

    def _final(self, result: str) -> Final | None:
        """A Final from Vosk's JSON result, or None when the utterance held no words at all."""
        segment_start, self._segment_start, self._partial = self._segment_start, self._fed, ""
        raw = json.loads(result).get("result") or []
        if not raw:
            return None
        words = tuple(self._word(item) for item in raw if item.get("word") not in UNKNOWN_WORDS)
        confidence = sum(w.confidence for w in words) / len(words) if words else None
        start = self.offset_s + float(raw[0].get("start", segment_start / self.model_rate))
        end = self.offset_s + float(raw[-1].get("end", self._fed / self.model_rate))
        return Final(" ".join(w.word for w in words), confidence, words, start, end)

    def _word(self, item: dict[str, Any]) -> Word:
        """A Word from one entry of Vosk's "result" list, its times moved onto the call's clock."""
        return Word(str(item["word"]), self.offset_s + float(item["start"]), self.offset_s + float(item["end"]),
                    float(item.get("conf", 1.0)))


def usable_grammar(model: Any, phrases: Sequence[str]) -> list[str] | None:
    """The phrases whose every word the model knows, plus its "[unk]"; None (free recognition) when none is left."""
    unknown = [word for word in UNKNOWN_WORDS if model.vosk_model_find_word(word) != -1][:1]
    kept: list[str] = []
    dropped: list[str] = []
    for phrase in phrases:
        words = unicodedata.normalize("NFC", phrase).lower().split()
        text = " ".join(words)
        if not words or text in UNKNOWN_WORDS or text in kept:
            continue
        if all(model.vosk_model_find_word(word) != -1 for word in words):
            kept.append(text)
        elif text not in dropped:
            dropped.append(text)
    if dropped:
        log.warning("grammar: %d phrase(s) dropped, words missing from the model's vocabulary: %s",
                    len(dropped), ", ".join(repr(p) for p in dropped))
    if not kept:
        log.warning("grammar: no phrase left out of %d; recognising freely instead", len(phrases))
        return None
    return [*kept, *unknown]


_models: dict[Path, Any] = {}
_models_lock = threading.Lock()


def _new_lock_after_fork() -> None:
    """A forked child must not inherit the lock held by a parent's thread that is loading a model."""
    global _models_lock
    _models_lock = threading.Lock()


os.register_at_fork(after_in_child=_new_lock_after_fork)


def shared_model(path: Path) -> Any:
    """The process's vosk.Model for path, loaded on first use (Kaldi's logging silenced); ModelError if refused."""
    key = Path(path).resolve()
    with _models_lock:  # loading takes seconds; holding the lock makes concurrent callers share one load
        model = _models.get(key)
        if model is None:
            model = _models[key] = load_model(key)  # load_model sets vosk.SetLogLevel(-1) before loading
        return model


class RecognizerPool:
    """Admission control: at most `limit` calls recognising at once over one shared model.

    A call holds a Lease for as long as it listens; the lease builds a recogniser per question
    (each with its own grammar) and frees the call's slot when closed.
    """

    def __init__(self, model: Any, rate: int, limit: int, *, lag_limit_ms: int = ADMISSION_LAG_MS) -> None:
        if limit < 0:
            raise ValueError(f"limit must be zero or more, got {limit}")
        self.model = model
        self.rate = rate
        self.limit = limit
        self.lag_limit_ms = lag_limit_ms
        self._lock = threading.Lock()
        self._leases: set[Lease] = set()
        self._grammars: dict[tuple[str, ...], tuple[str, ...] | None] = {}

    def grammar(self, phrases: Sequence[str]) -> tuple[str, ...] | None:
        """The usable grammar for phrases (see usable_grammar), worked out once per process and logged once."""
        key = tuple(phrases)
        with self._lock:
            if key in self._grammars:
                return self._grammars[key]
        usable = usable_grammar(self.model, phrases)
        with self._lock:
            self._grammars[key] = tuple(usable) if usable is not None else None
            return self._grammars[key]

    @property
    def in_use(self) -> int:
        """Leases handed out and not yet closed."""
        with self._lock:
            return len(self._leases)

    @property
    def free(self) -> bool:
        """Whether a lease would be granted now."""
        with self._lock:
            return self._admits()

    @property
    def lag_ms(self) -> int:
        """How far the calls recognising now run behind their callers at worst (0 when none does)."""
        with self._lock:
            return max((lease.lag_ms for lease in self._leases), default=0)

    def lease(self) -> Lease | None:
        """A slot for one call, or None (the call uses the keypad) when `limit` calls already hold one or
        when the calls already recognising run more than lag_limit_ms behind: a machine that cannot keep
        up with the calls it has must not take on another."""
        with self._lock:
            if not self._admits():
                return None
            lease = Lease(self)
            self._leases.add(lease)
            return lease

    def _admits(self) -> bool:
        return len(self._leases) < self.limit and all(lease.lag_ms <= self.lag_limit_ms for lease in self._leases)

    def _return(self, lease: Lease) -> None:
        with self._lock:
            self._leases.discard(lease)


class Lease:
    """One call's right to recognise; keeps one recogniser per grammar and restarts it for each question."""

    def __init__(self, pool: RecognizerPool) -> None:
        self._pool = pool
        self._recognizers: dict[tuple[str, ...] | None, VoskRecognizer] = {}
        self._lock = threading.Lock()  # a warm-up on another thread and the call's own thread take turns
        self.closed = False
        self.lag_ms = 0  # how far this call's recognition runs behind the caller now (note_lag)

    def note_lag(self, lag_ms: int) -> None:
        """The call's pipeline runs lag_ms behind its caller's real-time audio (admission looks at it)."""
        self.lag_ms = max(0, lag_ms)

    def recognizer(self, grammar: Sequence[str] | None = None, *, offset_s: float = 0.0) -> VoskRecognizer:
        """A recogniser for one question from offset_s of the call; RuntimeError once the lease is closed.

        The one handed out before for the same grammar is restarted, so only its first use pays for
        Vosk's warm-up; callers use one recogniser at a time.
        """
        if self.closed:
            raise RuntimeError("this recogniser lease was closed")
        usable = self._pool.grammar(grammar) if grammar is not None else None
        with self._lock:
            return self._ready(usable, offset_s)

    def warm_up(self) -> None:
        """Pay free recognition's first-decode cost now (most of a second), e.g. while a greeting plays.

        Safe on another thread than the call's: recognizer() waits until the warm-up is done."""
        with self._lock:
            recognizer = self._ready(None, 0.0)
            recognizer.accept(np.zeros(WARM_UP_SAMPLES, dtype=np.int16))
            recognizer.finish()

    def _ready(self, usable: tuple[str, ...] | None, offset_s: float) -> VoskRecognizer:
        """The recogniser for this grammar, built on first use, else restarted (caller holds _lock)."""
        recognizer = self._recognizers.get(usable)
        if recognizer is None:
            recognizer = VoskRecognizer(self._pool.model, self._pool.rate, grammar=usable, offset_s=offset_s)
            self._recognizers[usable] = recognizer
        else:
            recognizer.restart(offset_s)
        return recognizer

    def close(self) -> None:
        """Give the call's slot back (again: no effect)."""
        if not self.closed:
            self.closed = True
            self._recognizers.clear()
            self._pool._return(self)
