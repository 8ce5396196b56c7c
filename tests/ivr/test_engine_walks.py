"""Walks through the shipped menu with the pure engine, asserting on the actions it emits.

Every walk runs twice: with the state kept in memory, and with the state stored as
JSON and rebuilt between every event (a server restart between callbacks).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime

import pytest

from config.menu import ConfirmNode, Menu, parse_menu
from ivr.actions import Action, CaseDraft, FileCase, Hangup, Listen, LookUpCase, Say, Transfer
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
from ivr.prompts import SORRY
from ivr.state import DialogueState

CALLER = "+84901234567"
Walk = Callable[[Sequence[Event]], tuple[DialogueState, list[list[Action]]]]

def keypad(menu: Menu, node_id: str) -> Listen:
    """The Listen of a menu or confirmation node: one key, and the spoken answers of its YAML."""
    node = menu.nodes[node_id]
    if isinstance(node, ConfirmNode):
        said = [*node.yes_say, *node.no_say]
    else:
        said = [phrase for option in node.options for phrase in option.say]
    return Listen("keypad", timeout_s=6, max_digits=1, finish_on_key=None, barge_in=True,
                  phrases=tuple(dict.fromkeys(said)))
DESCRIBE = Listen("record", timeout_s=5, finish_on_key="#", max_seconds=120)
LOCATE = Listen("record", timeout_s=5, finish_on_key="#", max_seconds=60)
MESSAGE = Listen("record", timeout_s=5, finish_on_key="#", max_seconds=180)
CASE_DIGITS = Listen("keypad", timeout_s=10, max_digits=12, finish_on_key="#")
TO_OPERATORS = Transfer(queue="operators", timeout_s=30)
REPORT: list[Event] = [DigitsPressed("1"), DigitsPressed("1"), RecordingCaptured("r1", 4.0), RecordingCaptured("r2", 3.0)]


def say(menu: Menu, node_id: str, **values: str) -> Say:
    """The Say for a node's prompt with the given placeholder values."""
    text = menu.nodes[node_id].prompt or ""
    for name, value in values.items():
        text = text.replace(f"{{{name}}}", value)
    return Say(text)


@pytest.fixture(params=[False, True], ids=["in-memory", "restart-between-events"])
def walk(request: pytest.FixtureRequest, menu: Menu, now: datetime) -> Walk:
    """Start a call and feed it events; returns the final state and each step's actions."""

    def run(events: Sequence[Event]) -> tuple[DialogueState, list[list[Action]]]:
        state, first = start(menu, CALLER)
        outputs = [first]
        for event in events:
            if request.param:
                state = DialogueState.from_dict(json.loads(json.dumps(state.to_dict())))
            state, actions = step(state, event, menu, now)
            outputs.append(actions)
        return state, outputs

    return run


def test_call_starts_with_the_greeting_and_the_main_menu(walk: Walk, menu: Menu) -> None:
    state, [first] = walk([])
    assert first == [say(menu, "welcome"), say(menu, "main_menu"), keypad(menu, "main_menu")]
    assert (state.node, state.tries, state.finished, state.caller) == ("main_menu", 0, False, CALLER)
    assert state.menu_version == menu.version


def test_full_keypad_report(walk: Walk, menu: Menu) -> None:
    state, outputs = walk([*REPORT, DigitsPressed("1"), CaseFiled("0427")])
    assert outputs[1:] == [
        [say(menu, "report_category"), keypad(menu, "report_category")],
        [say(menu, "describe"), DESCRIBE],
        [say(menu, "location"), LOCATE],
        [say(menu, "confirm_report", category_label="Ngập nước, thoát nước"), keypad(menu, "confirm_report")],
        [FileCase(CaseDraft(
            status="new", category="HT_NGAP", recording_ids=("r1", "r2"),
            slots={"category": "HT_NGAP", "description_recording": "r1", "location_recording": "r2"},
        ))],
        [say(menu, "report_filed", case_number="không, bốn, hai, bảy"), say(menu, "goodbye"), Hangup()],
    ]
    assert (state.filed_case, state.finished, state.filing) == ("0427", True, False)


def test_second_category_menu_and_the_emergency_note(walk: Walk, menu: Menu) -> None:
    state, outputs = walk([DigitsPressed("1"), DigitsPressed("9"), DigitsPressed("5")])
    assert outputs[2:] == [
        [say(menu, "report_category_more"), keypad(menu, "report_category_more")],
        [say(menu, "security_note"), say(menu, "describe"), DESCRIBE],
    ]
    assert state.slots == {"category": "ANTT"}


