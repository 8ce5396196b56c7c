"""Copy call recordings from the carrier into our own recordings directory."""

from __future__ import annotations

import contextvars
import logging
import os
import re
from collections.abc import Callable
from concurrent.futures import Executor, Future
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit

import requests
from sqlalchemy.orm import Session, sessionmaker

from storage import recordings as recording_store
from storage.models import Recording

log = logging.getLogger(__name__)

_SAFE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
MAX_BYTES = 200 * 1024 * 1024


class RecordingFetcher:
    """Downloads recordings with the account's credentials; failures stay pending for a retry."""

    def __init__(self, sessions: sessionmaker[Session], directory: Path, account_sid: str | None,
                 auth_token: str | None, clock: Callable[[], datetime], executor: Executor | None = None,
                 timeout_s: float = 30.0, on_stored: Callable[[int], object] | None = None) -> None:
        self.sessions = sessions
        self.directory = directory
        self.auth = (account_sid, auth_token) if account_sid and auth_token else None
        self.clock = clock
        self.executor = executor
        self.timeout_s = timeout_s
        self.on_stored = on_stored  # told our recording id once its copy is committed (e.g. to transcribe it)

    def submit(self, recording_id: int) -> Future[bool] | None:
        """Fetch in the background when an executor is set, else at once."""
        if self.executor is None:
            self.fetch(recording_id)
            return None
        # In a copy of this context: the fetch's log lines carry the call id of the webhook that asked.
        return self.executor.submit(contextvars.copy_context().run, self.fetch, recording_id)

    def fetch(self, recording_id: int) -> bool:
        """Download one recording by our id; True when it is stored locally."""
        with self.sessions.begin() as session:
            rec = session.get(Recording, recording_id)
            if rec is None or rec.status == "stored":
                return rec is not None
            try:
                path = self._download(rec)
            except (requests.RequestException, OSError, ValueError) as error:
                log.warning("recording %s not fetched yet: %s", rec.sid, error)
                recording_store.mark_failed(session, rec, str(error)[:500], self.clock())
                return False
            recording_store.mark_stored(session, rec, str(path), self.clock())
        if self.on_stored is not None:  # after the commit, so that it sees the stored row
            self.on_stored(recording_id)
        return True

    def fetch_pending(self, limit: int = 100) -> tuple[int, int]:
        """Retry every recording not stored yet; returns (stored, still missing)."""
        with self.sessions() as session:
            ids = [rec.id for rec in recording_store.pending_recordings(session, limit=limit)]
        stored = sum(1 for rec_id in ids if self.fetch(rec_id))
        return stored, len(ids) - stored

    def _download(self, rec: Recording) -> Path:
        if not rec.remote_url or urlsplit(rec.remote_url).scheme not in ("http", "https"):
            raise ValueError(f"no usable recording URL: {rec.remote_url!r}")
        call_sid = rec.call.sid
        if not _SAFE.match(rec.sid) or not _SAFE.match(call_sid):
            raise ValueError(f"unsafe identifier in recording {rec.sid!r} of call {call_sid!r}")
        target = self.directory / call_sid / f"{rec.sid}.wav"
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(".part")
        with requests.get(rec.remote_url + ".wav", auth=self.auth, timeout=self.timeout_s, stream=True) as reply:
            reply.raise_for_status()
            written = 0
            with open(tmp, "wb") as out:
                for chunk in reply.iter_content(64 * 1024):
                    written += len(chunk)
                    if written > MAX_BYTES:
                        raise ValueError("recording larger than the size limit")
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
        os.replace(tmp, target)
        return target
