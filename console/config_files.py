"""The three YAML files admins edit: where they live, how a new text is checked, diffed and written.

A text is checked with the loaders the server itself uses, in a scratch directory holding the new
text beside the live copies of the other files, so the checks across files (menu categories, unit
kinds) see exactly what the server would load after a publish.
"""

from __future__ import annotations

import difflib
import hashlib
import os
import shutil
import tempfile
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path

from config.catalog import Catalog, CatalogError, load_catalog
from config.menu import MenuError, load_menus
from config.problems import ConfigProblem

MENU_FILE = "menus/main.yaml"
CATALOG_FILES = ("categories.yaml", "units.yaml")
FILES = (MENU_FILE, *CATALOG_FILES)
MAX_SUBMISSION_BYTES = 512 * 1024
"""The files are tens of kilobytes; a text this big is a mistake (or an attack), refused before parsing."""


class UnknownFile(LookupError):
    """Not one of the editable files (the console answers 404)."""


@dataclass(frozen=True)
class Checked:
    """What the server's loaders found in a text: every problem (file names relative, as in FILES)."""

    problems: list[ConfigProblem]
    catalog: Catalog | None = None
    """The catalog the files would load into, when they are all valid."""

    @property
    def ok(self) -> bool:
        return not self.problems

    def lines(self, file: str) -> dict[int, list[str]]:
        """Problem messages of file by line number."""
        found: dict[int, list[str]] = {}
        for problem in self.problems:
            if problem.file == file and problem.line is not None:
                found.setdefault(problem.line, []).append(problem.message)
        return found


@dataclass(frozen=True)
class DiffLine:
    """One line of a unified diff and its kind: head, hunk, add, del or same."""

    kind: str
    text: str


@dataclass(frozen=True)
class ConfigFiles:
    """Where the editable files live: the menu in menu_dir, the catalog in config_dir."""

    menu_dir: Path
    config_dir: Path
    menu_name: str = "main"

    def path(self, file: str) -> Path:
        """The path of an editable file; UnknownFile for any other name (no `..`, no absolute paths)."""
        if file not in FILES:
            raise UnknownFile(file)
        return self.menu_dir / Path(file).name if file == MENU_FILE else self.config_dir / file

    def read(self, file: str) -> str:
        """The text of the file on disk ("" when it is missing)."""
        try:
            return self.path(file).read_bytes().decode("utf-8-sig")
        except FileNotFoundError:
            return ""

    def sha256(self, file: str) -> str | None:
        """The hash of the file's bytes on disk; None when it is missing."""
        try:
            return hashlib.sha256(self.path(file).read_bytes()).hexdigest()
        except FileNotFoundError:
            return None

    def check(self, file: str, content: str) -> Checked:
        """Every problem the server would find if content replaced file."""
        self.path(file)
        try:
            data = content.encode("utf-8")
        except UnicodeEncodeError as error:  # a lone surrogate: only a program, never a browser, sends one
            line = len((content[:error.start] + "x").splitlines())
            return Checked([ConfigProblem(file, line, "", f"ký tự không hợp lệ (U+{ord(content[error.start]):04X}): "
                                                          "nội dung phải là văn bản UTF-8")])
        if len(data) > MAX_SUBMISSION_BYTES:
            message = (f"nội dung dài {len(data):,} byte, vượt giới hạn {MAX_SUBMISSION_BYTES:,} byte (512 KB); "
                       "không kiểm tra")
            return Checked([ConfigProblem(file, None, "", message)])
        with tempfile.TemporaryDirectory(prefix="hotline-config-") as scratch:
            root = Path(scratch)
            self._stage(root)
            (root / file).write_bytes(data)
            problems: list[ConfigProblem] = []
            catalog: Catalog | None = None
            try:
                catalog = load_catalog(root)
            except CatalogError as error:
                problems += error.problems
            try:
                menus = load_menus(root / "menus", categories=catalog.categories.keys() if catalog else None)
                if self.menu_name not in menus:
                    problems.append(ConfigProblem(str(root / MENU_FILE), None, "name",
                                                  f"no menu named {self.menu_name!r}"))
            except MenuError as error:
                problems += error.problems
            return Checked([_relative(problem, root) for problem in problems], None if problems else catalog)

    def _stage(self, root: Path) -> None:
        """Copy the live files into root, laid out as FILES name them."""
        (root / "menus").mkdir()
        for menu in sorted(self.menu_dir.glob("*.yaml")):
            shutil.copyfile(menu, root / "menus" / menu.name)
        for name in CATALOG_FILES:
            with suppress(FileNotFoundError):
                shutil.copyfile(self.config_dir / name, root / name)


def clean_text(text: str) -> str:
    """A submitted text with Unix line ends (browsers send CRLF from a textarea)."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


def diff_lines(live: str, edited: str) -> list[DiffLine]:
    """The unified diff from the live text to the edited one; empty when they are the same."""
    lines = difflib.unified_diff(live.splitlines(), edited.splitlines(), "đang chạy", "bản sửa", lineterm="")
    return [DiffLine(_diff_kind(line), line) for line in lines]


def _diff_kind(line: str) -> str:
    if line.startswith(("---", "+++")):
        return "head"
    return {"@": "hunk", "+": "add", "-": "del"}.get(line[:1], "same")


def write_atomic(path: Path, data: bytes) -> None:
    """Replace path with data: readers see the old file or the new one, never a part of it."""
    mode = path.stat().st_mode & 0o777 if path.exists() else 0o644
    # The temporary name does not end in .yaml, so the menu registry never loads it.
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temp, mode)
        os.replace(temp, path)
    except BaseException:
        with suppress(FileNotFoundError):
            os.unlink(temp)
        raise
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)  # the rename itself survives a crash
    finally:
        os.close(directory)


def _relative(problem: ConfigProblem, root: Path) -> ConfigProblem:
    """The problem with its scratch path replaced by the file's name as FILES give it."""
    try:
        name = Path(problem.file).relative_to(root).as_posix()
    except ValueError:
        return problem
    return ConfigProblem(name, problem.line, problem.path, problem.message)
