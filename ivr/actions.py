"""What the dialogue engine wants done, in carrier-neutral terms: its output."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal


@dataclass(frozen=True)
class Say:
    """Speak Vietnamese text to the caller, or play a recorded prompt file instead when audio is set."""

    text: str
    audio: str | None = None


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
