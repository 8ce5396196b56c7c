"""The YAML loaders on random text and on broken copies of the real files: their own error, or a result.

The only exception allowed out of a loader is its documented ConfigError subclass, every problem of
which names the file, a line inside it (or none) and a message; never another exception, never a hang.
"""

from __future__ import annotations

import copy
import io
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from config.catalog import Catalog, CatalogError, load_catalog
from config.menu import Menu, MenuError, parse_menu
from config.problems import ConfigError, ConfigProblem
from config.settings import DEFAULT_MENU_DIR, PACKAGE_DIR
from console.config_files import FILES, MENU_FILE, ConfigFiles
from console.config_service import ConfigService
from tests.fuzz.conftest import scaled

MENU_TEXT = (DEFAULT_MENU_DIR / "main.yaml").read_text(encoding="utf-8")
UNITS_TEXT = (PACKAGE_DIR / "units.yaml").read_text(encoding="utf-8")
CATEGORIES_TEXT = (PACKAGE_DIR / "categories.yaml").read_text(encoding="utf-8")
CATEGORY_CODES = frozenset(load_catalog(PACKAGE_DIR).categories)
SLOW_S = 20.0  # far above any honest parse of these few kilobytes: a loader this slow is hanging


def _load(text: str) -> Any:
    return YAML(typ="safe", pure=True).load(text)


MENU_DATA = _load(MENU_TEXT)
UNITS_DATA = _load(UNITS_TEXT)
# categories.yaml takes ~0.3 s to parse: its mutations use the first few categories (the rest is phrases).
SOME_CATEGORIES = {"categories": _load(CATEGORIES_TEXT)["categories"][:4]}
REFERENCES = ["nowhere", "", "welcome", "operator", "main_menu", "describe", "KHAC", "HT_NGAP", "water",
              "infrastructure", "UBND_{ward_code}", "{ward}", "{case_number}", "{unknown}", "{", "}", "#", "*",
              "10", "-1", "0", "1.5", "true", "null", "Phường {ward}", "UBND_X"]

scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True), st.text(max_size=20),
                    st.sampled_from(REFERENCES))
structures = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                           st.dictionaries(st.text(max_size=8), inner, max_size=4)),
                          max_leaves=12)


def _nested(depth: int, leaf: Any, as_list: bool) -> Any:
    for _ in range(depth):
        leaf = [leaf] if as_list else {"n": leaf}
    return leaf


def _slots(data: Any) -> Iterator[tuple[Any, Any]]:
    """Every (container, key or index) pair of a document, depth first."""
    items = data.items() if isinstance(data, dict) else enumerate(data) if isinstance(data, list) else []
    for key, value in list(items):
        yield data, key
        yield from _slots(value)


@st.composite
def mutated(draw: st.DrawFn, original: Any) -> Any:
    """A deep copy of a document with one to four mutations: what an admin's mistake could produce."""
    data = copy.deepcopy(original)
    for _ in range(draw(st.integers(1, 4))):
        slots = list(_slots(data))
        if not slots:
            break
        container, key = draw(st.sampled_from(slots))
        operation = draw(st.sampled_from(["delete", "retype", "reference", "duplicate", "rename", "nest", "swap"]))
        if operation == "delete":
            del container[key]
        elif operation == "retype":
            container[key] = draw(structures)
        elif operation == "reference":
            container[key] = draw(st.sampled_from(REFERENCES))
        elif operation == "duplicate" and isinstance(container, list):
            container.insert(key, copy.deepcopy(container[key]))  # duplicate ids, keys, codes, phrases
        elif operation == "rename" and isinstance(container, dict):
            container[draw(st.sampled_from([*REFERENCES, "type", "next", "code", "nodes"]))] = container.pop(key)
        elif operation == "nest":
            container[key] = _nested(draw(st.integers(1, 60)), container[key], draw(st.booleans()))
        elif operation == "swap":
            other_container, other_key = draw(st.sampled_from(slots))
            container[key] = copy.deepcopy(other_container[other_key]) if other_container is not container or \
                other_key != key else container[key]
    return data


