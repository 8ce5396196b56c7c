"""Checks that need the whole menu: targets, fallbacks, reachability, loops, duplicate keys."""

from __future__ import annotations

import unicodedata
from collections import deque
from collections.abc import Collection, Iterator, Mapping

from config.menu_schema import (
    ConfirmNode,
    DigitsNode,
    FileCaseNode,
    HangupNode,
    InputNode,
    LookupCaseNode,
    MenuDocument,
    MenuNode,
    Node,
    NodeBase,
    SayNode,
    TransferNode,
    template_fields,
)
from config.problems import Loc, ProblemSink

Edge = tuple[Loc, str | None]
"""Where a node names another (relative to the node) and the name it gives."""

_TERMINAL = (HangupNode, TransferNode)
_AUTOMATIC = (SayNode, FileCaseNode, LookupCaseNode)  # move on without the caller


def apply_defaults(doc: MenuDocument) -> dict[str, Node]:
    """Nodes with every field they left out taken from the menu's defaults block."""
    nodes: dict[str, Node] = {}
    for node_id, node in doc.nodes.items():
        update = {
            name: getattr(doc.defaults, name)
            for name in type(node).inherits
            if name not in node.model_fields_set
        }
        nodes[node_id] = node.model_copy(update=update) if update else node
    return nodes


def edges(node: NodeBase) -> list[Edge]:
    """Every node name this node can lead to, with where it is written."""
    found: list[Edge] = []
    if isinstance(node, MenuNode):
        found += [(("options", index, "next"), option.next) for index, option in enumerate(node.options)]
    if isinstance(node, ConfirmNode):
        found += [(("yes",), node.yes), (("no",), node.no)]
    if isinstance(node, LookupCaseNode):
        found += [(("found",), node.found), (("not_found",), node.not_found)]
    next_node = getattr(node, "next", None)
    if isinstance(next_node, str):
        found.append((("next",), next_node))
    if isinstance(node, InputNode | LookupCaseNode):
        found.append((("fallback",), node.fallback))
    return found


def check_targets(doc: MenuDocument, sink: ProblemSink) -> bool:
    """Report every name that is not a node (before defaults are applied); True when all exist."""
    before = len(sink.problems)
    _target(doc.start, ("start",), doc, sink)
    if doc.defaults.fallback is not None:
        _target(doc.defaults.fallback, ("defaults", "fallback"), doc, sink)
    for node_id, node in doc.nodes.items():
        for loc, target in edges(node):
            if target is not None:
                _target(target, ("nodes", node_id) + loc, doc, sink)
    return len(sink.problems) == before


def _target(name: str, loc: Loc, doc: MenuDocument, sink: ProblemSink) -> None:
    if name not in doc.nodes:
        sink.add(loc, f"'{name}' is not a node")


def check_nodes(nodes: Mapping[str, Node], sink: ProblemSink, categories: Collection[str] | None) -> None:
    """Checks within one node: fallbacks, duplicate keys and phrases, ranges, audio, categories."""
    for node_id, node in nodes.items():
        loc: Loc = ("nodes", node_id)
        if isinstance(node, InputNode | LookupCaseNode):
            if node.fallback is None:
                sink.add(loc, "no fallback: set fallback here or in defaults")
            elif node.fallback == node_id:
                sink.add(loc + ("fallback",), "a node cannot fall back to itself")
        if isinstance(node, MenuNode):
            _check_options(node, loc, sink)
        if isinstance(node, DigitsNode) and node.min_digits > node.max_digits:
            sink.add(loc + ("min_digits",), f"min_digits ({node.min_digits}) exceeds max_digits ({node.max_digits})")
        if isinstance(node, ConfirmNode):
            _check_confirm(node, loc, sink)
        if isinstance(node, TransferNode) and (node.number is None) == (node.queue is None):
            sink.add(loc, "set exactly one of number or queue")
        if node.audio is not None:
            _check_audio(node, loc, sink)
        if categories is not None:
            for slot_loc, value in _categories(node):
                if value not in categories:
                    sink.add(loc + slot_loc, f"'{value}' is not a category code")


