"""Units kept in step with the configured list."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models import Unit
from storage.units import sync_units

WARD = {"code": "UBND_26734", "name": "UBND phường Sài Gòn", "kind": "ubnd_ward", "ward_code": "26734"}
POWER = {"code": "EVN_HCMC", "name": "Tổng công ty Điện lực TP.HCM", "kind": "power", "phone": "19009000"}
WATER = {"code": "SAWACO", "name": "Tổng công ty Cấp nước Sài Gòn", "kind": "water"}


def _stored(session: Session) -> dict[str, tuple[str, str, str | None, str | None, bool]]:
    session.expire_all()
    return {u.code: (u.name, u.kind, u.ward_code, u.phone, u.active) for u in session.scalars(select(Unit))}


def test_sync_inserts_updates_and_deactivates(session: Session) -> None:
    first = sync_units(session, [WARD, POWER, WATER])
    session.commit()
    assert sorted(first.added) == ["EVN_HCMC", "SAWACO", "UBND_26734"]
    renamed = {**POWER, "name": "EVNHCMC", "phone": None}
    second = sync_units(session, [WARD, renamed])
    session.commit()
    assert (second.added, second.updated, second.deactivated) == ((), ("EVN_HCMC",), ("SAWACO",))
    assert _stored(session) == {
        "UBND_26734": ("UBND phường Sài Gòn", "ubnd_ward", "26734", None, True),
        "EVN_HCMC": ("EVNHCMC", "power", None, None, True),
        "SAWACO": ("Tổng công ty Cấp nước Sài Gòn", "water", None, None, False),
    }


def test_sync_reactivates_and_is_idempotent(session: Session) -> None:
    sync_units(session, [WARD])
    sync_units(session, [WATER])
    session.commit()
    back = sync_units(session, [WARD, WATER])
    same = sync_units(session, [WARD, WATER])
    session.commit()
    assert (back.added, back.updated, back.deactivated) == ((), ("UBND_26734",), ())
    assert (same.added, same.updated, same.deactivated) == ((), (), ())
    assert {code: row[-1] for code, row in _stored(session).items()} == {"UBND_26734": True, "SAWACO": True}


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([WARD, WARD], "appears twice"),
        ([{"code": "X", "kind": "power"}], "name is missing"),
        ([{**WATER, "colour": "blue"}], "unknown fields colour"),
        ([{**WATER, "phone": 1022}], "phone must be text"),
    ],
)
def test_sync_refuses_bad_input(session: Session, rows: list[dict[str, object]], message: str) -> None:
    sync_units(session, [POWER])
    session.commit()
    with pytest.raises(ValueError, match=message):
        sync_units(session, rows)
    session.rollback()
    assert set(_stored(session)) == {"EVN_HCMC"}
    assert _stored(session)["EVN_HCMC"][-1] is True
