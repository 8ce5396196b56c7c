"""Read an admin-edited YAML file into plain data plus the line of every key, refusing risky YAML.

ruamel.yaml composes the document (safe, pure Python) and this module builds
dicts, lists and scalars itself, so it sees every duplicate key, anchor, alias
and tag instead of letting a constructor resolve them silently.
"""

from __future__ import annotations

import unicodedata
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from config.problems import Loc, ProblemSink

MAX_BYTES = 1_000_000
"""Config files are a few kilobytes; anything bigger is a mistake or an attack."""

MAX_DEPTH = 32

_TAG = "tag:yaml.org,2002:"


def read_document(raw: bytes, sink: ProblemSink) -> tuple[Any, dict[Loc, int]] | None:
    """Parse raw YAML bytes into (data, lines); None after recording problems in sink."""
    if len(raw) > MAX_BYTES:
        sink.add((), f"file is larger than {MAX_BYTES:,} bytes", line=1)
        return None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        sink.add((), f"not valid UTF-8 (byte 0x{raw[exc.start]:02x})", line=line)
        return None
    root = _compose(text, sink)
    if root is None:
        return None
    builder = _Builder(sink)
    sink.lines = builder.lines  # filled as the document is built, so problems found on the way get lines
    data = builder.build(root, ())
    return data, builder.lines


def _compose(text: str, sink: ProblemSink) -> Node | None:
    yaml = YAML(typ="safe", pure=True)
    yaml.max_depth = MAX_DEPTH
    yaml.composer.warn_double_anchors = False  # every anchor is refused below anyway
    try:
        root: Node | None = yaml.compose(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        message = ", ".join(part for part in (exc.context, exc.problem) if part)
        sink.add((), f"YAML syntax: {message}", line=mark.line + 1 if mark else None)
        return None
    except YAMLError as exc:
        sink.add((), f"YAML syntax: {exc}")
        return None
    if root is None:
        sink.add((), "the file is empty", line=1)
    return root


class _Builder:
    """Turns composed YAML nodes into Python data, noting lines and problems."""

    def __init__(self, sink: ProblemSink) -> None:
        self.sink = sink
        self.lines: dict[Loc, int] = {(): 1}
        self.seen: set[int] = set()

    def build(self, node: Node, loc: Loc) -> Any:
        """Python data for node; None where a problem was recorded."""
        if id(node) in self.seen:  # an alias: its anchor is already reported
            return None
        self.seen.add(id(node))
        if getattr(node, "anchor", None):
            self.sink.add(loc, f"anchors and aliases (&{node.anchor}) are not allowed; write the value out")
            return None
        if isinstance(node, MappingNode):
            return self._mapping(node, loc)
        if isinstance(node, SequenceNode):
            return self._sequence(node, loc)
        if isinstance(node, ScalarNode):
            return self._scalar(node, loc)
        self.sink.add(loc, f"unexpected YAML node {type(node).__name__}")
        return None

    def _mapping(self, node: MappingNode, loc: Loc) -> dict[str, Any] | None:
        if node.tag != _TAG + "map":
            self.sink.add(loc, f"tag {node.tag} is not allowed")
            return None
        result: dict[str, Any] = {}
        first_line: dict[str, int] = {}
        for key_node, value_node in node.value:
            line = key_node.start_mark.line + 1
            if not isinstance(key_node, ScalarNode) or key_node.tag == _TAG + "merge":
                self.sink.add(loc, "mapping keys must be plain text (no merge keys)", line=line)
                continue
            key = unicodedata.normalize("NFC", key_node.value)
            if key in result:
                self.sink.add(loc + (key,), f"duplicate key '{key}' (first at line {first_line[key]})", line=line)
                continue
            first_line[key] = line
            self.lines[loc + (key,)] = line
            result[key] = self.build(value_node, loc + (key,))
        return result

    def _sequence(self, node: SequenceNode, loc: Loc) -> list[Any] | None:
        if node.tag != _TAG + "seq":
            self.sink.add(loc, f"tag {node.tag} is not allowed")
            return None
        items = []
        for index, item in enumerate(node.value):
            self.lines[loc + (index,)] = item.start_mark.line + 1
            items.append(self.build(item, loc + (index,)))
        return items

    def _scalar(self, node: ScalarNode, loc: Loc) -> Any:
        tag, value = node.tag, node.value
        if tag in (_TAG + "str", _TAG + "timestamp"):
            return unicodedata.normalize("NFC", value)
        if tag == _TAG + "null":
            return None
        if tag == _TAG + "bool":
            return value.lower() == "true"
        try:
            if tag == _TAG + "int":
                return _integer(value)
            if tag == _TAG + "float":
                return float(value.lower().replace(".inf", "inf").replace(".nan", "nan"))
        except ValueError:
            self.sink.add(loc, f"cannot read {value!r} as a number", line=node.start_mark.line + 1)
            return None
        self.sink.add(loc, f"tag {tag} is not allowed", line=node.start_mark.line + 1)
        return None


def _integer(value: str) -> int:
    digits = value.replace("_", "")
    try:
        return int(digits, 10)
    except ValueError:
        return int(digits, 0)
