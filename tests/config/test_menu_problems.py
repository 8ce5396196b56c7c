"""Broken menus: each problem names the file, the line and the path of its cause."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from config.menu import MenuError, MenuNode, MenuProblem, load_menu, parse_menu, validate_menu_file

BASE = """\
name: test
start: main
defaults:
  fallback: operator
nodes:
  main:
    type: menu
    prompt: "Bấm phím 1 hoặc phím 2."
    options:
      - key: 1
        next: bye
      - key: 2
        next: operator
  operator:
    type: transfer
    queue: operators
    next: bye
  bye:
    type: hangup
    prompt: "Tạm biệt."
"""


def edit(old: str, new: str, text: str = BASE) -> str:
    """BASE with one exact, unique piece replaced."""
    assert text.count(old) == 1, old
    return text.replace(old, new)


PING_PONG = """\
  ping:
    type: menu
    prompt: "Một."
    fallback: pong
    options:
      - {key: 1, next: pong}
  pong:
    type: menu
    prompt: "Hai."
    fallback: ping
    options:
      - {key: 1, next: ping}
"""

BOMB = "name: bomb\nstart: a\nnodes:\n  a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"  {chr(98 + i)}: &{chr(98 + i)} [{', '.join([f'*{chr(97 + i)}'] * 10)}]\n" for i in range(9)
)

# (id, yaml text, line, path, message) — message is the exact text, or its start when it ends in "…".
CASES = [
    ("unknown target", edit("        next: bye\n      - key: 2", "        next: lights\n      - key: 2"),
     11, "nodes.main.options[0].next", "'lights' is not a node"),
    ("unknown start", edit("start: main", "start: welcome"), 2, "start", "'welcome' is not a node"),
    ("unknown default fallback", edit("fallback: operator", "fallback: nobody"),
     4, "defaults.fallback", "'nobody' is not a node"),
    ("unreachable node", BASE + "  orphan:\n    type: hangup\n", 21, "nodes.orphan", "not reachable from start 'main'"),
    ("duplicate option key", edit("      - key: 2", "      - key: 1"),
     12, "nodes.main.options[1].key", "key '1' is already used by options[0]"),
    ("duplicate spoken phrase", edit("        next: operator", "        next: operator\n        say: [một]",
                                     edit("        next: bye\n", "        next: bye\n        say: [Một]\n")),
     15, "nodes.main.options[1].say[0]", "'một' is also said for options[0]"),
    ("duplicate YAML key", BASE + '    prompt: "Chào."\n', 21, "nodes.bye.prompt", "duplicate key 'prompt' (first at line 20)"),
    ("duplicate node", BASE + "  bye:\n    type: hangup\n", 21, "nodes.bye", "duplicate key 'bye' (first at line 18)"),
    ("no path to a terminal", edit("        next: operator", "        next: ping") + PING_PONG,
     21, "nodes.ping", "no path from here to a hangup or transfer node"),
    ("loop without the caller", edit("        next: operator", "        next: a")
     + "  a:\n    type: say\n    prompt: A.\n    next: b\n  b:\n    type: say\n    prompt: B.\n    next: a\n",
     21, "nodes.a", "nodes a, b loop without waiting for the caller"),
    ("unknown placeholder", edit("Bấm phím 1 hoặc phím 2.", "Số {case_numbr}."),
     8, "nodes.main.prompt", "unknown placeholder {case_numbr}; …"),
    ("bad braces", edit("Bấm phím 1 hoặc phím 2.", "Số {case_number."), 8, "nodes.main.prompt", "bad braces …"),
    ("format spec", edit("Tạm biệt.", "{case_number:>5}"), 20, "nodes.bye.prompt", "placeholder {case_number} must …"),
    ("YAML syntax", edit("    type: menu\n", "    type: menu: x\n"), 7, "", "YAML syntax: mapping values are not allowed here"),
    ("unclosed flow list", edit("      - key: 1\n", "      - key: [1\n"), 11, "", "YAML syntax: …"),
    ("two documents", BASE + "---\nname: other\n", 21, "", "YAML syntax: expected a single document in the stream, but found another document"),
    ("empty file", "", 1, "", "the file is empty"),
    ("not a mapping", "- a\n- b\n", 1, "", "expected a mapping (key: value lines)"),
    ("wrong type: text for a number", edit("  fallback: operator", "  fallback: operator\n  max_tries: three"),
     5, "defaults.max_tries", "expected a whole number"),
    ("field not on this node type", edit("    queue: operators", "    queue: operators\n    barge_in: yes"),
     17, "nodes.operator.barge_in", "unknown field"),
    ("wrong type: yes for barge_in", edit("    prompt: \"Bấm", "    barge_in: yes\n    prompt: \"Bấm"),
     8, "nodes.main.barge_in", "expected true or false"),
    ("wrong type: mapping for a list", edit("    options:\n      - key: 1\n        next: bye\n      - key: 2\n"
                                            "        next: operator\n", "    options: {key: 1, next: bye}\n"),
     9, "nodes.main.options", "expected a list"),
    ("wrong type: unquoted phone number", edit("    queue: operators", "    number: 02838"),
     16, "nodes.operator.number", "expected text; quote values such as phone numbers"),
    ("bad key", edit("      - key: 2", "      - key: 12"), 12, "nodes.main.options[1].key", "Input should be '0', …"),
    ("unknown field", edit("    prompt: \"Tạm", "    promt: \"Tạm"), 20, "nodes.bye.promt", "unknown field"),
    ("missing field", edit("    next: bye\n  bye:", "  bye:"), 14, "nodes.operator.next", "required field is missing"),
    ("unknown node type", edit("    type: hangup", "    type: goodbye"),
     19, "nodes.bye.type", "unknown node type; expected one of …"),
    ("missing node type", edit("    type: hangup\n", ""), 18, "nodes.bye", "missing 'type'; …"),
    ("bad node name", edit("  bye:\n", "  Bye-Bye:\n", edit("next: bye\n  bye:", "next: Bye-Bye\n  bye:")),
     18, "nodes.Bye-Bye", "'Bye-Bye' is not a valid name: use lowercase letters, digits and _"),
    ("transfer needs one destination", edit("    queue: operators", "    queue: operators\n    number: \"+842838\""),
     14, "nodes.operator", "set exactly one of number or queue"),
    ("audio with placeholders", edit("    prompt: \"Tạm biệt.\"", "    prompt: \"Số {case_number}.\"\n    audio: bye.wav"),
     21, "nodes.bye.audio", "a recorded prompt cannot contain placeholders; use a text prompt"),
    ("audio without transcript", edit("    prompt: \"Tạm biệt.\"", "    audio: bye.wav"),
     20, "nodes.bye.audio", "a recorded prompt needs its transcript in prompt"),
    ("fallback to itself", edit("    type: menu\n", "    type: menu\n    fallback: main\n"),
     8, "nodes.main.fallback", "a node cannot fall back to itself"),
    ("python tag", edit("    queue: operators", "    queue: !!python/object/apply:os.system [ls]"),
     16, "nodes.operator.queue", "tag tag:yaml.org,2002:python/object/apply:os.system is not allowed"),
    ("merge key", edit("    type: hangup\n", "    type: hangup\n    <<: {prompt: x}\n"),
     20, "nodes.bye", "mapping keys must be plain text (no merge keys)"),
    ("alias bomb", BOMB, 4, "nodes.a", "anchors and aliases (&a) are not allowed; write the value out"),
]


def message_matches(actual: str, expected: str) -> bool:
    """Exact match, or prefix match when expected ends in an ellipsis."""
    return actual.startswith(expected[:-1]) if expected.endswith("…") else actual == expected


@pytest.mark.parametrize(("text", "line", "path", "message"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_broken_menu_names_file_line_path_and_cause(tmp_path: Path, text: str, line: int, path: str,
                                                    message: str) -> None:
    file = tmp_path / "menus" / "test.yaml"
    file.parent.mkdir()
    file.write_text(text, encoding="utf-8")

    problems = validate_menu_file(file)

    wanted = [p for p in problems if p.path == path and message_matches(p.message, message)]
    assert wanted, problems
    assert wanted[0].file == str(file)
    assert wanted[0].line == line
    with pytest.raises(MenuError) as raised:
        load_menu(file)
    assert raised.value.problems == problems


def test_base_menu_is_valid() -> None:
    assert parse_menu(BASE, "base.yaml").name == "test"


def test_problem_reads_as_file_line_path_message() -> None:
    problem = MenuProblem("menus/main.yaml", 14, "nodes.report.options[2].next", "'lights' is not a node")
    assert str(problem) == "menus/main.yaml:14 nodes.report.options[2].next: 'lights' is not a node"
    assert str(MenuProblem("menus/main.yaml", 3, "", "the file is empty")) == "menus/main.yaml:3: the file is empty"


def test_every_problem_is_collected_not_only_the_first() -> None:
    text = edit("        next: operator", "        next: nowhere", edit("start: main", "start: nothing"))
    with pytest.raises(MenuError) as raised:
        parse_menu(text, "two.yaml")
    found = {(p.line, p.path, p.message) for p in raised.value.problems}
    assert found == {
        (2, "start", "'nothing' is not a node"),
        (13, "nodes.main.options[1].next", "'nowhere' is not a node"),
    }
    assert str(raised.value).splitlines() == [
        "two.yaml:2 start: 'nothing' is not a node",
        "two.yaml:13 nodes.main.options[1].next: 'nowhere' is not a node",
    ]


def test_schema_problems_are_all_collected() -> None:
    text = edit("    queue: operators", "    queue: 5", edit("  fallback: operator", "  fallback: operator\n  timeout: x"))
    with pytest.raises(MenuError) as raised:
        parse_menu(text, "types.yaml")
    assert {(p.line, p.path) for p in raised.value.problems} == {(5, "defaults.timeout"), (17, "nodes.operator.queue")}


def test_unknown_category_code_when_codes_are_given() -> None:
    text = edit("        next: bye\n", "        next: bye\n        set: {category: HT_LIGHTS}\n")
    main = parse_menu(text, "c.yaml").nodes["main"]
    assert isinstance(main, MenuNode) and main.options[0].set_slots == {"category": "HT_LIGHTS"}
    with pytest.raises(MenuError) as raised:
        parse_menu(text, "c.yaml", categories={"HT_NGAP"})
    [problem] = raised.value.problems
    assert (problem.line, problem.path, problem.message) == (
        12, "nodes.main.options[0].set.category", "'HT_LIGHTS' is not a category code")


def test_digit_ranges_and_confirm_keys_are_checked() -> None:
    text = edit("        next: operator", "        next: ask") + (
        "  ask:\n    type: digits\n    slot: case_number\n    prompt: Nhập số.\n"
        "    min_digits: 6\n    max_digits: 4\n    next: sure\n"
        "  sure:\n    type: confirm\n    prompt: Đúng không?\n    yes: bye\n    no: main\n    yes_key: 2\n"
    )
    with pytest.raises(MenuError) as raised:
        parse_menu(text, "d.yaml")
    assert {(p.line, p.path, p.message) for p in raised.value.problems} == {
        (25, "nodes.ask.min_digits", "min_digits (6) exceeds max_digits (4)"),
        (28, "nodes.sure.no_key", "yes_key and no_key are both '2'"),
    }


def test_input_nodes_need_a_fallback() -> None:
    text = edit("defaults:\n  fallback: operator\n", "")
    with pytest.raises(MenuError) as raised:
        parse_menu(text, "f.yaml")
    assert [(p.line, p.path, p.message) for p in raised.value.problems] == [
        (4, "nodes.main", "no fallback: set fallback here or in defaults"),
    ]


def test_oversized_file_is_refused_before_parsing(tmp_path: Path) -> None:
    file = tmp_path / "big.yaml"
    file.write_bytes(BASE.encode() + b"#" * 1_000_001)
    [problem] = validate_menu_file(file)
    assert (problem.line, problem.path, problem.message) == (1, "", "file is larger than 1,000,000 bytes")


def test_alias_bomb_is_refused_quickly() -> None:
    began = time.perf_counter()
    with pytest.raises(MenuError) as raised:
        parse_menu(BOMB, "bomb.yaml")
    assert time.perf_counter() - began < 1.0
    assert all("anchors and aliases" in p.message for p in raised.value.problems)
    assert len(raised.value.problems) == 10


def test_deep_nesting_is_refused() -> None:
    text = BASE + "extra: " + "[" * 200 + "]" * 200 + "\n"
    with pytest.raises(MenuError) as raised:
        parse_menu(text, "deep.yaml")
    [problem] = raised.value.problems
    assert problem.line == 21 and problem.message.startswith("YAML syntax: maximum depth")


def test_invalid_utf8_names_the_line(tmp_path: Path) -> None:
    file = tmp_path / "latin1.yaml"
    file.write_bytes(BASE.encode().replace("Tạm biệt.".encode(), b"T\xe0m bi\xeat."))
    [problem] = validate_menu_file(file)
    assert (problem.line, problem.message) == (20, "not valid UTF-8 (byte 0xe0)")


def test_missing_file_is_a_problem_not_a_crash(tmp_path: Path) -> None:
    [problem] = validate_menu_file(tmp_path / "nope.yaml")
    assert problem.message.startswith("cannot read the file")
