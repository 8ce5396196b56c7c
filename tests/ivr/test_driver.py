"""ivr.driver: effects run through a CaseDesk, the carrier sees only Say/Listen/Transfer/Hangup."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime

import pytest

from config.menu import Defaults, Menu, MenuError, Voice, parse_menu
from config.menu_schema import MenuDocument
from ivr.actions import CaseDraft, Hangup, Listen, Say, Transfer
from ivr.driver import EffectLoopError, advance, begin
from ivr.events import (
    CallerHungUp,
    CallStarted,
    CaseFound,
    CaseNotFound,
    DigitsPressed,
    Event,
    RecordingCaptured,
    TransferEnded,
)

CALLER = "+84901234567"


@dataclass
class FakeDesk:
    """Files cases in a list and finds the ones it was given."""

    known: dict[str, CaseFound] = field(default_factory=dict)
    drafts: list[CaseDraft] = field(default_factory=list)
    lookups: list[str] = field(default_factory=list)

    def file_case(self, draft: CaseDraft) -> str:
        self.drafts.append(draft)
        return str(1000 + len(self.drafts))

    def look_up_case(self, number: str) -> CaseFound | CaseNotFound:
        self.lookups.append(number)
        return self.known.get(number) or CaseNotFound(number)


def test_report_files_once_and_reads_the_number_back(menu: Menu, now: datetime) -> None:
    desk = FakeDesk()
    state, actions = advance(None, CallStarted(CALLER), menu, now, desk)
    report: list[Event] = [DigitsPressed("1"), DigitsPressed("2"), RecordingCaptured("r1", 3.0),
                           RecordingCaptured("r2", 2.0)]
    for event in report:
        state, actions = advance(state, event, menu, now, desk)
    state, actions = advance(state, DigitsPressed("1"), menu, now, desk)

    readback = (menu.nodes["report_filed"].prompt or "").replace("{case_number}", "một, không, không, một")
    assert actions == [Say(readback), Say(menu.nodes["goodbye"].prompt or ""), Hangup()]
    assert desk.drafts == [CaseDraft(status="new", category="HT_DUONG", recording_ids=("r1", "r2"), slots={
        "category": "HT_DUONG", "description_recording": "r1", "location_recording": "r2"})]
    assert (state.filed_case, state.finished) == ("1001", True)

    state, actions = advance(state, CallerHungUp(), menu, now, desk)
    assert actions == [] and len(desk.drafts) == 1


def test_starting_with_no_state_is_begin(menu: Menu, now: datetime) -> None:
    desk = FakeDesk()
    assert advance(None, CallStarted(CALLER), menu, now, desk) == begin(menu, CALLER, now, desk)


def test_hang_up_before_any_state_still_files_a_case(menu: Menu, now: datetime) -> None:
    desk = FakeDesk()
    state, _ = advance(None, CallerHungUp(), menu, now, desk)
    assert desk.drafts == [CaseDraft(status="incomplete")]
    assert (state.finished, state.filed_case, state.filing) == (True, "1001", False)


def test_lookup_found(menu: Menu, now: datetime) -> None:
    desk = FakeDesk(known={"42": CaseFound("42", "done", "Đã xử lý xong", "Điện lực")})
    state, _ = begin(menu, CALLER, now, desk)
    state, _ = advance(state, DigitsPressed("2"), menu, now, desk)
    state, actions = advance(state, DigitsPressed("42"), menu, now, desk)
    result = (menu.nodes["lookup_result"].prompt or "").format(
        case_number="bốn, hai", category_label="Điện lực", case_status="Đã xử lý xong")
    assert actions == [Say(result), Say(menu.nodes["goodbye"].prompt or ""), Hangup()]
    assert desk.lookups == ["42"] and desk.drafts == []


def test_lookup_not_found_asks_again(menu: Menu, now: datetime) -> None:
    desk = FakeDesk()
    state, _ = begin(menu, CALLER, now, desk)
    state, _ = advance(state, DigitsPressed("2"), menu, now, desk)
    state, actions = advance(state, DigitsPressed("12345"), menu, now, desk)
    missing = (menu.nodes["lookup_missing"].prompt or "").format(case_number="một, hai, ba, bốn, năm")
    assert actions == [Say(missing), Say(menu.nodes["lookup_number"].prompt or ""),
                       Listen("keypad", timeout_s=10, max_digits=12, finish_on_key="#")]
    assert state.node == "lookup_number"


def test_transfer_and_message(menu: Menu, now: datetime) -> None:
    desk = FakeDesk()
    state, _ = begin(menu, CALLER, now, desk)
    state, actions = advance(state, DigitsPressed("0"), menu, now, desk)
    assert actions[-1] == Transfer(queue="operators", timeout_s=30)
    state, _ = advance(state, TransferEnded(answered=False), menu, now, desk)
    state, actions = advance(state, RecordingCaptured("m1", 8.0), menu, now, desk)
    assert actions[-1] == Hangup()
    assert desk.drafts == [CaseDraft(status="new", recording_ids=("m1",),
                                     slots={"kind": "message", "message_recording": "m1"})]


LOOPING = {
    "name": "loop",
    "start": "file",
    "nodes": {
        "file": {"type": "file_case", "next": "look", "set": {"case_number": "7"}},
        "look": {"type": "lookup_case", "found": "file", "not_found": "file", "fallback": "file"},
    },
}


def test_a_menu_that_loops_through_effects_is_stopped(now: datetime) -> None:
    with pytest.raises(MenuError, match="loop without waiting for the caller"):
        parse_menu(json.dumps(LOOPING), "loop.yaml")  # validation refuses it: build it by hand
    nodes = MenuDocument.model_validate(LOOPING).nodes
    looping = Menu("loop", "file", Voice(), Defaults(), nodes, version="0" * 64, source="", file="loop.yaml")
    desk = FakeDesk(known={"7": CaseFound("7", "new", "Mới")})
    with pytest.raises(EffectLoopError):
        begin(looping, CALLER, now, desk)
