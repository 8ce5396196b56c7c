"""What the dialogue engine wants done, in carrier-neutral terms: its output."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any, Literal


@dataclass(frozen=True)
class Say:
    """Speak Vietnamese text to the caller, or play a recorded prompt file instead when audio is set.

    dynamic: the text was filled in for this call (a case number, a status), so its audio is worth
    rendering but not worth keeping.
    """

    text: str
    audio: str | None = None
    dynamic: bool = field(default=False, compare=False)  # a rendering hint, not part of what is said


@dataclass(frozen=True)
class Listen:
    """Wait for the caller: keypad digits, or a free recording of their voice.

    The Say actions emitted just before a Listen are its prompt; a carrier may let
    the caller interrupt them (barge_in). `phrases` are the spoken answers the node
    understands (a closed set: menu choices, yes/no); empty means free speech or digits.
    """

    mode: Literal["keypad", "record"]
    timeout_s: int = 5
    max_digits: int | None = None
    finish_on_key: str | None = "#"
    max_seconds: int | None = None
    barge_in: bool = True
    phrases: tuple[str, ...] = ()


@dataclass(frozen=True)
class Transfer:
    """Hand the caller to a person: a phone number or a named queue."""

    number: str | None = None
    queue: str | None = None
    timeout_s: int = 30


@dataclass(frozen=True)
class CaseDraft:
    """Everything collected for a case; the adapter adds call and caller details."""

    status: Literal["new", "incomplete"]
    category: str | None = None
    description: str | None = None
    location: str | None = None
    recording_ids: tuple[str, ...] = ()
    slots: dict[str, str] = field(default_factory=dict)
    taken_by_operator: bool = False  # a person answered the transfer and completes the case afterwards


@dataclass(frozen=True)
class FileCase:
    """Store a case; the driver answers with a CaseFiled event."""

    draft: CaseDraft


@dataclass(frozen=True)
class LookUpCase:
    """Find a case by number; the driver answers with CaseFound or CaseNotFound."""

    number: str


@dataclass(frozen=True)
class Hangup:
    """End the call."""


Action = Say | Listen | Transfer | FileCase | LookUpCase | Hangup
Effect = FileCase | LookUpCase

CarrierAction = Say | Listen | Transfer | Hangup
"""What a carrier does: the effects (FileCase, LookUpCase) are run before a carrier sees the actions."""

_KINDS: dict[str, type[CarrierAction]] = {"say": Say, "listen": Listen, "transfer": Transfer, "hangup": Hangup}
_NAMES = {kind: name for name, kind in _KINDS.items()}


def actions_to_json(actions: list[CarrierAction] | tuple[CarrierAction, ...], seq: int) -> str:
    """One step's carrier actions as JSON, for a carrier that performs them itself (a media stream)."""
    items = [{"type": _NAMES[type(action)], **asdict(action)} for action in actions]
    return json.dumps({"stream": 1, "seq": seq, "actions": items}, ensure_ascii=False)


def actions_from_json(text: str | None) -> tuple[int, list[CarrierAction]] | None:
    """(seq, actions) from actions_to_json's output; None when text is something else (e.g. TwiML)."""
    if not text or not text.startswith("{"):
        return None
    try:
        doc = json.loads(text)
        items: list[dict[str, Any]] = doc["actions"]
        actions = [_action(item) for item in items]
        return int(doc["seq"]), actions
    except (ValueError, KeyError, TypeError):
        return None


def _action(item: dict[str, Any]) -> CarrierAction:
    fields = dict(item)
    kind = _KINDS[fields.pop("type")]
    if kind is Listen and isinstance(fields.get("phrases"), list):
        fields["phrases"] = tuple(fields["phrases"])
    return kind(**fields)
