"""Problems found in an admin-edited YAML file, each naming the file, line and path of its cause."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from os import PathLike
from typing import Self

from pydantic import ValidationError
from pydantic_core import ErrorDetails

Loc = tuple[str | int, ...]
"""A path into the YAML document: mapping keys and sequence indexes."""


@dataclass(frozen=True)
class ConfigProblem:
    """One thing wrong with a config file; str() gives `file:line path: message`."""

    file: str
    line: int | None
    path: str
    message: str

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        return f"{where} {self.path}: {self.message}" if self.path else f"{where}: {self.message}"


class ConfigError(ValueError):
    """A config file (or directory of them) failed to load; problems lists every cause found."""

    def __init__(self, problems: Sequence[ConfigProblem]) -> None:
        self.problems = list(problems)
        super().__init__(format_problems(self.problems))

    @classmethod
    def single(cls, file: str | PathLike[str], message: str, line: int | None = None, path: str = "") -> Self:
        """An error with one problem, for callers that find something wrong outside a file's content."""
        return cls([ConfigProblem(str(file), line, path, message)])


def format_path(loc: Loc) -> str:
    """Render a location as `nodes.report.options[2].next`."""
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


def format_problems(problems: Iterable[ConfigProblem]) -> str:
    """One problem per line, in file and line order, for the CLI and for exceptions."""
    ordered = sorted(problems, key=lambda p: (p.file, p.line or 0, p.path))
    return "\n".join(str(problem) for problem in ordered)


def line_of(lines: Mapping[Loc, int], loc: Loc) -> int | None:
    """The line of loc, or of its closest ancestor present in the document."""
    for end in range(len(loc), -1, -1):
        line = lines.get(loc[:end])
        if line is not None:
            return line
    return None


class ProblemSink:
    """Collects problems for one file, turning locations into lines and paths."""

    def __init__(self, file: str, lines: Mapping[Loc, int] | None = None) -> None:
        self.file = file
        self.lines: Mapping[Loc, int] = lines or {}
        self.problems: list[ConfigProblem] = []

    def add(self, loc: Loc, message: str, line: int | None = None) -> None:
        """Record a problem at loc (line looked up unless given)."""
        found = line if line is not None else line_of(self.lines, loc)
        self.problems.append(ConfigProblem(self.file, found, format_path(loc), message))


Explain = Callable[[ErrorDetails, Loc], tuple[Loc, str] | None]


def add_validation_errors(sink: ProblemSink, error: ValidationError,
                          relocate: Callable[[Loc], Loc] = lambda loc: loc,
                          explain: Explain = lambda item, loc: None) -> None:
    """Record pydantic's errors in sink in words for people editing YAML.

    relocate maps pydantic's location to the file's; explain may word an error itself.
    """
    for item in error.errors():
        loc: Loc = relocate(tuple(item["loc"]))
        if loc and loc[-1] == "[key]":
            loc = loc[:-1]
        special = explain(item, loc)
        if special is not None:
            sink.add(*special)
            continue
        kind = item["type"]
        if kind == "missing":
            message = "required field is missing"
        elif kind == "extra_forbidden":
            message = "unknown field"
        elif kind == "value_error":
            message = str(item.get("ctx", {}).get("error", item["msg"]))
        else:
            message = _PLAIN.get(kind, item["msg"])
        sink.add(loc, message)


_PLAIN = {
    "dict_type": "expected a mapping (key: value lines)",
    "model_type": "expected a mapping (key: value lines)",
    "list_type": "expected a list",
    "tuple_type": "expected a list",
    "bool_type": "expected true or false",
    "int_type": "expected a whole number",
    "int_parsing": "expected a whole number",
    "string_type": "expected text; quote values such as phone numbers",
}
"""Pydantic's wording for wrong types, rephrased for people editing YAML."""
