"""After the call: transcribe its stored recordings and suggest a category and place for its case.

Transport-neutral: it reads recordings a carrier adapter has already stored locally, decodes them
outside any transaction, and keeps on the case a suggestion for an operator to confirm. The case's
own category, ward and address are never changed here (docs/decisions.md, section 17).
"""

from __future__ import annotations

import contextvars
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Executor, Future
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from ivr.desk import Understand
from speech.audio import AudioError
from speech.transcribe import Transcript, transcribe_wav
from storage import cases as case_store
from storage import recordings as recording_store
from storage.models import Recording

log = logging.getLogger(__name__)
MAX_DEFER_S = 120.0
DEFER_POLL_S = 0.5

ModelSource = Callable[[], tuple[Any, int] | None]
"""The recogniser model and its sample rate, or None when no speech model is usable."""

TranscribeFile = Callable[[Path, Any, int], Transcript | None]

# A case reads "what, then where": the answers to those questions come first, anything else after.
SLOT_ORDER = {"description": 0, "location": 1}
# A streamed call's stereo recording carries the bot's voice too, and its caller was recognised live.
SKIPPED_PURPOSES = frozenset({"call"})


class Transcriber:
    """Transcribes stored recordings in the background and suggests category and place to their case."""

    def __init__(self, sessions: sessionmaker[Session], model_source: ModelSource, understand: Understand,
                 clock: Callable[[], datetime], executor: Executor | None = None, *,
                 transcribe: TranscribeFile = transcribe_wav, defer: Callable[[], bool] | None = None) -> None:
        """defer: True while live calls need the CPU more than transcripts do (the transcription waits)."""
        self.sessions = sessions
        self.model_source = model_source
        self.understand = understand
        self.clock = clock
        self.executor = executor
        self.transcribe_file = transcribe
        self.defer = defer
        self._lock = threading.Lock()
        self._model: tuple[Any, int] | None = None
        self._looked_up = False
        self._failed: set[int] = set()  # recordings whose transcript the database refused
        self._failed_lock = threading.Lock()  # not _lock: that one is held for the seconds a model loads

    def model(self) -> tuple[Any, int] | None:
        """The model and its rate, looked up on first use (loading takes seconds); None when there is none."""
        with self._lock:  # concurrent first users share one lookup
            if not self._looked_up:
                self._model = self.model_source()
                self._looked_up = True  # after _model: a reader that sees True sees the model too
                if self._model is None:
                    log.debug("no usable speech model: recordings are not transcribed")
            return self._model

    def _none_to_use(self) -> bool:
        """True once the lookup found no model. Never waits for a lookup in progress (loading a model takes
        seconds under load): a status webhook asking for suggestions must answer at once."""
        return self._looked_up and self._model is None

    def submit(self, recording_id: int) -> Future[bool] | None:
        """Transcribe in the background when an executor is set, else at once; errors are logged, not raised."""
        if self._none_to_use():
            return None
        if self.executor is None:
            self._logged(recording_id)
            return None
        # In a copy of this context: log lines carry the call id of whoever asked (a webhook, a fetch).
        return self.executor.submit(contextvars.copy_context().run, self._logged, recording_id)

    def call_ended(self, call_id: int) -> None:
        """A call ended (its case may be filed only now): suggest from transcripts already made, in the background."""
        if self._none_to_use():
            return
        if self.executor is None:
            self.suggest_for_call(call_id)
        else:
            self.executor.submit(contextvars.copy_context().run, self.suggest_for_call, call_id)

    def transcribe(self, recording_id: int, *, again: bool = False) -> bool:
        """Transcribe one stored recording (again: even if it has a transcript), then suggest; True when stored."""
        model = self.model()
        if model is None:
            return False
        try:
            return self._transcribe(recording_id, model, again)
        except SQLAlchemyError as error:
            log.warning("recording %s: transcript not stored, database error (%s); retried once it answers",
                        recording_id, type(error).__name__)
            with self._failed_lock:
                self._failed.add(recording_id)
            return False

    @property
    def has_failed(self) -> bool:
        """Whether some transcript waits for the database to answer again."""
        return bool(self._failed)

    def retry_failed(self) -> int:
        """Submit again the recordings whose transcript the database refused (an outage); how many."""
        with self._failed_lock:
            ids, self._failed = sorted(self._failed), set()
        for recording_id in ids:
            self.submit(recording_id)
        return len(ids)

    def transcribe_stored(self, *, again: bool = False, limit: int | None = None) -> tuple[int, int]:
        """Transcribe now every stored recording without a transcript (again: every one); (transcribed, failed)."""
        with self.sessions() as session:
            ids = [rec.id for rec in recording_store.recordings_to_transcribe(
                session, again=again, skip_purposes=SKIPPED_PURPOSES, limit=limit)]
        done = sum(1 for rec_id in ids if self.transcribe(rec_id, again=again))
        return done, len(ids) - done

    def suggest_for_call(self, call_id: int) -> dict[str, Any] | None:
        """Suggest category and place to the call's case from its transcripts (idempotent); the suggestion kept."""
        try:
            with self.sessions.begin() as session:
                # The row lock orders concurrent suggesters, so the last one reads every committed transcript.
                case = case_store.case_for_call(session, call_id, for_update=True)
                if case is None or case.call is None:
                    return None
                suggestion = self._suggestion(_heard(case.call.recordings))
                case_store.set_suggestion(session, case, suggestion, self.clock())
                return suggestion
        except SQLAlchemyError as error:
            log.warning("call %s: suggestion not stored, database error (%s)", call_id, type(error).__name__)
            return None

    def _logged(self, recording_id: int) -> bool:
        """transcribe() for an executor, whose futures nobody reads: an unexpected error is logged."""
        try:
            return self.transcribe(recording_id)
        except Exception:
            log.exception("recording %s: transcription failed", recording_id)
            return False

    def _transcribe(self, recording_id: int, model: tuple[Any, int], again: bool) -> bool:
        with self.sessions.begin() as session:
            rec = session.get(Recording, recording_id)
            if rec is None or not _wanted(rec, again):
                return False
            path, call_id = Path(rec.local_path or ""), rec.call_id
        self._yield_to_live_calls()
        try:
            heard = self.transcribe_file(path, *model)  # seconds of decoding: outside any transaction
        except (AudioError, OSError) as error:
            log.error("recording %s: cannot transcribe %s: %s", recording_id, path, error)
            return False
        with self.sessions.begin() as session:
            rec = session.get(Recording, recording_id)
            if rec is None or not _wanted(rec, again):
                return False
            recording_store.set_transcript(session, rec, heard.text if heard else "",
                                           heard.confidence if heard else None, self.clock())
        self.suggest_for_call(call_id)
        return True

    def _yield_to_live_calls(self) -> None:
        """Wait while live calls need the CPU (defer() is True), at most MAX_DEFER_S: a transcript can wait,
        a caller cannot. Found by the soak test: background decoding made streamed calls answer seconds late."""
        if self.defer is None:
            return
        deadline = time.monotonic() + MAX_DEFER_S
        while self.defer() and time.monotonic() < deadline:
            time.sleep(DEFER_POLL_S)

    def _suggestion(self, heard: list[Recording]) -> dict[str, Any] | None:
        text = " ".join(rec.transcript or "" for rec in heard)
        if not text:
            return None
        understood = self.understand(text)
        return {"category": understood.category, "category_confidence": understood.category_confidence,
                "ward_code": understood.ward_code, "ward": understood.ward, "address": understood.address,
                "transcript": text, "recording_ids": [rec.id for rec in heard], "source": "transcript"}


def _wanted(rec: Recording, again: bool) -> bool:
    """Whether a recording is ours to transcribe: stored locally, not the stream's, not done yet (unless again)."""
    return (rec.status == "stored" and bool(rec.local_path) and rec.purpose not in SKIPPED_PURPOSES
            and (again or rec.transcript is None))


def _heard(recordings: list[Recording]) -> list[Recording]:
    """The recordings in which something was heard, description first, then location, then the rest."""
    heard = [rec for rec in recordings if rec.transcript and rec.purpose not in SKIPPED_PURPOSES]
    return sorted(heard, key=lambda rec: (SLOT_ORDER.get(rec.purpose or "", len(SLOT_ORDER)), rec.created_at, rec.id))
