"""Random event sequences: the engine never raises, never files twice, never leaves the carrier without an instruction."""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from datetime import datetime

from config.menu import Menu
from ivr.actions import Action, CaseDraft, FileCase, Hangup, Listen, LookUpCase, Transfer
from ivr.driver import advance
from ivr.engine import start, step
from ivr.events import (
    CallerHungUp,
    CallStarted,
    CaseFiled,
    CaseFound,
    CaseNotFound,
    DigitsPressed,
    Event,
    NothingHeard,
    RecordingCaptured,
    SpeechHeard,
    TransferEnded,
)
from ivr.state import DialogueState

KEYS = ["", "0", "1", "1", "2", "3", "4", "5", "6", "7", "8", "9", "*", "#", "1234", "12", "9" * 14]
PHRASES = ["phản ánh", "tra cứu", "không", "đúng rồi", "đèn đường", "khác", "", "1 2 3 4", "alô"]
MAKERS: list[tuple[int, Callable[[random.Random], Event]]] = [
    (12, lambda r: DigitsPressed(r.choice(KEYS))),
    (3, lambda r: SpeechHeard(r.choice(PHRASES), r.random())),
    (3, lambda r: NothingHeard()),
    (4, lambda r: RecordingCaptured(f"rec{r.randrange(50)}", r.random() * 30)),
    (2, lambda r: CaseFiled(str(r.randrange(10, 10**6)))),
    (2, lambda r: CaseFound("1234", "new", "Mới tiếp nhận", r.choice([None, "Cây xanh"]))),
    (2, lambda r: CaseNotFound("1234")),
    (2, lambda r: TransferEnded(r.random() < 0.5)),
    (1, lambda r: CallStarted("+84")),
]


def random_events(rng: random.Random) -> list[Event]:
    """Up to 40 random events, then the caller hangs up."""
    weights = [weight for weight, _ in MAKERS]
    makers = rng.choices([maker for _, maker in MAKERS], weights, k=rng.randrange(41))
    return [maker(rng) for maker in makers] + [CallerHungUp()]


def restarted(state: DialogueState) -> DialogueState:
    """The state as another worker would read it back from the database."""
    copy = DialogueState.from_dict(json.loads(json.dumps(state.to_dict())))
    assert copy == state
    return copy


def check_instructions(state: DialogueState, actions: list[Action]) -> None:
    """A step that says something leaves the carrier waiting, transferring, ending, or the desk working."""
    if not actions:
        return
    assert isinstance(actions[-1], Listen | Transfer | Hangup | FileCase | LookUpCase), actions
    if isinstance(actions[-1], Hangup):
        assert state.finished
    if any(isinstance(action, FileCase) for action in actions):
        assert state.filing


def test_random_sequences_through_the_pure_engine(menu: Menu, now: datetime) -> None:
    rng = random.Random(1022)
    for _ in range(600):
        events = random_events(rng)
        state, actions = start(menu, "+84901234567")
        filings = 0
        finished_before = False
        for event in events:
            finished_before = state.finished
            state, actions = step(restarted(state), event, menu, now)
            check_instructions(state, actions)
            assert state.node in menu.nodes
            filings += sum(isinstance(action, FileCase) for action in actions)
        assert state.finished
        assert filings <= 1, events
        if not finished_before:
            assert filings == 1, events


class CountingDesk:
    """Counts filings; numbers are fixed so sequences replay exactly."""

    def __init__(self) -> None:
        self.drafts: list[CaseDraft] = []

    def file_case(self, draft: CaseDraft) -> str:
        self.drafts.append(draft)
        return f"{len(self.drafts)}7"

    def look_up_case(self, number: str) -> CaseFound | CaseNotFound:
        return CaseFound(number, "new", "Mới tiếp nhận") if number.endswith("4") else CaseNotFound(number)


def test_random_sequences_through_the_driver(menu: Menu, now: datetime) -> None:
    rng = random.Random(84)
    for _ in range(400):
        desk = CountingDesk()
        state: DialogueState | None = None
        for event in random_events(rng):
            state, actions = advance(state if state is None else restarted(state), event, menu, now, desk)
            assert not any(isinstance(action, FileCase | LookUpCase) for action in actions)
        assert state is not None and state.finished and not state.filing
        assert len(desk.drafts) <= 1
        assert (state.filed_case is None) == (not desk.drafts)
