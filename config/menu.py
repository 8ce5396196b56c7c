"""IVR menus: load config/menus/*.yaml into validated Menu objects, or explain what is wrong.

Loading runs in phases and reports every problem of the first phase that has
any: reading and YAML structure, then the schema, then whole-menu checks.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from config.menu_checks import apply_defaults, check_graph, check_nodes, check_targets
from config.menu_schema import (
    KEYS,
    NODE_TYPES,
    PLACEHOLDERS,
    ConfirmNode,
    Defaults,
    DigitsNode,
    FileCaseNode,
    HangupNode,
    InputNode,
    LookupCaseNode,
    MenuDocument,
    MenuNode,
    Node,
    NodeBase,
    Option,
    QuestionNode,
    SayNode,
    TransferNode,
    Voice,
    template_fields,
)
from config.problems import (
    ConfigError,
    ConfigProblem,
    Loc,
    ProblemSink,
    add_validation_errors,
    format_problems,
    line_of,
)
from config.yaml_reader import MAX_BYTES, read_document

__all__ = [
    "KEYS", "NODE_TYPES", "PLACEHOLDERS", "ConfirmNode", "Defaults", "DigitsNode", "FileCaseNode",
    "HangupNode", "InputNode", "LookupCaseNode", "Menu", "MenuError", "MenuNode", "MenuProblem", "Node",
    "NodeBase", "Option", "QuestionNode", "SayNode", "TransferNode", "Voice", "format_problems",
    "load_menu", "load_menus", "parse_menu", "template_fields", "validate_menu_file",
]


MenuProblem = ConfigProblem


class MenuError(ConfigError):
    """A menu file (or directory of them) failed to load; problems lists every cause found."""


@dataclass(frozen=True)
class Menu:
    """A validated menu with defaults applied; version is the sha256 of the file's bytes."""

    name: str
    start: str
    voice: Voice
    defaults: Defaults
    nodes: Mapping[str, Node]
    version: str
    source: str
    file: str

    def node(self, node_id: str | None) -> Node | None:
        """The node called node_id, or None if there is none."""
        return self.nodes.get(node_id) if node_id is not None else None

    def voice_options(self) -> dict[str, str | None]:
        """The voice block as plain keyword arguments: language and carrier voice name."""
        return {"language": self.voice.language, "name": self.voice.name}


def parse_menu(raw: bytes | str, source_name: str = "<menu>", categories: Collection[str] | None = None) -> Menu:
    """Build a Menu from YAML text (source_name names it in problems); raise MenuError listing them all."""
    data = raw.encode("utf-8") if isinstance(raw, str) else raw
    menu, sink = _parse(data, source_name, categories)
    if menu is None:
        raise MenuError(sink.problems)
    return menu


def load_menu(path: str | Path, categories: Collection[str] | None = None) -> Menu:
    """Load one menu file; categories, when given, are the valid `set: {category: …}` codes."""
    menu, sink = _load(Path(path), categories)
    if menu is None:
        raise MenuError(sink.problems)
    return menu


def validate_menu_file(path: str | Path, categories: Collection[str] | None = None) -> list[MenuProblem]:
    """Every problem in one menu file; an empty list when it loads cleanly."""
    return _load(Path(path), categories)[1].problems


def load_menus(directory: str | Path, categories: Collection[str] | None = None) -> dict[str, Menu]:
    """Load every *.yaml menu in directory, keyed by menu name; MenuError lists all files' problems."""
    folder = Path(directory)
    problems: list[MenuProblem] = []
    menus: dict[str, Menu] = {}
    paths = sorted(folder.glob("*.yaml")) if folder.is_dir() else []
    if not paths:
        problems.append(MenuProblem(str(folder), None, "", "no menu files (*.yaml) found"))
    for path in paths:
        menu, sink = _load(path, categories)
        problems += sink.problems
        if menu is None:
            continue
        if menu.name in menus:
            line = line_of(sink.lines, ("name",))
            message = f"menu name '{menu.name}' is also used by {menus[menu.name].file}"
            problems.append(MenuProblem(menu.file, line, "name", message))
            continue
        menus[menu.name] = menu
    if problems:
        raise MenuError(problems)
    return menus


def _load(path: Path, categories: Collection[str] | None) -> tuple[Menu | None, ProblemSink]:
    try:
        with path.open("rb") as stream:
            raw = stream.read(MAX_BYTES + 1)
    except OSError as exc:
        sink = ProblemSink(str(path))
        sink.add((), f"cannot read the file: {exc.strerror or exc}")
        return None, sink
    return _parse(raw, str(path), categories)


def _parse(raw: bytes, file: str, categories: Collection[str] | None) -> tuple[Menu | None, ProblemSink]:
    sink = ProblemSink(file)
    document = read_document(raw, sink)
    if document is None or sink.problems:
        return None, sink
    data, sink.lines = document
    try:
        doc = MenuDocument.model_validate(data)
    except ValidationError as exc:
        add_validation_errors(sink, exc, relocate=_relocate, explain=_explain_node_type)
        return None, sink
    targets_ok = check_targets(doc, sink)
    nodes = apply_defaults(doc)
    check_nodes(nodes, sink, categories)
    if targets_ok:
        check_graph(doc.start, nodes, sink)
    if sink.problems:
        return None, sink
    menu = Menu(
        name=doc.name,
        start=doc.start,
        voice=doc.voice,
        defaults=doc.defaults,
        nodes=MappingProxyType(nodes),
        version=hashlib.sha256(raw).hexdigest(),
        source=raw.decode("utf-8-sig"),
        file=file,
    )
    return menu, sink


def _explain_node_type(error: ErrorDetails, loc: Loc) -> tuple[Loc, str] | None:
    expected = ", ".join(sorted(NODE_TYPES))
    if error["type"] == "union_tag_invalid":
        return loc + ("type",), f"unknown node type; expected one of {expected}"
    if error["type"] == "union_tag_not_found":
        return loc, f"missing 'type'; expected one of {expected}"
    return None


def _relocate(loc: Loc) -> Loc:
    if len(loc) >= 3 and loc[0] == "nodes" and loc[2] in NODE_TYPES:
        return loc[:2] + loc[3:]  # pydantic names the union member; the file does not
    return loc
