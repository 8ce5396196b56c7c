"""The catalog a server runs: categories.yaml and units.yaml, reloaded when they change.

Like the menu registry: the files are checked at most every check_every_s, a broken edit keeps the
last good catalog, and whatever is built from a catalog (the classifier, the router) is rebuilt with it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar

from config.catalog import Catalog, CatalogError, load_catalog

log = logging.getLogger(__name__)

T = TypeVar("T")
CATALOG_FILES = ("categories.yaml", "units.yaml")


@dataclass(frozen=True)
class Edition(Generic[T]):
    """One loaded catalog and what was built from it, always used together."""

    catalog: Catalog
    built: T


class CatalogRegistry(Generic[T]):
    """Holds the live catalog and build(catalog); reloads when the files change, keeps the last good one."""

    def __init__(self, directory: Path, build: Callable[[Catalog], T], check_every_s: float = 2.0) -> None:
        self.directory = directory
        self.build = build
        self.check_every_s = check_every_s
        self._lock = threading.Lock()
        self._live: Edition[T] | None = None
        self._stamp: tuple[tuple[str, int, int], ...] = ()
        self._checked_at = 0.0

    def load(self) -> Edition[T]:
        """Load the catalog now and build from it; raises CatalogError when the files are invalid."""
        stamp = self._file_stamp()
        catalog = load_catalog(self.directory)
        edition = Edition(catalog, self.build(catalog))
        with self._lock:
            self._live, self._stamp, self._checked_at = edition, stamp, time.monotonic()
        return edition

    def current(self) -> Edition[T]:
        """The live edition, reloaded first if the files changed; a broken edit keeps the last good one."""
        live = self._live
        if live is None:
            return self.load()
        if time.monotonic() - self._checked_at >= self.check_every_s:
            self._checked_at = time.monotonic()
            if self._file_stamp() != self._stamp:
                try:
                    live = self.load()
                    log.info("catalog reloaded from %s", self.directory)
                except CatalogError as error:
                    self._stamp = self._file_stamp()  # report a broken edit once, not on every call
                    log.error("catalog files changed but are invalid; keeping the running catalog:\n%s", error)
        return self._live or live

    def category_codes(self) -> Collection[str]:
        """The category codes of whichever catalog is live when asked (for the menu checks)."""
        return _CategoryCodes(self)

    def _file_stamp(self) -> tuple[tuple[str, int, int], ...]:
        stamps = []
        for name in CATALOG_FILES:
            try:
                stat = (self.directory / name).stat()
            except OSError:
                stamps.append((name, -1, -1))
                continue
            stamps.append((name, stat.st_mtime_ns, stat.st_size))
        return tuple(stamps)


class _CategoryCodes(Collection[str]):
    """A live view of the registry's category codes."""

    def __init__(self, registry: CatalogRegistry[Any]) -> None:
        self.registry = registry

    def __contains__(self, code: object) -> bool:
        return code in self.registry.current().catalog.categories

    def __iter__(self) -> Iterator[str]:
        return iter(list(self.registry.current().catalog.categories))

    def __len__(self) -> int:
        return len(self.registry.current().catalog.categories)
