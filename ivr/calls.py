"""Carrier-neutral call handling over the case store.

Each carrier callback is one short transaction: lock the call row, advance the pure
dialogue one event, file or look up cases through the store, save the new state and
the rendered response, commit. Because the state lives in the database keyed by the
carrier's call id, any worker process can take the next callback of any call. The
dialogue core (engine, state, driver) stays free of the database; this module is the
seam between them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from ivr.actions import Action, Say
from ivr.desk import NOTICES, CallObserver, Notice, Router, StoreDesk, Understand, notify
from ivr.driver import advance
from ivr.events import CallerHungUp, CallStarted, Event, RecordingCaptured
from ivr.state import DialogueState
from storage import calls as call_store
from storage import cases as case_store
from storage import recordings as recording_store
from storage.models import Call

log = logging.getLogger(__name__)

# Renders carrier-facing actions for the step numbered seq (the next expected callback).
Renderer = Callable[[Sequence[Action], int], str]

ENDED_STATUSES = frozenset({"completed", "busy", "failed", "no-answer", "canceled"})
IDLE_STATUS = "idle-ended"  # our own: the carrier never reported the end; see CallService.end_idle
TURN_DETAILS = ("start_s", "end_s", "words")
"""What a carrier that hears the caller itself adds to a caller's turn."""


@dataclass(frozen=True)
class CallPosition:
    """Where a call stands between steps."""

    seq: int
    response: str | None
    ended: bool


class StoreUnavailable(RuntimeError):
    """The database could not be reached; the caller must not lose what they gave us."""


class MenuSource(Protocol):
    """Gives the live menu and any earlier version that calls in progress still use."""

    def live(self, session: Session) -> tuple[object, int]: ...

    def by_version(self, session: Session, version_id: int | None) -> object: ...


