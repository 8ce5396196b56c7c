"""Helpers for the config editor tests: private copies of the YAML files, forms, and reading pages back."""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

from flask.testing import FlaskClient
from werkzeug.test import TestResponse, encode_multipart

from config.settings import DEFAULT_MENU_DIR, PACKAGE_DIR, Settings

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def copy_config(root: Path) -> tuple[Path, Path]:
    """Copies of config/menus and of categories.yaml and units.yaml under root: (menu_dir, config_dir)."""
    config_dir = root / "config"
    config_dir.mkdir(parents=True)
    for name in ("categories.yaml", "units.yaml"):
        shutil.copyfile(PACKAGE_DIR / name, config_dir / name)
    menu_dir = config_dir / "menus"
    shutil.copytree(DEFAULT_MENU_DIR, menu_dir)
    return menu_dir, config_dir


def config_settings(db_url: str, root: Path) -> Settings:
    """Settings of an app that runs its own copies of the YAML files (never the repository's)."""
    menu_dir, config_dir = copy_config(root)
    return Settings(data_dir=root / "var", database_url=db_url, twilio_auth_token="t", speech=False,
                    menu_dir=menu_dir, config_dir=config_dir)


def token(client: FlaskClient, path: str = "/admin/config") -> str:
    """The CSRF token of the logged-in session (from a page's form)."""
    match = _CSRF.search(client.get(path).get_data(as_text=True))
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def submit(client: FlaskClient, file: str, content: str, action: str, comment: str = "",
           csrf: str | None = None) -> TestResponse:
    """Post the editor form as a browser does (multipart, with the session's CSRF token)."""
    form = {"content": content, "action": action, "comment": comment}
    form["csrf_token"] = csrf if csrf is not None else token(client)
    # Encoded here, in memory: the test client spools big bodies to a temporary file it never closes.
    boundary, body = encode_multipart(form)
    return client.post(f"/admin/config/{file}", data=body, content_type=f"multipart/form-data; boundary={boundary}")


def edited(text: str, old: str, new: str) -> str:
    """text with old (which must be there) replaced once by new."""
    assert old in text, old
    return text.replace(old, new, 1)


def line_of(text: str, needle: str) -> int:
    """The 1-based line number of the first line containing needle."""
    for number, line in enumerate(text.splitlines(), 1):
        if needle in line:
            return number
    raise AssertionError(f"{needle!r} not in text")


@dataclass
class Page:
    """What a console page shows that the tests check, read from its HTML."""

    problems: list[str] = field(default_factory=list)
    marked: dict[int, str] = field(default_factory=dict)
    diff: list[tuple[str, str]] = field(default_factory=list)
    flashes: list[tuple[str, str]] = field(default_factory=list)
    textarea: str | None = None
    cells: list[list[str]] = field(default_factory=list)
    forms: list[str] = field(default_factory=list)


class _Reader(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.page = Page()
        self._in: tuple[str, str] | None = None  # (what, extra) being collected
        self._text = ""
        self._problems = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        classes = (found.get("class") or "").split()
        if tag == "ul" and "problems" in classes:
            self._problems = True
        elif tag == "li" and self._problems:
            self._start("problem")
        elif tag == "mark" and "bad" in classes:
            self._start("mark", found.get("title") or "")
        elif tag == "div" and classes and classes[0] in ("head", "hunk", "add", "del", "same"):
            self._start("diff", classes[0])
        elif tag == "p" and "flash" in classes:
            self._start("flash", next(c for c in classes if c != "flash") if len(classes) > 1 else "")
        elif tag == "textarea":
            self._start("textarea")
        elif tag == "tr":
            self.page.cells.append([])
        elif tag == "td":
            self._start("td")
        elif tag == "form":
            self.page.forms.append(found.get("action") or "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "ul":
            self._problems = False
        if self._in is None:
            return
        what, extra = self._in
        closing = {"problem": "li", "mark": "mark", "diff": "div", "flash": "p", "textarea": "textarea", "td": "td"}
        if closing[what] != tag:
            return
        text = self._text
        if what == "problem":
            self.page.problems.append(text.strip())
        elif what == "mark":
            self.page.marked[int(text)] = extra
        elif what == "diff":
            self.page.diff.append((extra, text))
        elif what == "flash":
            self.page.flashes.append((extra, text.strip()))
        elif what == "textarea":
            self.page.textarea = text[1:] if text.startswith("\n") else text  # as a browser drops it
        elif what == "td":
            self.page.cells[-1].append(" ".join(text.split()))
        self._in = None

    def handle_data(self, data: str) -> None:
        if self._in is not None:
            self._text += data

    def _start(self, what: str, extra: str = "") -> None:
        if self._in is None:
            self._in, self._text = (what, extra), ""


def read_page(response: TestResponse) -> Page:
    """Parse a console page into the parts the tests look at."""
    reader = _Reader()
    reader.feed(response.get_data(as_text=True))
    reader.close()
    return reader.page
