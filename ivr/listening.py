"""Waiting for one answer on a streamed call: keys, recognised speech and timeouts, without I/O.

A Listening turns what arrives while the engine's Listen is current into at most one event:
DigitsPressed, SpeechHeard or NothingHeard, with the turn's details (times in call seconds and
the recognised words). Times are the caller's audio clock, so a test can replay ten minutes of
silence in a second and the timeouts still hold.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from typing import Any

from ivr.actions import Listen
from ivr.events import DigitsPressed, Event, NothingHeard, SpeechHeard
from routing.numbers import spoken_digits
from speech.recognition import Final

RECORD_ENDPOINT_S = 0.6
"""Silence after words that ends a free answer (a description, an address)."""
CHOICE_ENDPOINT_S = 0.4
"""Silence after words that ends a spoken choice or number; the recogniser's own endpoint may come first."""
MAX_CHOICE_SPEECH_S = 15.0
"""Longest a spoken choice may run before it is taken as it stands (noise that never ends)."""
DEFAULT_MAX_RECORD_S = 120

Answer = tuple[Event, dict[str, Any]]
Finish = Callable[[], Final | None]


class Listening:
    """The state of one question: digits keyed so far, utterances heard, and its timers."""

    def __init__(self, listen: Listen, *, digits_only: bool = False) -> None:
        self.listen = listen
        self.digits_only = digits_only
        self.deadline: float | None = None  # no input by then: NothingHeard; set once the prompt has played
        self.digits = ""
        self._digit_deadline: float | None = None
        self.finals: list[Final] = []
        self._quiet_since: float | None = None  # start of the silence the caller is in now
        self._speech_since: float | None = None  # when the caller began speaking in this answer
        self._mid_utterance = False  # words are coming in that have not ended in an utterance yet

    @property
    def deadline_set(self) -> bool:
        return self.deadline is not None

    def start_timer(self, now: float) -> None:
        """The prompt has played: the caller has timeout_s to begin."""
        self.deadline = now + self.listen.timeout_s

    def speaking(self, now: float) -> None:
        """The recogniser hears speech: no-input cannot fire while it goes on."""
        if self._speech_since is None:
            self._speech_since = now
        self._mid_utterance = True

    def add(self, final: Final | None, now: float) -> None:
        """An utterance ended; one without words was noise."""
        self._mid_utterance = False
        if final is None or not final.text.strip():
            if not self.finals:
                self._speech_since = None
            return
        self.finals.append(final)

    def key(self, digit: str, now: float, finish: Finish) -> Answer | None:
        """A key: '#' ends a free answer; keys fill a keypad answer."""
        if self.listen.mode == "record":
            if digit == (self.listen.finish_on_key or "#"):
                self.add(finish(), now)
                return self.answer(now)
            return None
        if self.listen.finish_on_key and digit == self.listen.finish_on_key:
            return self.answer(now)
        self.digits += digit
        if self.listen.max_digits and len(self.digits) >= self.listen.max_digits:
            return self.answer(now)
        self._digit_deadline = now + self.listen.timeout_s
        return None

    def tick(self, now: float, finish: Finish, *, quiet: bool = False) -> Answer | None:
        """Called after every frame of caller audio (quiet: the frame was silence); answers when it is time."""
        if not quiet:
            self._quiet_since = None
        elif self._quiet_since is None:
            self._quiet_since = now
        if self.digits:
            return self.answer(now) if self._digit_deadline is not None and now >= self._digit_deadline else None
        if self.listen.mode != "record" and self.finals:
            return self.answer(now)
        long_speech = self._speech_since is not None and now - self._speech_since >= self._max_speech_s()
        if long_speech or (self._mid_utterance or self.finals) and self._silent_for(now) >= self._endpoint_s():
            if self._mid_utterance or long_speech:
                self.add(finish(), now)
            if self.finals or long_speech:
                return self.answer(now)
        if self.deadline is not None and self._speech_since is None and not self.finals and now >= self.deadline:
            return NothingHeard(), {}
        return None

    def answer(self, now: float | None = None) -> Answer:
        """What the caller gave, as one event: keys, then words, else nothing."""
        if self.digits:
            return DigitsPressed(self.digits), {"start_s": now, "end_s": now}
        if not self.finals:
            return NothingHeard(), {}
        text = " ".join(final.text for final in self.finals)
        confidences = [f.confidence for f in self.finals if f.confidence is not None]
        confidence = sum(confidences) / len(confidences) if confidences else None
        detail = {"start_s": round(self.finals[0].start_s, 3), "end_s": round(self.finals[-1].end_s, 3),
                  "words": [asdict(word) for final in self.finals for word in final.words]}
        if self.digits_only:
            text = spoken_digits(text) or text  # words that hold no number stay words: a no-match
        return SpeechHeard(text, confidence), detail

    def _silent_for(self, now: float) -> float:
        return 0.0 if self._quiet_since is None else now - self._quiet_since + 1e-9  # float steps of 20 ms

    def _endpoint_s(self) -> float:
        return RECORD_ENDPOINT_S if self.listen.mode == "record" else CHOICE_ENDPOINT_S

    def _max_speech_s(self) -> float:
        if self.listen.mode == "record":
            return float(self.listen.max_seconds or DEFAULT_MAX_RECORD_S)
        return MAX_CHOICE_SPEECH_S
