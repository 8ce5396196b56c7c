"""Publishing the admin-edited YAML files: check, store, write, make live; and follow other nodes.

The database is the source of truth. A publish checks the text with the server's loaders, stores the
version and the publication (and, for units and categories, the units table) in one transaction,
then writes the file atomically and tells the running server (on_change). Every node runs
sync_from_database() at most every check_every_s: where the latest publication of a file differs
from the file on its disk, it writes the published text and tells its server, so nodes converge.
The web console and the `hotline config` commands both call this module and nothing else.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from config.catalog import Catalog
from config.problems import ConfigProblem
from console.config_files import MENU_FILE, Checked, ConfigFiles, DiffLine, clean_text, diff_lines, write_atomic
from storage import audit
from storage import config_versions as store
from storage.models import ConfigPublication, ConfigVersion

log = logging.getLogger(__name__)

SYNC_ORDER = ("categories.yaml", "units.yaml", MENU_FILE)
"""Catalog first: a new menu may use a category that the new catalog brings."""


class PublishRefused(Exception):
    """Nothing was published; message says why (in Vietnamese), problems lists what the loaders found."""

    def __init__(self, message: str, problems: list[ConfigProblem] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.problems = problems or []


class UnknownVersion(LookupError):
    """No stored version with this id for this file."""


@dataclass(frozen=True)
class Publication:
    """A publication as views and commands show it."""

    id: int
    file: str
    version_id: int
    sha256: str
    author: str
    comment: str | None
    at: datetime

    @classmethod
    def of(cls, row: ConfigPublication) -> Publication:
        return cls(row.id, row.file, row.version_id, row.version.sha256, row.author, row.comment, row.at)


@dataclass(frozen=True)
class Version:
    """A stored text of a file."""

    id: int
    file: str
    sha256: str
    content: str
    author: str
    comment: str | None
    created_at: datetime

    @classmethod
    def of(cls, row: ConfigVersion) -> Version:
        return cls(row.id, row.file, row.sha256, row.content, row.author, row.comment, row.created_at)


@dataclass(frozen=True)
class LiveFile:
    """A file as this node runs it: the hash on disk and the latest publication, if any."""

    file: str
    sha256: str | None
    publication: Publication | None

    @property
    def in_sync(self) -> bool:
        """False while the disk still holds another text than the latest publication."""
        return self.publication is None or self.publication.sha256 == self.sha256


StoreUnits = Callable[[Session, Catalog], None]


class ConfigService:
    """Checks, diffs, publishes and rolls back the editable files, and syncs them from the database."""

    def __init__(self, sessions: sessionmaker[Session], files: ConfigFiles, clock: Callable[[], datetime], *,
                 on_change: Callable[[str], None] = lambda file: None, store_units: StoreUnits | None = None,
                 check_every_s: float = 2.0) -> None:
        self.sessions = sessions
        self.files = files
        self.clock = clock
        self.on_change = on_change
        self.store_units = store_units
        self.check_every_s = check_every_s
        self._writing = threading.Lock()  # a publish and a sync in this process never interleave
        self._synced_at = float("-inf")

    def check(self, file: str, content: str) -> Checked:
        """Every problem the server's loaders find if content replaced file."""
        return self.files.check(file, clean_text(content))

    def diff(self, file: str, content: str) -> list[DiffLine]:
        """The unified diff from the file this node runs to content."""
        return diff_lines(self.files.read(file), clean_text(content))

    def live(self, file: str) -> LiveFile:
        """The file as this node runs it."""
        sha256 = self.files.sha256(file)
        with self.sessions() as db:
            row = store.live_publication(db, file)
            return LiveFile(file, sha256, Publication.of(row) if row else None)

    def versions(self, file: str) -> list[Publication]:
        """Every publication of file, newest first."""
        self.files.path(file)
        with self.sessions() as db:
            return [Publication.of(row) for row in store.history(db, file)]

    def version(self, file: str, version_id: int) -> Version:
        """A stored text of file; UnknownVersion when there is none with this id."""
        self.files.path(file)
        with self.sessions() as db:
            row = store.get_version(db, version_id)
            if row is None or row.file != file:
                raise UnknownVersion(version_id)
            return Version.of(row)

    def publish(self, file: str, content: str, *, author: str, comment: str,
                remote_addr: str | None = None) -> Publication:
        """Check content and make it the live file everywhere; PublishRefused changes nothing."""
        if not comment.strip():
            raise PublishRefused("Cần ghi chú cho lần xuất bản (sửa gì, vì sao).")
        return self._make_live(file, clean_text(content), author=author, comment=comment.strip(),
                               action="config.publish", remote_addr=remote_addr)

    def rollback(self, file: str, version_id: int, *, author: str, reason: str | None = None,
                 remote_addr: str | None = None) -> Publication:
        """Publish a stored version again (checked first, as any publish)."""
        version = self.version(file, version_id)
        comment = f"Khôi phục phiên bản {version.id} ({version.sha256[:12]})"
        if reason and reason.strip():
            comment += f": {reason.strip()}"
        return self._make_live(file, version.content, author=author, comment=comment, action="config.rollback",
                               remote_addr=remote_addr)

    def _make_live(self, file: str, content: str, *, author: str, comment: str, action: str,
                   remote_addr: str | None) -> Publication:
        checked = self.files.check(file, content)
        if not checked.ok:
            raise PublishRefused("Nội dung có lỗi nên chưa được xuất bản; bản đang chạy giữ nguyên.",
                                 checked.problems)
        sha256 = store.sha256_of(content)
        with self._writing:
            live = self.live(file)
            if live.publication is not None and live.publication.sha256 == sha256 == live.sha256:
                raise PublishRefused("Nội dung giống hệt bản đang chạy; không có gì để xuất bản.")
            now = self.clock()
            with self.sessions.begin() as db:
                version = store.record_version(db, file, content, author, comment, now)
                row = store.publish(db, file, version, author, comment, now)
                if file != MENU_FILE and self.store_units is not None and checked.catalog is not None:
                    self.store_units(db, checked.catalog)  # before any node can route to a new unit
                audit.record(db, actor=author, action=action, now=now, target_type="config", target_id=file,
                             detail={"publication_id": row.id, "version_id": version.id, "sha256": sha256,
                                     "comment": comment}, remote_addr=remote_addr)
                publication = Publication.of(row)
            # Written after the commit: until then another node would see this text on no database.
            write_atomic(self.files.path(file), content.encode("utf-8"))
        self._changed(file)
        return publication

    def sync_from_database(self, force: bool = False) -> list[str]:
        """Write the files whose latest publication differs from the disk (at most every check_every_s).

        Returns the files written. Never raises for a database outage: the node keeps what it runs.
        """
        started = time.monotonic()
        if not force and started - self._synced_at < self.check_every_s:
            return []
        self._synced_at = started
        written: list[str] = []
        with self._writing:
            try:
                with self.sessions() as db:
                    live = store.live_hashes(db)
                    stale = {file: live[file][0] for file in SYNC_ORDER
                             if file in live and live[file][1] != self.files.sha256(file)}
                    texts = {file: store.get_version(db, version_id) for file, version_id in stale.items()}
                    contents = {file: row.content for file, row in texts.items() if row is not None}
            except SQLAlchemyError as error:
                log.warning("published config not checked against the database: %s", str(error).splitlines()[0])
                return []
            for file, content in contents.items():
                try:
                    write_atomic(self.files.path(file), content.encode("utf-8"))
                except OSError as error:
                    log.error("cannot write the published %s: %s", file, error)
                    continue
                log.info("%s: wrote the version published on another node", file)
                written.append(file)
        for file in written:
            self._changed(file)
        return written

    def _changed(self, file: str) -> None:
        try:
            self.on_change(file)
        except Exception:  # the file is written and the registries will notice it; a publish stays done
            log.exception("%s written, but the running server was not told", file)
