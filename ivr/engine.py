"""The dialogue engine: a pure step from (state, event) to (new state, actions) over a menu.

No I/O and no clock: the same inputs always give the same outputs, and no event
sequence makes it raise. Events that do not fit where the call is are handled so:
  - caller input of the wrong kind at a waiting node (a recording at a keypad
    menu, keys at a question) counts as no match and re-prompts;
  - anything else that does not fit (CaseFound at a menu, TransferEnded when no
    transfer is running, a second CallStarted, any event after the call finished)
    is ignored: same state, no actions. The carrier keeps doing what it was told.
CaseFiled always records the number when a FileCase is outstanding, even after
the caller hung up, so the stored state names the case the call produced.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Literal, TypeVar

from config.menu import (
    ConfirmNode,
    DigitsNode,
    FileCaseNode,
    HangupNode,
    InputNode,
    LookupCaseNode,
    Menu,
    MenuNode,
    NodeBase,
    QuestionNode,
    SayNode,
    TransferNode,
)
from ivr.actions import Action, CaseDraft, FileCase, Hangup, Listen, LookUpCase, Say, Transfer
from ivr.events import (
    CallerHungUp,
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
from ivr.prompts import SORRY, category_label, match_phrase, render, spell_digits
from ivr.state import DialogueState, FoundCase

MAX_HOPS = 32
"""Nodes passed through in one step without waiting; menus cannot loop, this guards the engine."""

Result = tuple[DialogueState, list[Action]]
Answer = DigitsPressed | SpeechHeard | RecordingCaptured
T = TypeVar("T")
_DIGITS = re.compile(r"[0-9]+")


def start(menu: Menu, caller: str) -> Result:
    """Begin a call: the state at the menu's start node and what to say first."""
    state = DialogueState(node=menu.start, caller=caller, menu_version=menu.version)
    return _enter(state, menu.start, menu)


def step(state: DialogueState, event: Event, menu: Menu, now: datetime) -> Result:
    """Apply one event; `now` is accepted for time-dependent menus (office hours) and unused today."""
    if isinstance(event, CaseFiled):
        return _case_filed(state, event, menu)
    if isinstance(event, CallerHungUp):
        return _hung_up(state)
    if state.finished:
        return state, []
    node = menu.node(state.node)
    if node is None:
        return _recover(state, menu)
    if isinstance(node, InputNode):
        return _on_input(state, node, event, menu)
    if isinstance(node, LookupCaseNode) and isinstance(event, CaseFound | CaseNotFound):
        return _looked_up(state, node, event, menu)
    if isinstance(node, TransferNode) and isinstance(event, TransferEnded):
        return _handed_over(state) if event.answered else _enter(state, node.next, menu)
    return state, []


def _on_input(state: DialogueState, node: InputNode, event: Event, menu: Menu) -> Result:
    if isinstance(event, NothingHeard) or _is_empty(event):
        return _retry(state, node, node.no_input, menu)
    if not isinstance(event, DigitsPressed | SpeechHeard | RecordingCaptured):
        return state, []
    answered = _answer(state, node, event)
    if answered is None:
        return _retry(state, node, node.no_match, menu)
    return _enter(*answered, menu)


def _is_empty(event: Event) -> bool:
    if isinstance(event, DigitsPressed):
        return not event.digits
    return isinstance(event, SpeechHeard) and not event.text.strip()