def _dump(data: Any, style: str) -> str:
    if style == "json":
        return json.dumps(data, ensure_ascii=False, indent=1)
    out = io.StringIO()
    yaml = YAML(typ="safe", pure=True)
    yaml.default_flow_style = style == "flow"
    yaml.dump(data, out)
    return out.getvalue()


@st.composite
def documents(draw: st.DrawFn, original: Any) -> str:
    """A mutated document written as block YAML, flow YAML or JSON."""
    return _dump(draw(mutated(original)), draw(st.sampled_from(["block", "flow", "json"])))


SNIPPETS = ["&a ", "*a", "<<: *a", "? ", "!!python/object:os.system ", "!!binary ", "\t", "- ", ": ", "{", "}", "[",
            "]", "'", '"', "---\n", "...\n", "%YAML 1.1\n", "#", "|", ">-", "\x00", "\ufeff", "\u2028", "\x85",
            "0x_", "1e99999", ".nan", "~", "[" * 40, "{a: " * 40, "- " * 40, "0b12", "!!int 9" + "9" * 5000]


@st.composite
def edited(draw: st.DrawFn, text: str) -> str:
    """The text with one to four line- or character-level edits."""
    lines = text.splitlines(keepends=True)
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, max(0, len(lines) - 1)))
        edit = draw(st.sampled_from(["delete", "duplicate", "insert", "snippet", "truncate", "indent", "char"]))
        if not lines:
            lines = [draw(st.text(max_size=30))]
        elif edit == "delete":
            del lines[at]
        elif edit == "duplicate":
            lines.insert(at, lines[at])
        elif edit == "insert":
            lines.insert(at, draw(st.text(max_size=40)) + "\n")
        elif edit == "snippet":
            line = lines[at]
            cut = draw(st.integers(0, len(line)))
            lines[at] = line[:cut] + draw(st.sampled_from(SNIPPETS)) + line[cut:]
        elif edit == "truncate":
            lines = lines[:at] + [lines[at][: draw(st.integers(0, len(lines[at])))]]
        elif edit == "indent":
            lines[at] = draw(st.sampled_from([" ", "  ", "\t", ""])) + lines[at].lstrip(" ")
        else:
            line = lines[at]
            cut = draw(st.integers(0, len(line)))
            lines[at] = line[:cut] + draw(st.characters()) + line[cut + 1:]
    return "".join(lines)


def _check_problems(problems: list[ConfigProblem], files: set[str], texts: dict[str, str]) -> None:
    assert problems
    for problem in problems:
        assert problem.file in files, problem
        assert isinstance(problem.message, str) and problem.message.strip(), problem
        assert isinstance(problem.path, str), problem
        size = len(texts.get(problem.file, "").splitlines()) + 1
        assert problem.line is None or 1 <= problem.line <= size, (problem, size)
        assert str(problem).startswith(problem.file)


def _parse_menu(text: str | bytes) -> Menu | None:
    began = time.monotonic()
    try:
        return parse_menu(text, "menus/main.yaml", categories=CATEGORY_CODES)
    except MenuError as error:
        decoded = text.decode("utf-8", "replace") if isinstance(text, bytes) else text
        _check_problems(error.problems, {"menus/main.yaml"}, {"menus/main.yaml": decoded})
        assert "menus/main.yaml" in str(error)
        return None
    finally:
        assert time.monotonic() - began < SLOW_S


@given(st.one_of(st.text(), st.binary(), st.text(alphabet=st.sampled_from(" \n\t-:[]{}&*!?|>'\"#%@`,ab1"))))
def test_random_text_is_a_menu_or_a_menu_error(text: str | bytes) -> None:
    _parse_menu(text)


@given(st.one_of(structures, st.dictionaries(st.sampled_from(["name", "start", "voice", "defaults", "nodes"]),
                                             structures)),
       st.sampled_from(["block", "flow", "json"]))
def test_random_structures_are_a_menu_or_a_menu_error(data: Any, style: str) -> None:
    _parse_menu(_dump(data, style))


