"""The shape of a menu file: pydantic models for the dialogue's named nodes.

Models only check shapes and types; checks that need the whole menu (targets,
reachability, duplicate keys) live in config.menu_checks.
"""

from __future__ import annotations

import re
from string import Formatter
from typing import Annotated, ClassVar, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

PLACEHOLDERS = frozenset({"case_number", "category_label", "case_status"})
"""Names a prompt may use in braces; the engine fills them in when speaking."""

KEYS = ("0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "*", "#")
_NAME = re.compile(r"[a-z][a-z0-9_]{0,63}")


def template_fields(text: str) -> list[str]:
    """The placeholder names a prompt uses; ValueError on unbalanced braces or format specs."""
    names = []
    for _literal, name, spec, conversion in Formatter().parse(text):
        if name is None:
            continue
        if spec or conversion:
            raise ValueError(f"placeholder {{{name}}} must not have a format or conversion")
        names.append(name)
    return names


def _text(value: str) -> str:
    if not value.strip():
        raise ValueError("text must not be empty")
    try:
        list(Formatter().parse(value))
    except ValueError as exc:
        raise ValueError(f"bad braces ({exc}); write {{{{ or }}}} for a literal brace") from None
    names = template_fields(value)
    unknown = sorted(set(names) - PLACEHOLDERS)
    if unknown:
        known = ", ".join(f"{{{name}}}" for name in sorted(PLACEHOLDERS))
        raise ValueError(f"unknown placeholder {{{unknown[0]}}}; known placeholders: {known}")
    return value


def _name(value: str) -> str:
    if not _NAME.fullmatch(value):
        raise ValueError(f"'{value}' is not a valid name: use lowercase letters, digits and _")
    return value


def _phrase(value: str) -> str:
    if not value.strip():
        raise ValueError("a spoken alternative must not be empty")
    return value


def _key(value: object) -> object:
    """Accept `key: 1` as well as `key: "1"`; YAML reads an unquoted digit as a number."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 9:
        return str(value)
    return value


Text = Annotated[str, AfterValidator(_text)]
Name = Annotated[str, AfterValidator(_name)]
Target = Annotated[str, Field(min_length=1)]
Phrase = Annotated[str, AfterValidator(_phrase)]
Phrases = Annotated[tuple[Phrase, ...], Field(strict=False)]
Key = Annotated[Literal["0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "*", "#"], BeforeValidator(_key)]
Tries = Annotated[int, Field(ge=1, le=9)]
Seconds = Annotated[int, Field(ge=1, le=60)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class Voice(_Model):
    """How prompts are spoken: the language and, optionally, a carrier voice name."""

    language: str = Field(default="vi-VN", pattern=r"^[a-z]{2,3}-[A-Z]{2}$")
    name: str | None = Field(default=None, min_length=1)


class Defaults(_Model):
    """Menu-wide values for nodes that leave them out."""

    max_tries: Tries = 3
    fallback: Target | None = None
    timeout: Seconds = 5
    barge_in: bool = True
    no_input: Text | None = None
    no_match: Text | None = None


class NodeBase(_Model):
    """Fields every node has: what to say on entering it."""

    inherits: ClassVar[frozenset[str]] = frozenset()
    prompt: Text | None = None
    audio: str | None = Field(default=None, min_length=1)


class InputNode(NodeBase):
    """A node that waits for the caller, re-prompts, and falls back after max_tries."""

    inherits: ClassVar[frozenset[str]] = frozenset(
        {"max_tries", "fallback", "timeout", "barge_in", "no_input", "no_match"}
    )
    prompt: Text
    no_input: Text | None = None
    no_match: Text | None = None
    max_tries: Tries = 3
    fallback: Target | None = None
    barge_in: bool = True
    timeout: Seconds = 5


class Option(_Model):
    """One keypad choice of a menu node."""

    key: Key
    say: Phrases = ()
    next: Target
    set_slots: dict[Name, str] = Field(default_factory=dict, alias="set")


class MenuNode(InputNode):
    """Offer keypad options; each leads to a node and may set slots."""

    type: Literal["menu"]
    options: tuple[Option, ...] = Field(min_length=1, strict=False)


class QuestionNode(InputNode):
    """Ask an open question; the answer (a recording on the keypad) goes into a slot."""

    type: Literal["question"]
    slot: Name
    max_seconds: int = Field(default=60, ge=1, le=600)
    next: Target


class DigitsNode(InputNode):
    """Collect a number on the keypad into a slot."""

    type: Literal["digits"]
    slot: Name
    min_digits: int = Field(default=1, ge=1, le=30)
    max_digits: int = Field(default=12, ge=1, le=30)
    finish_on_key: Literal["#", "*"] | None = "#"
    next: Target


class ConfirmNode(InputNode):
    """Ask a yes/no question (keypad 1/2 by default)."""

    type: Literal["confirm"]
    yes: Target
    no: Target
    yes_key: Key = "1"
    no_key: Key = "2"
    yes_say: Phrases = ("đúng", "có", "đúng rồi", "đồng ý", "phải")
    no_say: Phrases = ("sai", "không", "không đúng", "chưa đúng", "không phải", "không có")


class TransferNode(NodeBase):
    """Hand the call to an operator; next is used when nobody answers."""

    type: Literal["transfer"]
    number: str | None = Field(default=None, pattern=r"^\+?[0-9]{3,15}$")
    queue: Name | None = None
    timeout: int = Field(default=30, ge=5, le=120)
    next: Target


class FileCaseNode(NodeBase):
    """File a case from the collected slots, then go to next (usually a read-back)."""

    type: Literal["file_case"]
    status: Literal["new", "incomplete"] = "new"
    set_slots: dict[Name, str] = Field(default_factory=dict, alias="set")
    next: Target


class LookupCaseNode(NodeBase):
    """Look up the case whose number is in slot; falls back after max_tries misses."""

    inherits: ClassVar[frozenset[str]] = frozenset({"max_tries", "fallback"})
    type: Literal["lookup_case"]
    slot: Name = "case_number"
    found: Target
    not_found: Target
    max_tries: Tries = 3
    fallback: Target | None = None


class SayNode(NodeBase):
    """Speak, then go straight on to next."""

    type: Literal["say"]
    prompt: Text
    next: Target


class HangupNode(NodeBase):
    """Speak an optional goodbye and end the call."""

    type: Literal["hangup"]


Node = (
    MenuNode
    | QuestionNode
    | DigitsNode
    | ConfirmNode
    | TransferNode
    | FileCaseNode
    | LookupCaseNode
    | SayNode
    | HangupNode
)
NODE_TYPES = frozenset(
    {"menu", "question", "digits", "confirm", "transfer", "file_case", "lookup_case", "say", "hangup"}
)


class MenuDocument(_Model):
    """A whole menu file as written."""

    name: Name
    start: Target
    voice: Voice = Field(default_factory=Voice)
    defaults: Defaults = Field(default_factory=Defaults)
    nodes: dict[Name, Annotated[Node, Field(discriminator="type")]] = Field(min_length=1)