def _answer(state: DialogueState, node: InputNode, event: Answer) -> tuple[DialogueState, str] | None:
    """The state with the answer stored and the node to go to; None when it does not fit."""
    if isinstance(node, MenuNode):
        spoken = [(option.say, option) for option in node.options]
        option = _by_key(event, {o.key: o for o in node.options}) or _by_speech(event, spoken)
        if option is None:
            return None
        return replace(state, slots={**state.slots, **option.set_slots}), option.next
    if isinstance(node, ConfirmNode):
        keys: dict[str, str] = {node.yes_key: node.yes, node.no_key: node.no}
        target = _by_key(event, keys) or _by_speech(event, [(node.yes_say, node.yes), (node.no_say, node.no)])
        return None if target is None else (state, target)
    if isinstance(node, DigitsNode):
        digits = _digits_of(event)
        if digits is None or not node.min_digits <= len(digits) <= node.max_digits:
            return None
        return replace(state, slots={**state.slots, node.slot: digits}), node.next
    if isinstance(node, QuestionNode):
        if isinstance(event, RecordingCaptured):
            return replace(state, recordings=state.recordings + ((node.slot, event.recording_id),)), node.next
        if isinstance(event, SpeechHeard):
            text = unicodedata.normalize("NFC", event.text.strip())
            return replace(state, slots={**state.slots, node.slot: text}), node.next
    return None


def _by_key(event: Answer, choices: Mapping[str, T]) -> T | None:
    return choices.get(event.digits) if isinstance(event, DigitsPressed) else None


def _by_speech(event: Answer, choices: Sequence[tuple[Iterable[str], T]]) -> T | None:
    return match_phrase(event.text, choices) if isinstance(event, SpeechHeard) else None


def _digits_of(event: Answer) -> str | None:
    text = event.digits if isinstance(event, DigitsPressed) else None
    if isinstance(event, SpeechHeard):
        text = "".join(event.text.split())
    return text if text is not None and _DIGITS.fullmatch(text) else None


def _retry(state: DialogueState, node: InputNode, reprompt: str | None, menu: Menu) -> Result:
    tries = state.tries + 1
    if tries >= node.max_tries:
        return _enter(state, node.fallback, menu)
    state = replace(state, tries=tries)
    values = _values(state)
    actions: list[Action] = [_say(reprompt, values)] if reprompt else []
    return state, actions + _prompt(node, values) + [_listen(node)]


def _enter(state: DialogueState, node_id: str | None, menu: Menu) -> Result:
    """Go to node_id, passing through say nodes, and stop where the call must wait or end."""
    actions: list[Action] = []
    for _ in range(MAX_HOPS):
        node = menu.node(node_id)
        if node is None or node_id is None:
            return _abort(state, actions)
        state = replace(state, node=node_id, tries=0)
        if isinstance(node, LookupCaseNode) and not state.slots.get(node.slot):
            state, node_id = _missed(state, node)
            continue
        actions += _prompt(node, _values(state))
        if isinstance(node, SayNode):
            node_id = node.next
            continue
        return _arrive(state, node, actions)
    return _abort(state, actions)


def _arrive(state: DialogueState, node: NodeBase, actions: list[Action]) -> Result:
    if isinstance(node, HangupNode):
        return replace(state, finished=True), actions + [Hangup()]
    if isinstance(node, FileCaseNode):
        state = replace(state, slots={**state.slots, **node.set_slots})
        if state.filing:  # one FileCase at a time; its CaseFiled moves the call on
            return state, actions
        return replace(state, filing=True), actions + [FileCase(_draft(state, node.status))]
    if isinstance(node, LookupCaseNode):
        return state, actions + [LookUpCase(state.slots[node.slot])]
    if isinstance(node, TransferNode):
        return state, actions + [Transfer(number=node.number, queue=node.queue, timeout_s=node.timeout)]
    if isinstance(node, InputNode):
        return state, actions + [_listen(node)]
    return _abort(state, actions)


def _looked_up(state: DialogueState, node: LookupCaseNode, event: CaseFound | CaseNotFound, menu: Menu) -> Result:
    if isinstance(event, CaseFound):
        found = FoundCase(event.number, event.status, event.status_label, event.category_label)
        return _enter(replace(state, found=found), node.found, menu)
    return _enter(*_missed(state, node), menu)


def _missed(state: DialogueState, node: LookupCaseNode) -> tuple[DialogueState, str | None]:
    missed = state.lookups_missed + 1
    target = node.not_found if missed < node.max_tries else node.fallback
    return replace(state, lookups_missed=missed, found=None), target