def test_start_again_keeps_every_recording_and_the_latest_answers(walk: Walk) -> None:
    again: list[Event] = [DigitsPressed("2"), DigitsPressed("4"), RecordingCaptured("r3", 2.0), RecordingCaptured("r4", 2.0)]
    _, outputs = walk([*REPORT, *again, DigitsPressed("1")])
    assert outputs[-1] == [FileCase(CaseDraft(
        status="new", category="CAYXANH", recording_ids=("r1", "r2", "r3", "r4"),
        slots={"category": "CAYXANH", "description_recording": "r3", "location_recording": "r4"},
    ))]


def test_hang_up_mid_flow_files_an_incomplete_case(walk: Walk) -> None:
    state, outputs = walk([DigitsPressed("1"), DigitsPressed("4"), RecordingCaptured("r1", 5.0), CallerHungUp()])
    assert outputs[-1] == [FileCase(CaseDraft(
        status="incomplete", category="CAYXANH", recording_ids=("r1",),
        slots={"category": "CAYXANH", "description_recording": "r1"},
    ))]
    assert state.finished and state.filing


def test_case_number_of_an_incomplete_case_is_kept(walk: Walk) -> None:
    state, outputs = walk([DigitsPressed("1"), CallerHungUp(), CaseFiled("981")])
    assert outputs[-1] == []
    assert (state.filed_case, state.filing, state.finished) == ("981", False, True)


def test_hang_up_at_the_greeting_still_files_a_case_to_call_back(walk: Walk) -> None:
    _, outputs = walk([CallerHungUp()])
    assert outputs[-1] == [FileCase(CaseDraft(status="incomplete"))]


def test_hang_up_after_filing_files_nothing_more(walk: Walk) -> None:
    state, outputs = walk([*REPORT, DigitsPressed("1"), CaseFiled("0427"), CallerHungUp(), CallerHungUp()])
    assert outputs[-2:] == [[], []]
    assert state.filed_case == "0427"


def test_hang_up_while_a_filing_is_outstanding_files_nothing_more(walk: Walk) -> None:
    state, outputs = walk([*REPORT, DigitsPressed("1"), CallerHungUp(), CaseFiled("0427")])
    assert outputs[-2:] == [[], []]
    assert (state.filed_case, state.finished) == ("0427", True)


def test_lookup_found_reads_the_status_back(walk: Walk, menu: Menu) -> None:
    found = CaseFound("1234", "in_progress", "Đang xử lý", "Cây xanh")
    state, outputs = walk([DigitsPressed("2"), DigitsPressed("1234"), found])
    assert outputs[1:] == [
        [say(menu, "lookup_number"), CASE_DIGITS],
        [LookUpCase("1234")],
        [say(menu, "lookup_result", case_number="một, hai, ba, bốn", category_label="Cây xanh",
             case_status="Đang xử lý"), say(menu, "goodbye"), Hangup()],
    ]
    assert state.finished and state.filed_case is None


def test_lookup_not_found_asks_again_then_hands_over(walk: Walk, menu: Menu) -> None:
    missing: list[Event] = [DigitsPressed("12345"), CaseNotFound("12345")]
    state, outputs = walk([DigitsPressed("2"), *missing, *missing, *missing])
    again = [say(menu, "lookup_missing", case_number="một, hai, ba, bốn, năm"), say(menu, "lookup_number"), CASE_DIGITS]
    assert outputs[3] == again
    assert outputs[5] == again
    assert outputs[7] == [say(menu, "operator"), TO_OPERATORS]
    assert state.lookups_missed == 3


@pytest.mark.parametrize("digits", ["1", "1234567890123", "12*4"])
def test_case_number_of_the_wrong_length_or_with_stars_is_no_match(walk: Walk, menu: Menu, digits: str) -> None:
    state, outputs = walk([DigitsPressed("2"), DigitsPressed(digits)])
    assert outputs[-1] == [Say("Xin lỗi, mã số vừa nhập chưa hợp lệ."),
                           say(menu, "lookup_number"), CASE_DIGITS]
    assert state.tries == 1


def test_an_answered_transfer_leaves_an_incomplete_case_for_the_operator(walk: Walk, menu: Menu) -> None:
    state, outputs = walk([DigitsPressed("0"), TransferEnded(answered=True), CaseFiled("32"), CallerHungUp()])
    assert outputs[1:] == [[say(menu, "operator"), TO_OPERATORS],
                           [FileCase(CaseDraft(status="incomplete", taken_by_operator=True)), Hangup()], [], []]
    assert state.finished and state.filed_case == "32" and not state.filing


