"""What happened on a call, in carrier-neutral terms: the dialogue engine's input."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CallStarted:
    """A caller reached the hotline."""

    caller: str


@dataclass(frozen=True)
class DigitsPressed:
    """The caller keyed digits (without the finishing key)."""

    digits: str


@dataclass(frozen=True)
class SpeechHeard:
    """The recogniser heard an utterance (used from the speech issue on)."""

    text: str
    confidence: float | None = None


@dataclass(frozen=True)
class NothingHeard:
    """The caller gave no input before the timeout, or left an empty recording."""


@dataclass(frozen=True)
class RecordingCaptured:
    """A recording of the caller was stored; recording_id is our own identifier for it."""

    recording_id: str
    duration_s: float


@dataclass(frozen=True)
class CaseFiled:
    """The case asked for by FileCase was stored under this number."""

    number: str


@dataclass(frozen=True)
class CaseFound:
    """A LookUpCase succeeded; status_label is the Vietnamese status text."""

    number: str
    status: str
    status_label: str
    category_label: str | None = None


@dataclass(frozen=True)
class CaseNotFound:
    """A LookUpCase found no case with that number."""

    number: str


@dataclass(frozen=True)
class TransferEnded:
    """A transfer to an operator ended; answered is False when nobody picked up."""

    answered: bool


@dataclass(frozen=True)
class CallerHungUp:
    """The caller hung up (or the carrier ended the call)."""


Event = (
    CallStarted
    | DigitsPressed
    | SpeechHeard
    | NothingHeard
    | RecordingCaptured
    | CaseFiled
    | CaseFound
    | CaseNotFound
    | TransferEnded
    | CallerHungUp
)
