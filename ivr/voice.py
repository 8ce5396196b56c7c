"""A call spoken over a media stream: the caller's audio and keys in, the dialogue, prompt audio out.

Transport-neutral. A carrier's stream handler (ivr/twilio/media.py) calls on_audio, on_dtmf,
on_mark and on_stop on the call's own worker thread; the session answers through an AudioOut.
The dialogue is the same CallService as the keypad flow: each answer is one short transaction,
and the actions of every step are stored as JSON (ivr.actions.actions_to_json), so the carrier's
TwiML after the stream (ivr/twilio/webhooks.py after-stream) can carry on from where the stream
stopped, by keypad if need be.

Time is the caller's audio: 160 samples per 20 ms frame, counted from the start of the stream,
which is also the timeline of the stereo call recording. Timeouts therefore hold whatever the
pace the frames arrive at, and every turn's start_s/end_s points into the recording.
"""

from __future__ import annotations

import contextvars
import logging
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol

from ivr.actions import CarrierAction, Hangup, Listen, Say, Transfer, actions_from_json, actions_to_json
from ivr.calls import CallService, StoreUnavailable
from ivr.events import Event, SpeechHeard
from ivr.listening import Listening
from ivr.prompts import NUMBER_WORDS
from speech.audio import is_quiet
from speech.mulaw import mulaw_decode
from speech.prompts import PromptAudio, PromptCache
from speech.recognition import Final, Partial, Recognizer
from speech.resample import PHONE_RATE

log = logging.getLogger(__name__)

MARK_GRACE_S = 2.0  # a prompt whose mark never came back counts as played this long after its end


class AudioOut(Protocol):
    """The way back to the caller (ivr.twilio.sender.Sender)."""

    def play(self, audio_frames: Sequence[bytes], mark: str) -> bool: ...

    def clear(self) -> bool: ...

    def close(self) -> None: ...


class Ears(Protocol):
    """One call's right to recognise (speech.recognition.Lease)."""

    def recognizer(self, grammar: Sequence[str] | None = None, *, offset_s: float = 0.0) -> Recognizer: ...

    def warm_up(self) -> None: ...

    def close(self) -> None: ...


PromptSource = Callable[[Say], PromptAudio]
"""The audio of one Say action (synthesised, cached, or a recorded file)."""


def prompt_source(cache: PromptCache, menu_dir: Path) -> PromptSource:
    """Say actions as audio: a recorded file (relative to the menus) or the cached synthesis of the text."""

    def audio(say: Say) -> PromptAudio:
        if say.audio:
            path = Path(say.audio)
            return cache.get_recorded(path if path.is_absolute() else menu_dir / path)
        return cache.get(say.text, keep=not say.dynamic)

    return audio


