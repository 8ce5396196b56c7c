"""Texts of the admin-edited YAML files and their publications; functions never commit.

The latest publication of a file (by time, then id) is its live version, on every node.
"""

from __future__ import annotations

import hashlib
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session, joinedload

from storage.db import add_or_get
from storage.models import ConfigPublication, ConfigVersion


def sha256_of(content: str) -> str:
    """The hash a version is stored under: sha256 of the UTF-8 bytes written to disk."""
    return hashlib.sha256(content.encode("utf-8")).hexdigest()


def record_version(session: Session, file: str, content: str, author: str, comment: str | None,
                   now: datetime) -> ConfigVersion:
    """Store a text of file under its hash; the same file and text again returns the stored row."""
    sha256 = sha256_of(content)
    version = ConfigVersion(file=file, sha256=sha256, content=content, author=author, comment=comment,
                            created_at=now)
    found, _created = add_or_get(session, version, lambda: _by_hash(session, file, sha256))
    return found


def _by_hash(session: Session, file: str, sha256: str) -> ConfigVersion | None:
    query = select(ConfigVersion).where(ConfigVersion.file == file, ConfigVersion.sha256 == sha256)
    return session.scalars(query).one_or_none()


def publish(session: Session, file: str, version: ConfigVersion, author: str, comment: str | None,
            now: datetime) -> ConfigPublication:
    """Make version the live text of file (a publish or a rollback)."""
    if version.file != file:
        raise ValueError(f"version {version.id} is a version of {version.file}, not of {file}")
    publication = ConfigPublication(file=file, version_id=version.id, author=author, comment=comment, at=now,
                                    version=version)
    session.add(publication)
    session.flush()
    return publication


def live_publication(session: Session, file: str) -> ConfigPublication | None:
    """The latest publication of file (its version loaded), or None before the first one."""
    query = (
        select(ConfigPublication)
        .options(joinedload(ConfigPublication.version))
        .where(ConfigPublication.file == file)
        .order_by(ConfigPublication.at.desc(), ConfigPublication.id.desc())
        .limit(1)
    )
    return session.scalars(query).first()


def live_hashes(session: Session) -> dict[str, tuple[int, str]]:
    """The live version of every published file as (version id, sha256), in one query."""
    rank = func.row_number().over(partition_by=ConfigPublication.file,
                                  order_by=(ConfigPublication.at.desc(), ConfigPublication.id.desc()))
    latest = select(ConfigPublication.file, ConfigPublication.version_id, rank.label("rank")).subquery()
    query = (
        select(latest.c.file, ConfigVersion.id, ConfigVersion.sha256)
        .join(ConfigVersion, ConfigVersion.id == latest.c.version_id)
        .where(latest.c.rank == 1)
    )
    return {file: (version_id, sha256) for file, version_id, sha256 in session.execute(query)}


def history(session: Session, file: str) -> list[ConfigPublication]:
    """Every publication of file, newest first, with their versions loaded."""
    query = (
        select(ConfigPublication)
        .options(joinedload(ConfigPublication.version))
        .where(ConfigPublication.file == file)
        .order_by(ConfigPublication.at.desc(), ConfigPublication.id.desc())
    )
    return list(session.scalars(query))


def get_version(session: Session, id: int) -> ConfigVersion | None:
    """The stored version with this id."""
    return session.get(ConfigVersion, id)
