"""Loading menus: the shipped main.yaml, directories of menus, versions and text normalisation."""

from __future__ import annotations

import hashlib
import unicodedata
from pathlib import Path

import pytest

from config.menu import (
    FileCaseNode,
    InputNode,
    LookupCaseNode,
    MenuError,
    MenuNode,
    QuestionNode,
    TransferNode,
    format_problems,
    load_menu,
    load_menus,
    parse_menu,
    validate_menu_file,
)
from config.settings import DEFAULT_MENU_DIR
from ivr.prompts import CATEGORY_LABELS

MAIN = DEFAULT_MENU_DIR / "main.yaml"

SMALL = """\
name: {name}
start: bye
nodes:
  bye:
    type: hangup
    prompt: "Tạm biệt."
"""


def test_shipped_menu_validates_cleanly() -> None:
    assert validate_menu_file(MAIN) == []
    assert validate_menu_file(MAIN, categories=CATEGORY_LABELS.keys()) == []


def test_shipped_menu_shape() -> None:
    menu = load_menu(MAIN)
    assert (menu.name, menu.start, menu.voice.language) == ("main", "welcome", "vi-VN")
    assert menu.version == hashlib.sha256(MAIN.read_bytes()).hexdigest()
    assert menu.source == MAIN.read_text(encoding="utf-8")
    assert menu.file == str(MAIN)
    operator = menu.nodes["operator"]
    assert isinstance(operator, TransferNode) and operator.queue == "operators"
    assert isinstance(menu.nodes[operator.next], QuestionNode)


def test_shipped_menu_offers_every_category_on_the_keypad() -> None:
    menu = load_menu(MAIN)
    chosen = {
        option.set_slots["category"]
        for node in menu.nodes.values() if isinstance(node, MenuNode)
        for option in node.options if "category" in option.set_slots
    }
    assert chosen == set(CATEGORY_LABELS)


def test_shipped_menu_text_is_nfc_vietnamese() -> None:
    source = MAIN.read_text(encoding="utf-8")
    assert unicodedata.is_normalized("NFC", source)
    menu = load_menu(MAIN)
    assert "Xin chào, đây là đường dây nóng 1022 Thành phố Hồ Chí Minh" in (menu.nodes["welcome"].prompt or "")


def test_defaults_fill_nodes_that_leave_them_out() -> None:
    menu = load_menu(MAIN)
    main_menu = menu.nodes["main_menu"]
    assert isinstance(main_menu, InputNode)
    assert (main_menu.max_tries, main_menu.fallback, main_menu.timeout, main_menu.barge_in) == (3, "operator", 6, True)
    assert main_menu.no_match == menu.defaults.no_match
    message = menu.nodes["message"]
    assert isinstance(message, InputNode) and message.fallback == "missed_message"
    lookup = menu.nodes["lookup"]
    assert isinstance(lookup, LookupCaseNode) and lookup.fallback == "operator"
    assert isinstance(menu.nodes["missed_message"], FileCaseNode)


def test_text_is_normalised_to_nfc_but_the_version_hashes_the_bytes() -> None:
    nfd = unicodedata.normalize("NFD", SMALL.format(name="nfd"))
    menu = parse_menu(nfd, "nfd.yaml")
    assert menu.nodes["bye"].prompt == unicodedata.normalize("NFC", "Tạm biệt.")
    assert menu.version == hashlib.sha256(nfd.encode()).hexdigest()


def test_unquoted_digit_keys_are_accepted() -> None:
    menu = load_menu(MAIN)
    main_menu = menu.nodes["main_menu"]
    assert isinstance(main_menu, MenuNode)
    assert [option.key for option in main_menu.options] == ["1", "2", "0"]


def test_load_menus_keys_by_name(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(SMALL.format(name="alpha"), encoding="utf-8")
    (tmp_path / "b.yaml").write_text(SMALL.format(name="beta"), encoding="utf-8")
    (tmp_path / "notes.txt").write_text("not a menu", encoding="utf-8")
    assert sorted(load_menus(tmp_path)) == ["alpha", "beta"]


def test_load_menus_loads_the_shipped_directory() -> None:
    assert list(load_menus(DEFAULT_MENU_DIR)) == ["main"]


def test_load_menus_collects_problems_from_every_file(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(SMALL.format(name="same"), encoding="utf-8")
    (tmp_path / "b.yaml").write_text(SMALL.format(name="same"), encoding="utf-8")
    (tmp_path / "c.yaml").write_text(SMALL.format(name="c").replace("start: bye", "start: hello"), encoding="utf-8")
    with pytest.raises(MenuError) as raised:
        load_menus(tmp_path)
    assert [(Path(p.file).name, p.line, p.path, p.message) for p in raised.value.problems] == [
        ("b.yaml", 1, "name", f"menu name 'same' is also used by {tmp_path / 'a.yaml'}"),
        ("c.yaml", 2, "start", "'hello' is not a node"),
    ]


def test_load_menus_of_an_empty_directory_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(MenuError) as raised:
        load_menus(tmp_path)
    assert [p.message for p in raised.value.problems] == ["no menu files (*.yaml) found"]


def test_format_problems_sorts_by_file_and_line() -> None:
    text = SMALL.format(name="x") + "  extra:\n    type: hangup\n  more:\n    type: hangup\n"
    with pytest.raises(MenuError) as raised:
        parse_menu(text, "menus/x.yaml")
    assert format_problems(reversed(raised.value.problems)).splitlines() == [
        "menus/x.yaml:7 nodes.extra: not reachable from start 'bye'",
        "menus/x.yaml:9 nodes.more: not reachable from start 'bye'",
    ]


def test_menu_error_single() -> None:
    error = MenuError.single(Path("menus/main.yaml"), "no menu named 'main'")
    assert str(error) == "menus/main.yaml: no menu named 'main'"
