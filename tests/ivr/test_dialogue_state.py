"""DialogueState: immutable, and stored as JSON between callbacks."""

from __future__ import annotations

import dataclasses
import json

import pytest

from ivr.state import DialogueState, FoundCase

FULL = DialogueState(
    node="lookup_result",
    tries=2,
    slots={"category": "HT_NGAP", "case_number": "1234"},
    recordings=(("description", "r1"), ("location", "r2"), ("description", "r3")),
    filed_case="5678",
    filing=True,
    found=FoundCase("1234", "new", "Mới tiếp nhận", "Ngập nước, thoát nước"),
    lookups_missed=1,
    finished=True,
    caller="+84901234567",
    menu_version="ab" * 32,
)


@pytest.mark.parametrize("state", [DialogueState(node="welcome"), FULL], ids=["fresh", "full"])
def test_round_trip_through_json(state: DialogueState) -> None:
    stored = json.loads(json.dumps(state.to_dict()))
    assert DialogueState.from_dict(stored) == state


def test_state_is_immutable() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        FULL.node = "elsewhere"  # type: ignore[misc]
    with pytest.raises(TypeError):
        FULL.slots["category"] = "DIEN"  # type: ignore[index]


def test_slots_given_as_a_dict_are_copied() -> None:
    slots = {"category": "DIEN"}
    state = DialogueState(node="x", slots=slots)
    slots["category"] = "CAPNUOC"
    assert state.slots == {"category": "DIEN"}


@pytest.mark.parametrize("change", [
    {"format": 99},
    {"tries": "2"},
    {"finished": 1},
    {"slots": {"category": 5}},
    {"recordings": [["description"]]},
    {"found": {"number": "1"}},
    {"node": None},
])
def test_from_dict_refuses_what_it_did_not_write(change: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        DialogueState.from_dict({**FULL.to_dict(), **change})


def test_from_dict_refuses_missing_keys() -> None:
    data = FULL.to_dict()
    del data["node"]
    with pytest.raises(ValueError):
        DialogueState.from_dict(data)