def _case_filed(state: DialogueState, event: CaseFiled, menu: Menu) -> Result:
    if not state.filing:
        return state, []
    state = replace(state, filed_case=event.number, filing=False)
    node = menu.node(state.node)
    if state.finished or not isinstance(node, FileCaseNode):
        return state, []
    return _enter(state, node.next, menu)


def _hung_up(state: DialogueState) -> Result:
    """The caller left: keep what they said as an incomplete case unless a case exists or is on its way."""
    if state.finished:
        return state, []
    return _finish_keeping_what_was_said(state)


def _handed_over(state: DialogueState) -> Result:
    """An operator took the call: what was collected becomes an incomplete case for them to complete."""
    state, filing = _finish_keeping_what_was_said(state, taken_by_operator=True)
    return state, filing + [Hangup()]


def _recover(state: DialogueState, menu: Menu) -> Result:
    """The call's node vanished (the menu changed mid-call): go to the menu's fallback."""
    return _enter(state, menu.defaults.fallback, menu)


def _abort(state: DialogueState, actions: list[Action]) -> Result:
    """End a call the menu cannot carry on, keeping what was collected."""
    state, filing = _finish_keeping_what_was_said(state)
    return state, actions + [Say(SORRY), *filing, Hangup()]


def _finish_keeping_what_was_said(state: DialogueState, *, taken_by_operator: bool = False) -> Result:
    """Finish the call; unless a case exists or is on its way, file what was collected as an incomplete one."""
    if state.filed_case is not None or state.filing:
        return replace(state, finished=True), []
    state = replace(state, finished=True, filing=True)
    return state, [FileCase(_draft(state, "incomplete", taken_by_operator))]


def _draft(state: DialogueState, status: Literal["new", "incomplete"], taken_by_operator: bool = False) -> CaseDraft:
    latest = {f"{slot}_recording": recording for slot, recording in state.recordings}
    return CaseDraft(
        status=status,
        category=state.slots.get("category"),
        description=state.slots.get("description"),
        location=state.slots.get("location"),
        recording_ids=tuple(dict.fromkeys(recording for _, recording in state.recordings)),
        slots={**state.slots, **latest},
        taken_by_operator=taken_by_operator,
    )


def _values(state: DialogueState) -> dict[str, str | None]:
    """Placeholder values: the case filed on this call, else the case looked up, else the slots."""
    number, status = state.slots.get("case_number"), None
    label = category_label(state.slots.get("category"))
    if state.filed_case is not None:
        number = state.filed_case
    elif state.found is not None:
        number, status, label = state.found.number, state.found.status_label, state.found.category_label
    return {
        "case_number": spell_digits(number) if number else None,
        "category_label": label,
        "case_status": status,
    }


def _prompt(node: NodeBase, values: dict[str, str | None]) -> list[Action]:
    return [_say(node.prompt, values, audio=node.audio)] if node.prompt else []


def _say(template: str, values: dict[str, str | None], audio: str | None = None) -> Say:
    """A prompt filled in for this call; dynamic when this call's values changed its words."""
    text = render(template, values)
    return Say(text, audio=audio, dynamic=text != render(template, {}))


def _listen(node: InputNode) -> Listen:
    if isinstance(node, QuestionNode):
        return Listen("record", timeout_s=node.timeout, finish_on_key="#",
                      max_seconds=node.max_seconds, barge_in=node.barge_in)
    if isinstance(node, DigitsNode):
        return Listen("keypad", timeout_s=node.timeout, max_digits=node.max_digits,
                      finish_on_key=node.finish_on_key, barge_in=node.barge_in)
    return Listen("keypad", timeout_s=node.timeout, max_digits=1, finish_on_key=None, barge_in=node.barge_in,
                  phrases=_spoken_answers(node))


def _spoken_answers(node: InputNode) -> tuple[str, ...]:
    """What a caller may say at a menu or a confirmation: a grammar for the recogniser."""
    if isinstance(node, MenuNode):
        said = [phrase for option in node.options for phrase in option.say]
    elif isinstance(node, ConfirmNode):
        said = [*node.yes_say, *node.no_say]
    else:
        said = []
    return tuple(dict.fromkeys(said))
