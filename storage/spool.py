"""A durable on-disk spool for webhook payloads that could not reach the database.

Each entry is one JSON file, written to a temporary name, fsynced and renamed into
place, so an entry is either wholly there or absent, even if the process dies.
Replaying claims an entry by renaming it first, so two processes never apply the
same entry at once; the handlers it feeds are idempotent, so a crash mid-replay is safe.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

_SUFFIX = ".json"
_CLAIMED = ".claimed"
ABANDONED_AFTER_S = 300


@dataclass(frozen=True)
class SpoolEntry:
    """One spooled webhook: its kind (voice, gather, record, status, ...) and form parameters."""

    kind: str
    params: dict[str, str]
    query: dict[str, str]
    received_at: str
    path: Path


class Spool:
    """A directory of spooled entries, oldest first by name."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def append(self, kind: str, params: dict[str, str], query: dict[str, str], now: datetime) -> Path:
        """Write one entry durably; raises OSError if the disk refuses."""
        self.directory.mkdir(parents=True, exist_ok=True)
        name = f"{now.strftime('%Y%m%dT%H%M%S%fZ')}-{uuid.uuid4().hex}"
        body = json.dumps(
            {"kind": kind, "params": params, "query": query, "received_at": now.isoformat()},
            ensure_ascii=False,
        ).encode()
        tmp = self.directory / f".{name}.tmp"
        final = self.directory / f"{name}{_SUFFIX}"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, body)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, final)
        _fsync_dir(self.directory)
        return final

    def pending(self) -> int:
        """How many entries are not applied yet: waiting, or claimed by a replay still applying them.

        A claimed entry counts until its replay removes it (after the database committed it), so 0 means
        everything spooled is in the database; a claim left by a process that died counts too.
        """
        if not self.directory.is_dir():
            return 0
        return sum(1 for path in self.directory.iterdir() if path.name.endswith((_SUFFIX, _SUFFIX + _CLAIMED)))

    def replay(self, apply: Callable[[SpoolEntry], Any], *,
               expected: tuple[type[BaseException], ...] = ()) -> tuple[int, int]:
        """Feed entries oldest first to apply; remove each that succeeds. Returns (applied, failed).

        Stops at the first failure so that entries of one call are applied in order. A failure of an
        `expected` kind (the database still down) is logged in one line, anything else with its traceback.
        """
        applied = 0
        for entry in self._claim_all():
            try:
                apply(entry)
            except expected as error:
                log.warning("spool entry %s not applied yet (%s); it stays for the next replay",
                            entry.path.name, type(error).__name__)
                os.replace(entry.path, entry.path.with_suffix(""))
                return applied, 1
            except Exception:  # noqa: BLE001 - the entry must survive whatever went wrong
                log.exception("spool entry %s could not be applied; it stays for the next replay", entry.path.name)
                os.replace(entry.path, entry.path.with_suffix(""))
                return applied, 1
            entry.path.unlink()
            applied += 1
        return applied, 0

    def _claim_all(self) -> Iterator[SpoolEntry]:
        if not self.directory.is_dir():
            return
        self._recover_abandoned()
        for path in sorted(self.directory.glob(f"*{_SUFFIX}")):
            claimed = path.with_name(path.name + _CLAIMED)
            try:
                os.replace(path, claimed)
            except FileNotFoundError:
                continue  # another process claimed it
            os.utime(claimed)  # the claim's age, not the entry's, decides when it counts as abandoned
            data = json.loads(claimed.read_text())
            yield SpoolEntry(data["kind"], data["params"], data.get("query", {}), data["received_at"], claimed)


    def _recover_abandoned(self) -> None:
        # A process that died mid-replay leaves claimed entries behind: give them back.
        cutoff = time.time() - ABANDONED_AFTER_S
        for path in self.directory.glob(f"*{_CLAIMED}"):
            with contextlib.suppress(FileNotFoundError):
                if path.stat().st_mtime < cutoff:
                    os.replace(path, path.with_suffix(""))


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
