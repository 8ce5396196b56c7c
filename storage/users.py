"""Console users; passwords arrive already hashed (console/auth.py hashes them); functions never commit."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models import ROLES, Unit, User


class UserError(ValueError):
    """A user cannot be created as asked; the message says why, for the person at the command line."""


def create_user(session: Session, *, username: str, password_hash: str, role: str, unit_code: str | None,
                now: datetime) -> User:
    """Add a user; UserError for a taken name, an unknown role, or a unit role without an existing unit."""
    if role not in ROLES:
        raise UserError(f"unknown role {role!r}; expected one of {', '.join(ROLES)}")
    if role == "unit" and not unit_code:
        raise UserError("a unit user needs --unit CODE (the unit whose cases they handle)")
    if role != "unit" and unit_code:
        raise UserError("only unit users belong to a unit")
    if unit_code and session.get(Unit, unit_code) is None:
        raise UserError(f"no unit with code {unit_code!r} (see config/units.yaml)")
    if find_user(session, username) is not None:
        raise UserError(f"user {username!r} exists already")
    user = User(username=username, password_hash=password_hash, role=role, unit_code=unit_code, active=True,
                created_at=now)
    session.add(user)
    session.flush()
    return user


def find_user(session: Session, username: str) -> User | None:
    """The user with this name (names are compared as given)."""
    return session.scalars(select(User).where(User.username == username)).one_or_none()


def list_users(session: Session) -> list[User]:
    """Every user, by name."""
    return list(session.scalars(select(User).order_by(User.username)))
