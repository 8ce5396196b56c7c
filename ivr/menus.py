"""The menus a server runs: the live version from config/menus, and earlier versions for calls in progress."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Collection
from datetime import datetime
from pathlib import Path

from sqlalchemy.orm import Session

from config.menu import Menu, MenuError, load_menus, parse_menu
from storage import menus as menu_store

log = logging.getLogger(__name__)


class MenuRegistry:
    """Holds the live menu, reloads it when its files change, and keeps the last good one on errors."""

    def __init__(self, directory: Path, clock: Callable[[], datetime], name: str = "main",
                 check_every_s: float = 2.0, categories: Collection[str] | None = None) -> None:
        self.directory = directory
        self.categories = categories
        self.name = name
        self.clock = clock
        self.check_every_s = check_every_s
        self._lock = threading.Lock()
        self._live: Menu | None = None
        self._stamp: tuple[tuple[str, float, int], ...] = ()
        self._checked_at = 0.0
        self._by_id: dict[int, Menu] = {}

    def load(self) -> Menu:
        """Load the live menu now; raises MenuError when the files are invalid."""
        stamp = self._file_stamp()
        menus = load_menus(self.directory, categories=self.categories)
        if self.name not in menus:
            raise MenuError.single(self.directory / f"{self.name}.yaml", f"no menu named {self.name!r}")
        with self._lock:
            self._live, self._stamp, self._checked_at = menus[self.name], stamp, time.monotonic()
        return menus[self.name]

    def current(self) -> Menu:
        """The live menu, reloaded first if its files changed; a broken edit keeps the last good menu."""
        if self._live is None:
            return self.load()
        if time.monotonic() - self._checked_at >= self.check_every_s:
            self._checked_at = time.monotonic()
            if self._file_stamp() != self._stamp:
                try:
                    self.load()
                    log.info("menu %s reloaded: version %s", self.name, self._live.version[:12])
                except MenuError as error:
                    self._stamp = self._file_stamp()  # report a broken edit once, not on every call
                    log.error("menu files changed but are invalid; keeping version %s:\n%s",
                              self._live.version[:12], error)
        return self._live

    def live(self, session: Session) -> tuple[Menu, int]:
        """The live menu and its stored version id (recorded on first use)."""
        menu = self.current()
        # Looked up every time (one indexed SELECT): a cached id could outlive a rolled-back insert.
        row = menu_store.record_menu_version(session, name=self.name, sha256=menu.version, content=menu.source,
                                             author="system", comment="loaded from files", now=self.clock())
        self._by_id.setdefault(row.id, menu)
        return menu, row.id

    def by_version(self, session: Session, version_id: int | None) -> Menu:
        """The menu a call started with, so calls in progress finish on their own version."""
        if version_id is None:
            return self.current()
        menu = self._by_id.get(version_id)
        if menu is None:
            row = menu_store.get_menu_version(session, version_id)
            if row is None:
                return self.current()
            menu = parse_menu(row.content, source_name=f"menu version {version_id}", categories=self.categories)
            self._by_id[version_id] = menu
        return menu

    def _file_stamp(self) -> tuple[tuple[str, float, int], ...]:
        files = sorted(self.directory.glob("*.yaml"))
        return tuple((f.name, f.stat().st_mtime, f.stat().st_size) for f in files)