@given(st.one_of(documents(MENU_DATA), edited(MENU_TEXT)))
def test_broken_copies_of_the_real_menu_are_a_menu_or_a_menu_error(text: str) -> None:
    menu = _parse_menu(text)
    assert menu is None or menu.node(menu.start) is not None


def _load_catalog(directory: Path, categories: str, units: str) -> Catalog | None:
    (directory / "categories.yaml").write_text(categories, encoding="utf-8", errors="surrogatepass")
    (directory / "units.yaml").write_text(units, encoding="utf-8", errors="surrogatepass")
    began = time.monotonic()
    try:
        catalog = load_catalog(directory)
    except CatalogError as error:
        names = {str(directory / "categories.yaml"), str(directory / "units.yaml")}
        _check_problems(error.problems, names, {str(directory / "categories.yaml"): categories,
                                                str(directory / "units.yaml"): units})
        return None
    finally:
        assert time.monotonic() - began < SLOW_S
    assert catalog.categories and catalog.units
    return catalog


SOME_CATEGORIES_TEXT = _dump(SOME_CATEGORIES, "block")


@settings(max_examples=scaled(60))
@given(st.one_of(documents(SOME_CATEGORIES), edited(SOME_CATEGORIES_TEXT), st.text()),
       st.one_of(st.just(UNITS_TEXT), documents(UNITS_DATA), edited(UNITS_TEXT)))
def test_broken_catalogs_are_a_catalog_or_a_catalog_error(tmp_path: Path, categories: str, units: str) -> None:
    _load_catalog(tmp_path, categories, units)


@settings(max_examples=scaled(15))
@given(edited(CATEGORIES_TEXT))
def test_edits_of_the_whole_categories_file_are_a_catalog_or_a_catalog_error(tmp_path: Path, categories: str) -> None:
    _load_catalog(tmp_path, categories, UNITS_TEXT)


LIVE_TEXTS = {MENU_FILE: MENU_TEXT, "units.yaml": UNITS_TEXT, "categories.yaml": CATEGORIES_TEXT}
CONFIG = ConfigService(None, ConfigFiles(DEFAULT_MENU_DIR, PACKAGE_DIR), clock=lambda: None)  # type: ignore[arg-type]
SUBMISSIONS = {
    MENU_FILE: st.one_of(documents(MENU_DATA), edited(MENU_TEXT), st.text()),
    "units.yaml": st.one_of(documents(UNITS_DATA), edited(UNITS_TEXT), st.text()),
    "categories.yaml": st.one_of(edited(SOME_CATEGORIES_TEXT), st.text()),
}


@settings(max_examples=scaled(60))
@given(st.sampled_from(FILES).flatmap(lambda file: st.tuples(st.just(file), SUBMISSIONS[file])),
       st.sampled_from(["\n", "\r\n", "\r"]))
def test_the_console_check_reports_problems_and_never_raises(submission: tuple[str, str], newline: str) -> None:
    file, content = submission
    checked = CONFIG.check(file, content.replace("\n", newline))
    if checked.ok:
        assert checked.catalog is not None
        return
    _check_problems(checked.problems, set(FILES), {**LIVE_TEXTS, file: content})
    assert all(isinstance(line, int) for line in checked.lines(file))


def test_text_that_cannot_be_utf8_is_a_problem_on_its_line() -> None:
    """Found by the long fuzzing run: a lone surrogate raised UnicodeEncodeError out of the check."""
    broken = MENU_TEXT.replace("welcome:", "welcome\ud800:", 1)
    [problem] = CONFIG.check(MENU_FILE, broken).problems
    assert problem.line == broken[:broken.index("\ud800")].count("\n") + 1 and "U+D800" in problem.message


def test_the_real_files_load() -> None:
    assert _parse_menu(MENU_TEXT) is not None
    assert CONFIG.check(MENU_FILE, MENU_TEXT).ok


def test_config_error_is_the_documented_type() -> None:
    assert issubclass(MenuError, ConfigError) and issubclass(CatalogError, ConfigError)