def test_the_operator_gets_what_the_caller_gave_before_the_fallback(walk: Walk, menu: Menu) -> None:
    silent = [NothingHeard()] * menu.defaults.max_tries
    state, outputs = walk([DigitsPressed("1"), DigitsPressed("1"), *silent, TransferEnded(answered=True)])
    assert TO_OPERATORS in outputs[-2]
    assert outputs[-1] == [FileCase(CaseDraft(status="incomplete", category="HT_NGAP",
                                              slots={"category": "HT_NGAP"}, taken_by_operator=True)), Hangup()]


def test_an_answered_transfer_after_a_case_was_filed_files_nothing_more(walk: Walk, menu: Menu) -> None:
    state, outputs = walk([DigitsPressed("0"), TransferEnded(answered=True), CaseFiled("32"),
                           TransferEnded(answered=True)])
    assert outputs[-1] == [] and state.filed_case == "32"


def test_nobody_answers_so_the_caller_leaves_a_message(walk: Walk, menu: Menu) -> None:
    state, outputs = walk([DigitsPressed("0"), TransferEnded(answered=False), RecordingCaptured("m1", 9.0),
                           CaseFiled("31")])
    assert outputs[2:] == [
        [say(menu, "message"), MESSAGE],
        [FileCase(CaseDraft(status="new", recording_ids=("m1",), slots={"kind": "message", "message_recording": "m1"}))],
        [say(menu, "message_filed", case_number="ba, một"), say(menu, "goodbye"), Hangup()],
    ]
    assert state.filed_case == "31"


def test_silence_at_the_message_still_files_a_case_to_call_back(walk: Walk, menu: Menu) -> None:
    no_input = Say("Xin lỗi, tổng đài chưa nghe được lời nhắn của quý vị.")
    state, outputs = walk([DigitsPressed("0"), TransferEnded(False), NothingHeard(), NothingHeard(), NothingHeard(),
                           CaseFiled("42")])
    assert outputs[3] == [no_input, say(menu, "message"), MESSAGE]
    assert outputs[5] == [FileCase(CaseDraft(status="incomplete", slots={"kind": "missed_call"}))]
    assert outputs[6] == [say(menu, "callback_goodbye"), Hangup()]
    assert state.finished and state.filed_case == "42"


def test_digits_outside_the_menu_reprompt_then_fall_back(walk: Walk, menu: Menu) -> None:
    state, outputs = walk([DigitsPressed("7"), DigitsPressed("8"), DigitsPressed("9")])
    reprompt = [Say(menu.defaults.no_match or ""), say(menu, "main_menu"), keypad(menu, "main_menu")]
    assert outputs[1:] == [reprompt, reprompt, [say(menu, "operator"), TO_OPERATORS]]
    assert (state.node, state.tries) == ("operator", 0)


@pytest.mark.parametrize("empty", [NothingHeard(), DigitsPressed(""), SpeechHeard("  ")], ids=repr)
def test_empty_input_reprompts_with_no_input(walk: Walk, menu: Menu, empty: Event) -> None:
    state, outputs = walk([empty])
    assert outputs[1] == [Say(menu.defaults.no_input or ""), say(menu, "main_menu"), keypad(menu, "main_menu")]
    assert state.tries == 1


def test_a_good_answer_after_a_bad_one_resets_the_tries(walk: Walk, menu: Menu) -> None:
    state, outputs = walk([DigitsPressed("7"), DigitsPressed("1"), DigitsPressed("0"), DigitsPressed("0")])
    assert outputs[-1] == [Say(menu.defaults.no_match or ""), say(menu, "report_category"), keypad(menu, "report_category")]
    assert (state.node, state.tries) == ("report_category", 2)


def test_silence_while_describing_goes_to_an_operator(walk: Walk, menu: Menu) -> None:
    _, outputs = walk([DigitsPressed("1"), DigitsPressed("3"), NothingHeard(), NothingHeard(), NothingHeard()])
    assert outputs[3] == [Say("Xin lỗi, tổng đài chưa nghe được nội dung phản ánh của quý vị."),
                          say(menu, "describe"), DESCRIBE]
    assert outputs[5] == [say(menu, "operator"), TO_OPERATORS]


@pytest.mark.parametrize("event", [
    CaseFound("1", "new", "Mới"), CaseNotFound("1"), CaseFiled("1"), TransferEnded(True), CallStarted(CALLER),
], ids=repr)
def test_events_that_do_not_fit_are_ignored(walk: Walk, event: Event) -> None:
    before, _ = walk([])
    after, outputs = walk([event])
    assert outputs[-1] == [] and after == before