class CallService:
    """Runs calls: begin, feed events, attach recordings, end."""

    def __init__(self, sessions: sessionmaker[Session], menus: MenuSource, route: Router,
                 clock: Callable[[], datetime], understand: Understand | None = None,
                 label: Callable[[str | None], str | None] = lambda code: None,
                 observer: CallObserver | None = None) -> None:
        self.sessions = sessions
        self.menus = menus
        self.route = route
        self.clock = clock
        self.understand = understand
        self.label = label
        self.observer = observer

    def _desk(self, session: Session, call: Call, now: datetime) -> StoreDesk:
        return StoreDesk(session, call, now, self.route, self.understand, self.label)

    def begin(self, *, sid: str, caller: str, to: str, render: Renderer, preface: str | None = None,
              path: str = "keypad") -> str:
        """Open the call (or return the answer already given to this CallSid); path: voice or keypad."""
        with self._transaction() as session:
            now = self.clock()
            existing = call_store.get_call(session, sid, for_update=True)
            if existing is not None and existing.last_response:
                return existing.last_response
            call = existing or self._open(session, sid=sid, caller=caller, to=to, now=now, path=path)
            menu = self.menus.by_version(session, call.menu_version_id)
            state, actions = advance(None, CallStarted(caller), menu, now, self._desk(session, call, now))
            if preface:
                actions = [Say(preface), *actions]
            return self._save(session, call, state, actions, render, now, event=None)

    def handle(self, *, sid: str, seq: int, event: Event, render: Renderer,
               turn: Mapping[str, Any] | None = None) -> str | None:
        """Apply one caller event; a repeated or stale callback gets the previous answer. None: unknown call.

        turn: more about the caller's turn (start_s, end_s, words) for the stored transcript.
        """
        with self._transaction() as session:
            call = call_store.get_call(session, sid, for_update=True)
            if call is None:
                return None
            if seq != call.seq or call.ended_at is not None:
                return call.last_response
            return self._step(session, call, event, render, turn)

    def position(self, sid: str) -> CallPosition | None:
        """Where a call stands: the next expected seq and the last answer; None for an unknown call."""
        with self._transaction() as session:
            call = call_store.get_call(session, sid)
            if call is None:
                return None
            return CallPosition(call.seq, call.last_response, call.ended_at is not None)

    def place_bot_turns(self, sid: str, spans: Sequence[tuple[float, float]]) -> None:
        """Give the call's latest bot turns their (start_s, end_s) in the call recording, oldest first."""
        if not spans:
            return
        with self._transaction() as session:
            call = call_store.get_call(session, sid)
            if call is not None:
                call_store.place_bot_turns(session, call, spans)

    def attach_stream(self, *, sid: str, stream_sid: str, path: str) -> bool:
        """Register the stereo recording of a media stream; False for an unknown call."""
        with self._transaction() as session:
            call = call_store.get_call(session, sid)
            if call is None:
                return False
            recording_store.add_stream_recording(session, call=call, sid=stream_sid, path=path, now=self.clock())
            return True

    def finish_stream(self, *, sid: str, stream_sid: str, duration_s: float, backlog_ms: int) -> None:
        """Note a finished stream's length and the worst recogniser lag it saw."""
        with self._transaction() as session:
            call = call_store.get_call(session, sid, for_update=True)
            if call is None:
                return
            call.backlog_ms_max = max(call.backlog_ms_max or 0, backlog_ms)
            recording_store.set_duration(session, sid=stream_sid, duration_s=duration_s, now=self.clock())

    def record(self, *, sid: str, seq: int | None, recording_sid: str, url: str | None, duration_s: float,
               purpose: str | None, render: Renderer) -> tuple[str | None, int | None]:
        """Keep a recording whatever the dialogue state, then let the dialogue use it when it is current.

        Returns the response (None for an unknown call) and our recording id.
        """
        with self._transaction() as session:
            call = call_store.get_call(session, sid, for_update=True)
            if call is None:
                return None, None
            now = self.clock()
            current = seq is not None and seq == call.seq and call.ended_at is None
            purpose = purpose or (self._slot_waiting(session, call) if current else None)
            rec = recording_store.add_recording(session, call=call, sid=recording_sid, remote_url=url,
                                                duration_s=duration_s, purpose=purpose, now=now)
            if not current:
                return call.last_response, rec.id
            event = RecordingCaptured(recording_id=str(rec.id), duration_s=duration_s)
            return self._step(session, call, event, render), rec.id

    def end(self, *, sid: str, status: str, duration_s: int | None, caller: str, to: str) -> int | None:
        """The carrier reports the call's status; when it ended, file whatever was collected.

        Returns the call's id when this report ended it, else None.
        """
        with self._transaction() as session:
            now = self.clock()
            call = call_store.get_call(session, sid, for_update=True)
            if call is None:
                call = self._open(session, sid=sid, caller=caller, to=to, now=now)
            if status not in ENDED_STATUSES:
                if call.ended_at is None:  # a late "ringing" or "in-progress" does not reopen an ended call
                    call.status = status
                return None
            if call.ended_at is not None:
                return None
            return self._finish(session, call, status, duration_s, now)

    def end_idle(self, idle_for: timedelta) -> list[int]:
        """End the calls nothing has been heard of for idle_for, as if the caller hung up (a status
        callback lost with a killed worker, say): each files what it collected. Returns their ids."""
        ended = []
        with self._transaction() as session:
            sids = call_store.idle_call_sids(session, before=self.clock() - idle_for)
        for sid in sids:
            with self._transaction() as session:  # one call per transaction; each checked again under its lock
                now = self.clock()
                call = call_store.get_call(session, sid, for_update=True)
                if call is not None and call.ended_at is None and call.updated_at <= now - idle_for:
                    ended.append(self._finish(session, call, IDLE_STATUS, None, now))
        return ended

    def _finish(self, session: Session, call: Call, status: str, duration_s: int | None, now: datetime) -> int:
        """Let the dialogue know the caller has gone (it files what was collected), then end the call."""
        menu = self.menus.by_version(session, call.menu_version_id)
        state = DialogueState.from_dict(call.state) if call.state else None
        desk = self._desk(session, call, now)
        if state is None:
            state, _ = advance(None, CallStarted(call.from_number), menu, now, desk)
        state, _ = advance(state, CallerHungUp(), menu, now, desk)
        call.state = state.to_dict()
        call.outcome = _outcome(session, call)
        call_store.end_call(session, call, status=status, duration_s=duration_s, now=now)
        if self.observer is not None:
            streamed = any(rec.purpose == "call" for rec in call.recordings)  # a media stream ran
            notify(session, lambda observer: observer.call_ended(status, streamed))
        return call.id

    def _slot_waiting(self, session: Session, call: Call) -> str | None:
        """The slot the current question fills (description, location), naming what a recording holds."""
        if not call.state:
            return None
        menu = self.menus.by_version(session, call.menu_version_id)
        node = menu.node(DialogueState.from_dict(call.state).node)
        return getattr(node, "slot", None) if getattr(node, "type", None) == "question" else None

    def _open(self, session: Session, *, sid: str, caller: str, to: str, now: datetime, path: str = "keypad") -> Call:
        _, version_id = self.menus.live(session)
        call, created = call_store.open_call(session, sid=sid, from_number=caller, to_number=to, now=now,
                                             menu_version_id=version_id, state={})
        if created:
            notify(session, lambda observer: observer.call_started(path))
        return call

    def _step(self, session: Session, call: Call, event: Event, render: Renderer,
              turn: Mapping[str, Any] | None = None) -> str:
        now = self.clock()
        menu = self.menus.by_version(session, call.menu_version_id)
        state = DialogueState.from_dict(call.state)
        state, actions = advance(state, event, menu, now, self._desk(session, call, now))
        notify(session, lambda observer: observer.turn(event))
        return self._save(session, call, state, actions, render, now, event=event, turn=turn)

    def _save(self, session: Session, call: Call, state: DialogueState, actions: Sequence[Action],
              render: Renderer, now: datetime, event: Event | None, turn: Mapping[str, Any] | None = None) -> str:
        turns = [_caller_turn(event, turn)] if event is not None else []
        turns += [{"speaker": "bot", "node": state.node, "text": a.text} for a in actions if isinstance(a, Say)]
        call_store.add_turns(session, call, [turn for turn in turns if turn], now=now)
        response = render(actions, call.seq + 1)
        call_store.save_step(session, call, state=state.to_dict(), response=response, now=now)
        return response

    @contextmanager
    def _transaction(self) -> Iterator[Session]:
        try:
            with self.sessions.begin() as session:
                yield session
                notices: list[Notice] = session.info.pop(NOTICES, [])
        except SQLAlchemyError as error:
            raise StoreUnavailable(str(error)) from error
        if self.observer is not None:  # committed: now it happened
            for notice in notices:
                notice(self.observer)


def _outcome(session: Session, call: Call) -> str:
    """How the call ended, for lists and dashboards: a filed case, an incomplete one, or no case."""
    case = case_store.case_for_call(session, call.id)
    if case is None:
        return "no_case"
    return "incomplete_case" if case.status == "incomplete" else "case_filed"


def _caller_turn(event: Event, more: Mapping[str, Any] | None) -> dict[str, object]:
    """What the caller gave in this event, as turn fields; empty when the event carries nothing."""
    digits = getattr(event, "digits", None)
    recording_id = getattr(event, "recording_id", None)
    text = getattr(event, "text", None)
    if digits is None and recording_id is None and text is None:
        return {}
    fields = {key: more[key] for key in TURN_DETAILS if more and key in more}
    return {"speaker": "caller", "digits": digits, "text": text, "confidence": getattr(event, "confidence", None),
            "recording_id": int(recording_id) if recording_id else None, **fields}
