"""Keeping the units table in step with the configured list of units; functions never commit."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models import Unit

_REQUIRED = ("name", "kind")
_OPTIONAL = ("ward_code", "phone")


@dataclass(frozen=True)
class UnitSync:
    """What sync_units changed, by unit code."""

    added: tuple[str, ...]
    updated: tuple[str, ...]
    deactivated: tuple[str, ...]


def sync_units(session: Session, units: Iterable[Mapping[str, object]]) -> UnitSync:
    """Insert or update every given unit as active and mark units missing from the input inactive."""
    wanted = _parse(units)
    existing = {unit.code: unit for unit in session.scalars(select(Unit))}
    added: list[str] = []
    updated: list[str] = []
    for code, fields in wanted.items():
        unit = existing.get(code)
        if unit is None:
            session.add(Unit(code=code, active=True, **fields))
            added.append(code)
        elif _apply(unit, fields):
            updated.append(code)
    deactivated = [code for code, unit in existing.items() if code not in wanted and unit.active]
    for code in deactivated:
        existing[code].active = False
    session.flush()
    return UnitSync(tuple(added), tuple(updated), tuple(sorted(deactivated)))


def _apply(unit: Unit, fields: Mapping[str, str | None]) -> bool:
    """Copy fields onto unit and reactivate it; True when anything changed."""
    changed = not unit.active
    unit.active = True
    for key, value in fields.items():
        if getattr(unit, key) != value:
            setattr(unit, key, value)
            changed = True
    return changed


def _parse(units: Iterable[Mapping[str, object]]) -> dict[str, dict[str, str | None]]:
    """Check every unit and index its fields by code; a repeated code is an error."""
    wanted: dict[str, dict[str, str | None]] = {}
    for index, row in enumerate(units):
        code, fields = _parse_row(index, row)
        if code in wanted:
            raise ValueError(f"unit #{index}: code {code!r} appears twice")
        wanted[code] = fields
    return wanted


def _parse_row(index: int, row: Mapping[str, object]) -> tuple[str, dict[str, str | None]]:
    unknown = set(row) - {"code", *_REQUIRED, *_OPTIONAL}
    if unknown:
        raise ValueError(f"unit #{index}: unknown fields {', '.join(sorted(unknown))}")
    fields: dict[str, str | None] = {}
    for key in ("code", *_REQUIRED, *_OPTIONAL):
        value = row.get(key)
        if value is not None and not isinstance(value, str):
            raise ValueError(f"unit #{index}: {key} must be text, not {type(value).__name__}")
        if key in ("code", *_REQUIRED) and not value:
            raise ValueError(f"unit #{index}: {key} is missing")
        fields[key] = value
    return str(fields.pop("code")), fields
