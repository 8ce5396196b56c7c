"""Tables for units, menu versions, calls, turns, recordings, cases and their status history."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from storage.db import Base, FittedString, UTCDateTime

CASE_STATUSES = ("new", "assigned", "in_progress", "resolved", "closed", "incomplete", "rejected")
ROLES = ("admin", "supervisor", "unit", "leader")
CORRECTED_FIELDS = ("category", "ward", "unit")
SPEAKERS = ("caller", "bot")
RECORDING_STATUSES = ("pending", "stored", "failed")

# Short strings: codes and phone numbers; long ones: names and free text.
Code = String(64)
Phone = FittedString(32)  # a carrier's caller may be a SIP URI: its start (the number) is kept
Name = String(255)
JsonDoc = JSON().with_variant(JSONB(), "postgresql")


def _one_of(column: str, values: tuple[str, ...], name: str) -> CheckConstraint:
    listed = ", ".join(f"'{v}'" for v in values)
    return CheckConstraint(f"{column} IN ({listed})", name=name)


class Unit(Base):
    """A body that handles cases: a ward People's Committee, a utility, the police."""

    __tablename__ = "units"

    code: Mapped[str] = mapped_column(Code, primary_key=True)
    name: Mapped[str] = mapped_column(Name)
    kind: Mapped[str] = mapped_column(Code)
    ward_code: Mapped[str | None] = mapped_column(Code, index=True)
    phone: Mapped[str | None] = mapped_column(Phone)
    active: Mapped[bool] = mapped_column(default=True)


