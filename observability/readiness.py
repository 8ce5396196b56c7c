"""Whether this server can take calls now: the database answers, speech is loaded (when wanted), the config loads.

Each check says in plain words what is wrong; none waits more than a couple of seconds, whatever
state the database is in (a probe that hangs is left running and reported, never waited on twice).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from config.catalog import Catalog
from config.menu import Menu, parse_menu
from config.problems import ConfigError
from speech.service import SpeechService, SpeechStatus

DATABASE_TIMEOUT_S = 2.0


@dataclass(frozen=True)
class Check:
    """One readiness check: ok, or why not."""

    ok: bool
    detail: str

    def as_dict(self) -> dict[str, object]:
        return {"ok": self.ok, "detail": self.detail}


class DatabaseProbe:
    """SELECT 1 on a thread of its own, waited on for at most timeout_s."""

    def __init__(self, sessions: sessionmaker[Session], timeout_s: float = DATABASE_TIMEOUT_S) -> None:
        self.sessions = sessions
        self.timeout_s = timeout_s
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="hotline-readiness")
        self._lock = threading.Lock()
        self._running: Future[None] | None = None

    def check(self) -> Check:
        with self._lock:
            if self._running is None or self._running.done():
                self._running = self._executor.submit(self._select_one)
            running = self._running
        try:
            running.result(timeout=self.timeout_s)
        except TimeoutError:
            return Check(False, f"the database did not answer SELECT 1 within {self.timeout_s:g} s")
        except SQLAlchemyError as error:
            return Check(False, f"the database refused SELECT 1: {type(error).__name__}")
        return Check(True, "the database answers")

    def _select_one(self) -> None:
        with self.sessions() as session:
            session.execute(text("SELECT 1"))


def speech_check(wanted: bool, status: SpeechStatus | None) -> Check:
    """wanted: speech is enabled and a model is configured; then it must have loaded."""
    if not wanted or status is None:
        return Check(True, "speech is not required (turned off or no model configured)")
    if status.ready:
        return Check(True, f"the speech model is loaded ({status.in_use} of {status.limit} recognisers in use)")
    if status.error:
        return Check(False, f"the speech model could not be loaded: {status.error}")
    return Check(False, "the speech model is still loading")


class ConfigCheck:
    """The live menu loads against the live catalog's categories (checked again only when either changes)."""

    def __init__(self, menu: Callable[[], Menu], catalog: Callable[[], Catalog]) -> None:
        self.menu = menu
        self.catalog = catalog
        self._passed: tuple[str, int] | None = None

    def check(self) -> Check:
        try:
            menu, catalog = self.menu(), self.catalog()
            key = (menu.version, id(catalog))
            if key != self._passed:
                parse_menu(menu.source, source_name="the live menu", categories=catalog.categories.keys())
                self._passed = key
        except ConfigError as error:
            return Check(False, f"the live menu or catalog does not load: {str(error).splitlines()[0]}")
        return Check(True, f"menu version {menu.version[:12]} and the catalog load")


def readiness_checks(sessions: sessionmaker[Session], menu: Callable[[], Menu], catalog: Callable[[], Catalog],
                     speech: Callable[[], SpeechService | None]) -> Callable[[], dict[str, Check]]:
    """The checks of /readyz: database, speech (when a model is configured), live menu and catalog."""
    database = DatabaseProbe(sessions)
    config = ConfigCheck(menu, catalog)

    def checks() -> dict[str, Check]:
        service = speech()
        wanted = service is not None and service.model_path is not None and service.limit > 0
        return {"database": database.check(),
                "speech": speech_check(wanted, service.status() if service is not None else None),
                "config": config.check()}

    return checks
