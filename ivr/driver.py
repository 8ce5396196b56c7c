"""Runs the engine's effects (filing and looking up cases) and hands the carrier only what it must do.

Transport-neutral: a carrier adapter turns each caller callback into an event,
calls advance, and renders the returned Say/Listen/Transfer/Hangup actions.
"""

from __future__ import annotations

from collections import deque
from datetime import datetime
from typing import Protocol

from config.menu import Menu
from ivr.actions import Action, CarrierAction, CaseDraft, FileCase, LookUpCase
from ivr.engine import start, step
from ivr.events import CallStarted, CaseFiled, CaseFound, CaseNotFound, Event
from ivr.state import DialogueState

MAX_EFFECTS = 16
"""Effects run for one event; validated menus need at most two (a lookup, then nothing, or a filing)."""


class CaseDesk(Protocol):
    """Where cases are filed and looked up (the database, or a fake in tests)."""

    def file_case(self, draft: CaseDraft) -> str:
        """Store the case and return its number."""
        ...

    def look_up_case(self, number: str) -> CaseFound | CaseNotFound:
        """Find a case by the number the caller keyed in."""
        ...


class EffectLoopError(RuntimeError):
    """One event led to more than MAX_EFFECTS effects: the menu loops without the caller."""


def begin(menu: Menu, caller: str, now: datetime, desk: CaseDesk) -> tuple[DialogueState, list[CarrierAction]]:
    """Start a call and run any effects its first nodes ask for."""
    state, actions = start(menu, caller)
    return _settle(state, actions, menu, now, desk)


def advance(
    state: DialogueState | None, event: Event, menu: Menu, now: datetime, desk: CaseDesk
) -> tuple[DialogueState, list[CarrierAction]]:
    """Apply one event, run the effects it causes through desk, and return the carrier's actions.

    With state None the call starts first (from CallStarted's caller); the event is then
    applied unless it was that CallStarted.
    """
    if state is None:
        caller = event.caller if isinstance(event, CallStarted) else ""
        state, spoken = begin(menu, caller, now, desk)
        if isinstance(event, CallStarted):
            return state, spoken
        state, more = advance(state, event, menu, now, desk)
        return state, spoken + more
    state, actions = step(state, event, menu, now)
    return _settle(state, actions, menu, now, desk)


def _settle(
    state: DialogueState, actions: list[Action], menu: Menu, now: datetime, desk: CaseDesk
) -> tuple[DialogueState, list[CarrierAction]]:
    out: list[CarrierAction] = []
    pending = deque(actions)
    effects = 0
    while pending:
        action = pending.popleft()
        if not isinstance(action, FileCase | LookUpCase):
            out.append(action)
            continue
        effects += 1
        if effects > MAX_EFFECTS:
            raise EffectLoopError(f"more than {MAX_EFFECTS} effects for one event at node {state.node!r}")
        result: Event
        if isinstance(action, FileCase):
            result = CaseFiled(desk.file_case(action.draft))
        else:
            result = desk.look_up_case(action.number)
        state, follow = step(state, result, menu, now)
        pending.extendleft(reversed(follow))
    return state, out