class VoiceSession:
    """One streamed call: listens with a recogniser, answers through the dialogue, speaks prompts."""

    def __init__(self, *, call_sid: str, stream_sid: str, service: CallService, out: AudioOut,
                 prompts: PromptSource, ears: Ears, recording_path: str | None = None,
                 on_finished: Callable[[VoiceSession], object] | None = None,
                 on_lag: Callable[[int], object] | None = None) -> None:
        """on_finished: told once the stream has ended and the recogniser is given back (for metrics).
        on_lag: told, with every frame, how many ms the call's pipeline runs behind the caller (admission)."""
        self.call_sid = call_sid
        self.stream_sid = stream_sid
        self.service = service
        self.out = out
        self.prompts = prompts
        self.ears = ears
        self.recording_path = recording_path
        self.on_finished = on_finished
        self.on_lag = on_lag
        self.seq = -1
        self.samples = 0  # caller audio received: the call's clock
        self.backlog_ms_max = 0
        self._wall_start: float | None = None
        self._begun = False
        self._done = False
        self._pending_marks: set[str] = set()
        self._marks_sent = 0
        self._play_end = 0.0  # where the bot audio queued so far ends, in call seconds
        self._closing = False  # a Transfer or Hangup: close the stream once the prompts have played
        self._listening: Listening | None = None
        self._recognizer: Recognizer | None = None
        self._deaf = False  # building a recogniser failed: keys only from then on

    @property
    def now_s(self) -> float:
        """Seconds of caller audio so far."""
        return self.samples / PHONE_RATE

    # -- the carrier's events ---------------------------------------------------------------

    def on_audio(self, ulaw: bytes, timestamp_ms: int) -> None:
        """20 ms of caller audio: advance the clock, feed the recogniser, check timers."""
        self._begin()
        pcm = mulaw_decode(ulaw)
        self.samples += pcm.size
        self._note_backlog()
        if self._done:
            return
        if self._pending_marks and self.now_s >= self._play_end + MARK_GRACE_S:
            log.warning("call %s: marks %s never came back; taking the prompts as played",
                        self.call_sid, sorted(self._pending_marks))
            self._prompts_played()
        listening = self._listening
        if listening is None:
            return
        if self._recognizer is None and (listening.listen.barge_in or not self._pending_marks):
            self._recognizer = self._new_recognizer(listening.listen)
        if self._recognizer is not None:
            self._heard(self._recognizer.accept(pcm))
        if self._listening is listening:
            self._act(listening.tick(self.now_s, self._finish_recognizer, quiet=is_quiet(pcm)))

    def on_dtmf(self, digit: str) -> None:
        """A key: interrupts a prompt the caller may talk over, then answers the question."""
        self._begin()
        if self._done or self._listening is None:
            return
        if self._pending_marks and self._listening.listen.barge_in:
            self._barge_in()
        self._act(self._listening.key(digit, self.now_s, self._finish_recognizer))

    def on_mark(self, name: str) -> None:
        """The carrier played everything up to this mark."""
        self._pending_marks.discard(name)
        if not self._pending_marks:
            self._prompts_played()

    def on_stop(self) -> None:
        """The stream ended: keep what a caller half-said in a free answer, free the recogniser."""
        self._begin()
        try:
            listening = self._listening
            if not self._done and listening is not None and listening.listen.mode == "record":
                listening.add(self._finish_recognizer(), self.now_s)
                event, detail = listening.answer()
                if isinstance(event, SpeechHeard):
                    self._submit(event, detail, reply=False)
        finally:
            self._done = True
            self._listening = self._recognizer = None
            self.ears.close()
            self._finish_stream()

    # -- steps ------------------------------------------------------------------------------

    def _begin(self) -> None:
        """On the first event: register the recording and perform the step the voice webhook stored."""
        if self._begun:
            return
        self._begun = True
        try:
            if self.recording_path:
                self.service.attach_stream(sid=self.call_sid, stream_sid=self.stream_sid, path=self.recording_path)
            position = self.service.position(self.call_sid)
        except StoreUnavailable as error:
            log.error("call %s: database unavailable at stream start: %s", self.call_sid, error)
            self._hand_back()
            return
        stored = actions_from_json(position.response) if position is not None and not position.ended else None
        if stored is None:
            log.warning("call %s has no stream step to perform: handing the call back", self.call_sid)
            self._hand_back()
            return
        self.seq, actions = stored
        self._perform(actions)
        # While the greeting plays, not when the caller first speaks, and on a thread of its own: the most
        # of a second it takes would otherwise hold up this call's audio (and its lag, which admission reads).
        threading.Thread(target=contextvars.copy_context().run, args=(self._warm_up,),
                         name=f"warm-up-{self.stream_sid}", daemon=True).start()

    def _warm_up(self) -> None:
        try:
            self.ears.warm_up()
        except Exception:
            log.exception("call %s: recogniser warm-up failed", self.call_sid)

    def _submit(self, event: Event, detail: dict[str, Any], *, reply: bool = True) -> None:
        """Give the dialogue one caller event and perform its answer."""
        self._listening = None
        self._recognizer = None
        began = time.perf_counter()
        try:
            body = self.service.handle(sid=self.call_sid, seq=self.seq, event=event, render=actions_to_json,
                                       turn=detail)
        except StoreUnavailable as error:
            log.error("call %s: database unavailable, %s not stored (audio kept in the call recording): %s",
                      self.call_sid, type(event).__name__, error)
            self._hand_back()
            return
        stored = actions_from_json(body)
        if not reply:
            return
        if stored is None or stored[0] == self.seq:
            log.warning("call %s: the dialogue did not move on at step %d; handing the call back",
                        self.call_sid, self.seq)
            self._hand_back()
            return
        self.seq, actions = stored
        stepped = time.perf_counter()
        self._perform(actions)
        log.debug("call %s: %s at %.2f s (said until %s s): step %.0f ms, prompts %.0f ms", self.call_sid,
                  type(event).__name__, self.now_s, detail.get("end_s"), 1000 * (stepped - began),
                  1000 * (time.perf_counter() - stepped))

    def _perform(self, actions: Sequence[CarrierAction]) -> None:
        spans: list[tuple[float, float]] = []
        for action in actions:
            if isinstance(action, Say):
                spans.append(self._say(action))
            elif isinstance(action, Listen):
                self._listen(action)
            elif isinstance(action, Transfer | Hangup):
                self._closing = True
        try:
            self.service.place_bot_turns(self.call_sid, spans)
        except StoreUnavailable as error:  # the times are a convenience; the turns themselves are stored
            log.warning("call %s: bot turn times not stored: %s", self.call_sid, error)
        if not self._pending_marks:
            self._prompts_played()

    def _say(self, say: Say) -> tuple[float, float]:
        try:
            audio = self.prompts(say)
        except Exception:  # a prompt that cannot be rendered is skipped, the call goes on
            log.exception("call %s: a prompt of %d characters could not be rendered", self.call_sid, len(say.text))
            return self.now_s, self.now_s
        start = max(self.now_s, self._play_end)
        if not audio.frames:
            return start, start
        self._marks_sent += 1
        mark = f"{self.seq}.{self._marks_sent}"
        if self.out.play(audio.frames, mark):
            self._pending_marks.add(mark)
            self._play_end = start + audio.duration_s
        return start, start + audio.duration_s

    def _listen(self, listen: Listen) -> None:
        self._listening = Listening(listen, digits_only=_wants_digits(listen))
        self._recognizer = None  # built at the first frame it may hear

    def _prompts_played(self) -> None:
        self._pending_marks.clear()
        self._play_end = min(self._play_end, self.now_s)
        if self._closing:
            self._hand_back()
            return
        listening = self._listening
        if listening is None or listening.deadline_set:
            return
        listening.start_timer(self.now_s)

    def _barge_in(self) -> None:
        """The caller spoke or keyed over a prompt: stop it and listen."""
        self.out.clear()
        self._prompts_played()

    def _heard(self, result: Partial | Final | None) -> None:
        listening = self._listening
        if result is None or listening is None:
            return
        if isinstance(result, Partial):
            if self._pending_marks and listening.listen.barge_in:
                self._barge_in()
            listening.speaking(self.now_s)
            return
        listening.add(result, self.now_s)

    def _act(self, answer: tuple[Event, dict[str, Any]] | None) -> None:
        if answer is not None:
            self._submit(*answer)

    def _new_recognizer(self, listen: Listen) -> Recognizer | None:
        if self._deaf:
            return None
        try:
            return self.ears.recognizer(_grammar(listen), offset_s=self.now_s)
        except Exception:  # no recogniser: the keypad still works inside the stream
            log.exception("call %s: no recogniser; the rest of the call takes keys only", self.call_sid)
            self._deaf = True
            return None

    def _finish_recognizer(self) -> Final | None:
        recognizer, self._recognizer = self._recognizer, None
        return recognizer.finish() if recognizer is not None else None

    def _hand_back(self) -> None:
        """End the stream: the carrier goes on with what follows it (after-stream)."""
        self._done = True
        self._listening = None
        self.out.close()

    def _note_backlog(self) -> None:
        """How far the call's pipeline runs behind the caller's real-time audio."""
        now = time.monotonic()
        if self._wall_start is None:
            self._wall_start = now - self.now_s
        lag_ms = int((now - self._wall_start - self.now_s) * 1000)
        if lag_ms < 0:  # audio arrives faster than real time (a test, a replay): re-anchor
            self._wall_start = now - self.now_s
        self.backlog_ms_max = max(self.backlog_ms_max, lag_ms)
        if self.on_lag is not None:
            self.on_lag(lag_ms)

    def _finish_stream(self) -> None:
        try:
            self.service.finish_stream(sid=self.call_sid, stream_sid=self.stream_sid, duration_s=self.now_s,
                                       backlog_ms=self.backlog_ms_max)
        except StoreUnavailable as error:
            log.warning("call %s: stream statistics not stored: %s", self.call_sid, error)
        if self.on_finished is not None:
            self.on_finished(self)


def _wants_digits(listen: Listen) -> bool:
    """A keypad question with no spoken choices and several digits: a number, said or keyed."""
    return listen.mode == "keypad" and not listen.phrases and listen.max_digits != 1


def _grammar(listen: Listen) -> list[str] | None:
    """What the recogniser may hear: the node's phrases, number words, or anything (None)."""
    if listen.mode == "record":
        return None
    if listen.phrases:
        return list(listen.phrases)
    return list(NUMBER_WORDS) if _wants_digits(listen) else None
