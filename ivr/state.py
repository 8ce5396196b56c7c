"""Where a call is in its menu: an immutable value, stored as JSON between turns."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, TypeVar

T = TypeVar("T")

STATE_FORMAT = 1
"""Bumped when the stored shape changes; from_dict refuses other formats."""


@dataclass(frozen=True)
class FoundCase:
    """What a case lookup returned, kept for the read-back prompt."""

    number: str
    status: str
    status_label: str
    category_label: str | None = None


@dataclass(frozen=True)
class DialogueState:
    """One call's progress through a menu.

    slots hold text (chosen category, keyed digits, recognised speech); recordings
    holds (slot, recording id) pairs in the order captured, a re-recorded slot
    keeping its earlier recordings too. filing is True between emitting FileCase
    and receiving CaseFiled, so a case is never filed twice.
    """

    node: str
    tries: int = 0
    slots: Mapping[str, str] = field(default_factory=dict)
    recordings: tuple[tuple[str, str], ...] = ()
    filed_case: str | None = None
    filing: bool = False
    found: FoundCase | None = None
    lookups_missed: int = 0
    finished: bool = False
    caller: str = ""
    menu_version: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.slots, MappingProxyType):
            object.__setattr__(self, "slots", MappingProxyType(dict(self.slots)))

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dict (strings, numbers, booleans, lists, dicts, None)."""
        found = self.found
        return {
            "format": STATE_FORMAT,
            "node": self.node,
            "tries": self.tries,
            "slots": dict(self.slots),
            "recordings": [list(pair) for pair in self.recordings],
            "filed_case": self.filed_case,
            "filing": self.filing,
            "found": None if found is None else {
                "number": found.number,
                "status": found.status,
                "status_label": found.status_label,
                "category_label": found.category_label,
            },
            "lookups_missed": self.lookups_missed,
            "finished": self.finished,
            "caller": self.caller,
            "menu_version": self.menu_version,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DialogueState:
        """Rebuild a state from to_dict() output; ValueError when the data is not one."""
        try:
            if data["format"] != STATE_FORMAT:
                raise ValueError(f"unsupported dialogue state format {data['format']!r}")
            found = data["found"]
            state = cls(
                node=_typed(data["node"], str),
                tries=_typed(data["tries"], int),
                slots={_typed(k, str): _typed(v, str) for k, v in data["slots"].items()},
                recordings=tuple((_typed(s, str), _typed(r, str)) for s, r in data["recordings"]),
                filed_case=_optional(data["filed_case"], str),
                filing=_typed(data["filing"], bool),
                found=None if found is None else FoundCase(
                    number=_typed(found["number"], str),
                    status=_typed(found["status"], str),
                    status_label=_typed(found["status_label"], str),
                    category_label=_optional(found["category_label"], str),
                ),
                lookups_missed=_typed(data["lookups_missed"], int),
                finished=_typed(data["finished"], bool),
                caller=_typed(data["caller"], str),
                menu_version=_typed(data["menu_version"], str),
            )
        except (KeyError, TypeError, AttributeError) as exc:
            raise ValueError(f"not a stored dialogue state: {exc!r}") from None
        return state


def _typed(value: object, kind: type[T]) -> T:
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise TypeError(f"expected {kind.__name__}, got {value!r}")
    return value


def _optional(value: object, kind: type[T]) -> T | None:
    return None if value is None else _typed(value, kind)