class MenuVersion(Base):
    """One exact YAML text of a menu, kept so every call can be replayed against its menu."""

    __tablename__ = "menu_versions"
    __table_args__ = (UniqueConstraint("name", "sha256"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(Code)
    sha256: Mapped[str] = mapped_column(String(64))
    content: Mapped[str] = mapped_column(Text)
    author: Mapped[str] = mapped_column(Name)
    comment: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Call(Base):
    """A phone call and the dialogue state carried between its webhooks."""

    __tablename__ = "calls"
    __table_args__ = (Index(None, "started_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    sid: Mapped[str] = mapped_column(String(64), unique=True)
    from_number: Mapped[str] = mapped_column(Phone)
    to_number: Mapped[str] = mapped_column(Phone)
    channel: Mapped[str] = mapped_column(Code, default="twilio")
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(FittedString(64))  # the carrier's word; anything longer is cut
    duration_s: Mapped[int | None] = mapped_column(Integer)
    menu_version_id: Mapped[int | None] = mapped_column(ForeignKey("menu_versions.id"), index=True)
    state: Mapped[dict[str, Any]] = mapped_column(JsonDoc)
    seq: Mapped[int] = mapped_column(default=0)
    last_response: Mapped[str | None] = mapped_column(Text)
    outcome: Mapped[str | None] = mapped_column(Code)
    backlog_ms_max: Mapped[int | None] = mapped_column(Integer)  # worst recogniser lag of a streamed call
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    menu_version: Mapped[MenuVersion | None] = relationship()
    turns: Mapped[list[Turn]] = relationship(
        back_populates="call", order_by=lambda: Turn.seq, cascade="all, delete-orphan", passive_deletes=True
    )
    recordings: Mapped[list[Recording]] = relationship(
        back_populates="call",
        order_by=lambda: (Recording.created_at, Recording.id),
        cascade="all, delete-orphan",
        passive_deletes=True,
    )
    case: Mapped[Case | None] = relationship(back_populates="call")


class Recording(Base):
    """Audio the carrier recorded for us, and where our own copy of it is."""

    __tablename__ = "recordings"
    __table_args__ = (
        _one_of("status", RECORDING_STATUSES, "status"),
        Index(None, "status", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"), index=True)
    sid: Mapped[str] = mapped_column(String(64), unique=True)
    remote_url: Mapped[str | None] = mapped_column(Text)
    local_path: Mapped[str | None] = mapped_column(Text)
    duration_s: Mapped[float | None]
    status: Mapped[str] = mapped_column(Code, default="pending")
    purpose: Mapped[str | None] = mapped_column(Code)
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    transcript: Mapped[str | None] = mapped_column(Text)  # offline recognition, after the call
    transcript_confidence: Mapped[float | None]
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    call: Mapped[Call] = relationship(back_populates="recordings")


class Turn(Base):
    """One utterance or key press in a call, by the caller or the bot."""

    __tablename__ = "turns"
    __table_args__ = (
        UniqueConstraint("call_id", "seq"),
        _one_of("speaker", SPEAKERS, "speaker"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"))
    seq: Mapped[int]
    speaker: Mapped[str] = mapped_column(String(16))
    node: Mapped[str | None] = mapped_column(Code)
    text: Mapped[str | None] = mapped_column(Text)
    confidence: Mapped[float | None]
    digits: Mapped[str | None] = mapped_column(FittedString(64))
    start_s: Mapped[float | None]
    end_s: Mapped[float | None]
    # Recognised words: [{"word", "start_s", "end_s", "confidence"}], times in the call's stereo recording.
    words: Mapped[list[dict[str, Any]] | None] = mapped_column(JsonDoc)
    recording_id: Mapped[int | None] = mapped_column(
        ForeignKey("recordings.id", ondelete="SET NULL"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    call: Mapped[Call] = relationship(back_populates="turns")
    recording: Mapped[Recording | None] = relationship()


class Case(Base):
    """A citizen's report: what, where, who handles it, and where it stands."""

    __tablename__ = "cases"
    __table_args__ = (
        _one_of("status", CASE_STATUSES, "status"),
        Index(None, "created_at"),
        Index(None, "status", "created_at"),
        Index(None, "category", "created_at"),
        Index(None, "unit_code", "created_at"),
        Index(None, "caller_number", "created_at"),
        Index(None, "ward_code", "created_at"),
        Index(None, "deadline", "id"),  # the case list sorted by deadline (migration 0004)
        Index(None, "status", "deadline", "id"),
        # Numbers are read to citizens; AUTOINCREMENT stops SQLite from ever reusing an id.
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str | None] = mapped_column(String(32), unique=True)
    call_id: Mapped[int | None] = mapped_column(ForeignKey("calls.id", ondelete="SET NULL"), unique=True)
    channel: Mapped[str] = mapped_column(Code, default="phone")
    caller_number: Mapped[str | None] = mapped_column(Phone)
    category: Mapped[str | None] = mapped_column(Code)
    description: Mapped[str | None] = mapped_column(Text)
    address_text: Mapped[str | None] = mapped_column(Text)
    ward: Mapped[str | None] = mapped_column(Name)
    ward_code: Mapped[str | None] = mapped_column(Code)
    legacy_ward: Mapped[str | None] = mapped_column(Name)
    legacy_district: Mapped[str | None] = mapped_column(Name)
    unit_code: Mapped[str | None] = mapped_column(ForeignKey("units.code"))
    status: Mapped[str] = mapped_column(Code)
    deadline: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # What offline transcription of the call's recordings suggests (category, ward, address) for an
    # operator to confirm; never applied to the case's own fields automatically.
    suggestion: Mapped[dict[str, Any] | None] = mapped_column(JsonDoc)
    # Folded words (no tones, lower case) of number, caller, description, address, ward and transcripts:
    # what the console's free-text search matches (SQLite FTS5 / PostgreSQL GIN, see migration 0003).
    search_text: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    call: Mapped[Call | None] = relationship(back_populates="case")
    unit: Mapped[Unit | None] = relationship()
    events: Mapped[list[CaseEvent]] = relationship(
        back_populates="case",
        order_by=lambda: (CaseEvent.at, CaseEvent.id),
        cascade="all, delete-orphan",
        passive_deletes=True,
    )


class CaseEvent(Base):
    """One status change of a case: who, when, from what to what, and why."""

    __tablename__ = "case_events"
    __table_args__ = (Index(None, "case_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor: Mapped[str] = mapped_column(Name)
    from_status: Mapped[str | None] = mapped_column(Code)
    to_status: Mapped[str] = mapped_column(Code)
    reason: Mapped[str | None] = mapped_column(Text)

    case: Mapped[Case] = relationship(back_populates="events")


class CaseNote(Base):
    """A note on a case by a person (supervisor, unit)."""

    __tablename__ = "case_notes"
    __table_args__ = (Index(None, "case_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    author: Mapped[str] = mapped_column(Name)
    text: Mapped[str] = mapped_column(Text)


class CaseCorrection(Base):
    """A person corrected what the callbot filed: the original and the new value (training data later)."""

    __tablename__ = "case_corrections"
    __table_args__ = (
        _one_of("field", CORRECTED_FIELDS, "field"),
        Index(None, "case_id", "at"),
        Index(None, "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor: Mapped[str] = mapped_column(Name)
    field: Mapped[str] = mapped_column(Code)
    old_value: Mapped[str | None] = mapped_column(Name)
    new_value: Mapped[str | None] = mapped_column(Name)


class User(Base):
    """A person who uses the console."""

    __tablename__ = "users"
    __table_args__ = (_one_of("role", ROLES, "role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(Code)
    unit_code: Mapped[str | None] = mapped_column(ForeignKey("units.code"))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class AuditEvent(Base):
    """Who did what in the console: log-ins, recordings opened, case edits, config publications."""

    __tablename__ = "audit_events"
    __table_args__ = (Index(None, "at"), Index(None, "target_type", "target_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor: Mapped[str] = mapped_column(Name)
    action: Mapped[str] = mapped_column(Code)
    target_type: Mapped[str | None] = mapped_column(Code)
    target_id: Mapped[str | None] = mapped_column(Name)
    detail: Mapped[dict[str, Any] | None] = mapped_column(JsonDoc)
    remote_addr: Mapped[str | None] = mapped_column(String(64))


class ConfigVersion(Base):
    """One text of an admin-edited YAML file (menus/main.yaml, categories.yaml, units.yaml), by hash."""

    __tablename__ = "config_versions"
    __table_args__ = (UniqueConstraint("file", "sha256"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    file: Mapped[str] = mapped_column(Name)
    sha256: Mapped[str] = mapped_column(String(64))
    content: Mapped[str] = mapped_column(Text)
    author: Mapped[str] = mapped_column(Name)
    comment: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ConfigPublication(Base):
    """A version made live (a publish or a rollback); the latest publication of a file is live."""

    __tablename__ = "config_publications"
    __table_args__ = (Index(None, "file", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    file: Mapped[str] = mapped_column(Name)
    version_id: Mapped[int] = mapped_column(ForeignKey("config_versions.id"))
    author: Mapped[str] = mapped_column(Name)
    comment: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(UTCDateTime)

    version: Mapped[ConfigVersion] = relationship()
