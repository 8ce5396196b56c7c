"""Reading admin-edited YAML safely, and naming file, line and path in every problem."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError

MAX_BYTES = 1024 * 1024


@dataclass(frozen=True)
class ConfigProblem:
    """One thing wrong in a config file, located by line and by path inside the document."""

    file: Path
    line: int | None
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else str(self.file)
        return f"{where} {self.path}: {self.message}" if self.path else f"{where}: {self.message}"


class ConfigError(ValueError):
    """A config file was refused; carries every problem found."""

    def __init__(self, problems: Sequence[ConfigProblem]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


def read_yaml(path: Path, text: str | None = None) -> tuple[object, list[ConfigProblem]]:
    """Parse one YAML document (from path, or from text named by path) keeping line numbers."""
    if text is None:
        try:
            raw = path.read_bytes()
        except OSError as error:
            return None, [ConfigProblem(path, None, "", f"cannot read: {error.strerror}")]
        if len(raw) > MAX_BYTES:
            return None, [ConfigProblem(path, None, "", f"file larger than {MAX_BYTES} bytes")]
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            return None, [ConfigProblem(path, None, "", "not UTF-8 text")]
    if len(text.encode()) > MAX_BYTES:
        return None, [ConfigProblem(path, None, "", f"document larger than {MAX_BYTES} bytes")]
    yaml = YAML(typ="rt", pure=True)
    yaml.allow_duplicate_keys = False
    try:
        data = yaml.load(text)
    except MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = mark.line + 1 if mark else None
        return None, [ConfigProblem(path, line, "", _one_line(error.problem or str(error)))]
    except YAMLError as error:
        return None, [ConfigProblem(path, None, "", _one_line(str(error)))]
    alias = _first_alias(data)
    if alias is not None:
        return None, [ConfigProblem(path, alias, "", "anchors and aliases are not allowed")]
    return data, []


def line_of(data: object, path: Sequence[str | int]) -> int | None:
    """The 1-based line of the deepest node of path that exists in data."""
    line = None
    node = data
    for key in path:
        if isinstance(node, CommentedMap) and key in node:
            line = node.lc.key(key)[0] + 1
            node = node[key]
        elif isinstance(node, CommentedSeq) and isinstance(key, int) and 0 <= key < len(node):
            line = node.lc.item(key)[0] + 1
            node = node[key]
        else:
            break
    return line


def validation_problems(error: ValidationError, data: object, file: Path) -> list[ConfigProblem]:
    """Turn pydantic's errors into problems with lines and dotted paths."""
    problems = []
    for item in error.errors():
        loc = [part for part in item["loc"] if isinstance(part, str | int)]
        problems.append(ConfigProblem(file, line_of(data, loc), dotted(loc), item["msg"]))
    return problems


def dotted(path: Sequence[str | int]) -> str:
    """A path as written in messages: nodes.report.options[2].next."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _first_alias(data: object) -> int | None:
    """Line of the first node that is shared (an alias), so a billion-laughs document is refused."""
    seen: set[int] = set()
    stack = [data]
    while stack:
        node = stack.pop()
        if isinstance(node, CommentedMap | CommentedSeq):
            if id(node) in seen:
                return node.lc.line + 1
            seen.add(id(node))
            stack.extend(node.values() if isinstance(node, CommentedMap) else node)
    return None


def _one_line(message: str) -> str:
    return " ".join(message.split())