def test_caller_input_while_waiting_for_the_case_desk_is_ignored(walk: Walk) -> None:
    before, _ = walk([DigitsPressed("2"), DigitsPressed("1234")])
    after, outputs = walk([DigitsPressed("2"), DigitsPressed("1234"), DigitsPressed("5"), NothingHeard()])
    assert outputs[-2:] == [[], []] and after == before


def test_recording_at_a_keypad_menu_counts_as_no_match(walk: Walk, menu: Menu) -> None:
    _, outputs = walk([RecordingCaptured("stray", 1.0)])
    assert outputs[-1] == [Say(menu.defaults.no_match or ""), say(menu, "main_menu"), keypad(menu, "main_menu")]


def test_nothing_happens_after_the_call_finished(walk: Walk) -> None:
    finished, _ = walk([DigitsPressed("0"), TransferEnded(True)])
    events: list[Event] = [DigitsPressed("1"), NothingHeard(), TransferEnded(False), CaseFound("1", "new", "Mới"), CallerHungUp()]
    after, outputs = walk([DigitsPressed("0"), TransferEnded(True), *events])
    assert outputs[-len(events):] == [[]] * len(events)
    assert after == finished


def test_spoken_answers(walk: Walk, menu: Menu) -> None:
    state, outputs = walk([
        SpeechHeard("tôi muốn phản ánh"), SpeechHeard("đèn đường trước nhà bị hư", 0.8),
        SpeechHeard("Đèn đường số 12 không sáng."), SpeechHeard("12 Lê Lợi, phường Sài Gòn"),
        SpeechHeard("không đúng"), SpeechHeard("mất nước"), RecordingCaptured("r9", 2.0),
        SpeechHeard("Hẻm 5"), SpeechHeard("đúng rồi"),
    ])
    assert outputs[5][0] == say(menu, "report_category")
    assert outputs[-1] == [FileCase(CaseDraft(
        status="new", category="CAPNUOC", description="Đèn đường số 12 không sáng.", location="Hẻm 5",
        recording_ids=("r9",),
        slots={"category": "CAPNUOC", "description": "Đèn đường số 12 không sáng.", "location": "Hẻm 5",
               "description_recording": "r9"},
    ))]
    assert state.filing


def test_unrecognised_speech_is_no_match(walk: Walk, menu: Menu) -> None:
    _, outputs = walk([SpeechHeard("alô alô")])
    assert outputs[-1] == [Say(menu.defaults.no_match or ""), say(menu, "main_menu"), keypad(menu, "main_menu")]


def test_spoken_case_number(walk: Walk) -> None:
    _, outputs = walk([DigitsPressed("2"), SpeechHeard("12 34")])
    assert outputs[-1] == [LookUpCase("1234")]


def test_a_node_that_vanished_from_the_menu_goes_to_the_fallback(menu: Menu, now: datetime) -> None:
    stale = DialogueState(node="renamed_node", slots={"category": "DIEN"})
    state, actions = step(stale, DigitsPressed("1"), menu, now)
    assert actions == [say(menu, "operator"), TO_OPERATORS]
    assert state.node == "operator"


TINY = """\
name: tiny
start: ask
nodes:
  ask:
    type: menu
    prompt: Chào.
    audio: prompts/chao.wav
    fallback: bye
    barge_in: false
    options:
      - {key: "#", next: bye}
  bye:
    type: hangup
"""


def test_recorded_prompts_and_node_settings_reach_the_actions(now: datetime) -> None:
    tiny = parse_menu(TINY, "tiny.yaml")
    state, actions = start(tiny, CALLER)
    assert actions == [Say("Chào.", audio="prompts/chao.wav"),
                       Listen("keypad", timeout_s=5, max_digits=1, finish_on_key=None, barge_in=False)]
    state, actions = step(state, DigitsPressed("#"), tiny, now)
    assert actions == [Hangup()] and state.finished


def test_a_menu_without_a_way_on_ends_the_call_politely_and_keeps_the_case(now: datetime) -> None:
    tiny = parse_menu(TINY, "tiny.yaml")
    broken = replace(tiny, nodes={"ask": tiny.nodes["ask"]})  # as if the menu lost a node mid-call
    state, _ = start(broken, CALLER)
    state, actions = step(state, DigitsPressed("#"), broken, now)
    assert actions == [Say(SORRY), FileCase(CaseDraft(status="incomplete")), Hangup()]
    assert state.finished and state.filing


def test_menu_listens_carry_the_spoken_answers_for_a_grammar(menu: Menu) -> None:
    _, actions = start(menu, "+84900000000")
    listen = actions[-1]
    assert isinstance(listen, Listen)
    assert listen.phrases == ("phản ánh", "báo cáo", "số một", "tra cứu", "kiểm tra", "số hai",
                              "tổng đài viên", "gặp người", "số không")
