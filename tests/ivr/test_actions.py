"""Carrier actions as JSON (a streamed call's stored step) and the engine's per-call prompt hint."""

from __future__ import annotations

from datetime import datetime

from config.menu import Menu
from ivr.actions import Hangup, Listen, Say, Transfer, actions_from_json, actions_to_json
from ivr.driver import advance
from ivr.events import CallStarted, CaseFound, CaseNotFound, DigitsPressed
from ivr.state import DialogueState


def test_actions_survive_json_exactly() -> None:
    actions = [Say("Xin chào", audio="chao.wav", dynamic=True),
               Listen("keypad", timeout_s=6, max_digits=1, finish_on_key=None, barge_in=False, phrases=("có", "không")),
               Transfer(queue="operators", timeout_s=30), Hangup()]
    seq, back = actions_from_json(actions_to_json(actions, 7)) or (None, [])
    assert seq == 7 and back == actions
    assert isinstance(back[0], Say) and back[0].dynamic and isinstance(back[1], Listen) and back[1].phrases == ("có", "không")


def test_anything_else_is_not_a_stored_step() -> None:
    for text in (None, "", "<Response/>", "{", '{"seq": 1}', '{"seq": 1, "actions": [{"type": "dance"}]}',
                 '{"seq": "x", "actions": []}', '{"seq": 1, "actions": [{"type": "say"}]}'):
        assert actions_from_json(text) is None, text


class Desk:
    def file_case(self, draft: object) -> str:
        return "42"

    def look_up_case(self, number: str) -> CaseFound | CaseNotFound:
        return CaseNotFound(number)


def test_prompts_filled_in_for_one_call_are_marked_dynamic(menu: Menu, now: datetime) -> None:
    state, greeting = advance(None, CallStarted("+84901234567"), menu, now, Desk())
    assert [a.dynamic for a in greeting if isinstance(a, Say)] == [False, False]
    state = DialogueState.from_dict({**state.to_dict(), "node": "confirm_report",
                                     "slots": {"category": "HT_NGAP", "description": "ngập"}})
    _, filed = advance(state, DigitsPressed("1"), menu, now, Desk())
    spoken = [a for a in filed if isinstance(a, Say)]
    assert spoken[0].dynamic and "bốn, hai" in spoken[0].text, "the case number read back is per call"
    assert not spoken[-1].dynamic