def _check_options(node: MenuNode, loc: Loc, sink: ProblemSink) -> None:
    keys: dict[str, int] = {}
    phrases: dict[str, int] = {}
    for index, option in enumerate(node.options):
        if option.key in keys:
            sink.add(loc + ("options", index, "key"), f"key '{option.key}' is already used by options[{keys[option.key]}]")
        keys.setdefault(option.key, index)
        for number, phrase in enumerate(option.say):
            folded = _fold(phrase)
            if phrases.get(folded, index) != index:
                sink.add(loc + ("options", index, "say", number), f"'{phrase}' is also said for options[{phrases[folded]}]")
            phrases.setdefault(folded, index)


def _check_confirm(node: ConfirmNode, loc: Loc, sink: ProblemSink) -> None:
    if node.yes_key == node.no_key:
        sink.add(loc + ("no_key",), f"yes_key and no_key are both '{node.no_key}'")
    both = {_fold(p) for p in node.yes_say} & {_fold(p) for p in node.no_say}
    if both:
        sink.add(loc + ("no_say",), f"'{sorted(both)[0]}' is both a yes and a no")


def _check_audio(node: NodeBase, loc: Loc, sink: ProblemSink) -> None:
    if node.prompt is None:
        sink.add(loc + ("audio",), "a recorded prompt needs its transcript in prompt")
    elif template_fields(node.prompt):
        sink.add(loc + ("audio",), "a recorded prompt cannot contain placeholders; use a text prompt")


def _categories(node: NodeBase) -> Iterator[tuple[Loc, str]]:
    if isinstance(node, MenuNode):
        for index, option in enumerate(node.options):
            if "category" in option.set_slots:
                yield ("options", index, "set", "category"), option.set_slots["category"]
    if isinstance(node, FileCaseNode) and "category" in node.set_slots:
        yield ("set", "category"), node.set_slots["category"]


def _fold(text: str) -> str:
    return " ".join(unicodedata.normalize("NFC", text).casefold().split())


def check_graph(start: str, nodes: Mapping[str, Node], sink: ProblemSink) -> None:
    """Reachability from start, a way out to a terminal from every node, no caller-free loops."""
    graph = {
        node_id: [t for _, t in edges(node) if t is not None and t in nodes] for node_id, node in nodes.items()
    }
    reached = _closure([start], graph)
    for node_id in nodes:
        if node_id not in reached:
            sink.add(("nodes", node_id), f"not reachable from start '{start}'")
    backwards: dict[str, list[str]] = {node_id: [] for node_id in nodes}
    for node_id, targets in graph.items():
        for target in targets:
            backwards[target].append(node_id)
    ending = _closure([n for n, node in nodes.items() if isinstance(node, _TERMINAL)], backwards)
    for node_id in nodes:
        if node_id not in ending:
            sink.add(("nodes", node_id), "no path from here to a hangup or transfer node")
    _check_loops(nodes, graph, sink)


def _check_loops(nodes: Mapping[str, Node], graph: Mapping[str, list[str]], sink: ProblemSink) -> None:
    automatic = {n: [t for t in graph[n] if isinstance(nodes[t], _AUTOMATIC)]
                 for n, node in nodes.items() if isinstance(node, _AUTOMATIC)}
    reported: set[str] = set()
    for node_id in automatic:
        onward = _closure(automatic[node_id], automatic)
        if node_id not in onward or node_id in reported:
            continue
        cycle = [n for n in automatic if n in onward and node_id in _closure(automatic[n], automatic)]
        reported.update(cycle)
        sink.add(("nodes", node_id), f"nodes {', '.join(cycle)} loop without waiting for the caller")


def _closure(starts: list[str], graph: Mapping[str, list[str]]) -> set[str]:
    seen = set(starts)
    queue = deque(starts)
    while queue:
        for target in graph.get(queue.popleft(), ()):
            if target not in seen:
                seen.add(target)
                queue.append(target)
    return seen
