"""Route a case to its responsible unit with a deadline: pure functions over the catalog and gazetteer."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import date, datetime

from config.catalog import Catalog, Category
from routing.deadlines import add_working_days
from routing.gazetteer import Gazetteer, Ward

FALLBACK_CATEGORY = "KHAC"


def unit_for(catalog: Catalog, category: str | None, ward: Ward | None = None) -> str | None:
    """The unit for a category at a ward: the ward's own unit, the area's company, or the city-level default."""
    entry = _category(catalog, category)
    if entry is None:
        return None
    kind = entry.unit_kind
    if ward is not None:
        if kind in catalog.ward_units:
            return ward_unit_code(catalog, kind, ward)
        regional = catalog.regional.get(kind, {}).get(ward.region)
        if regional:
            return regional
    return catalog.defaults.get(kind)


def deadline_for(catalog: Catalog, category: str | None, now: datetime,
                 holidays: Collection[date] = ()) -> datetime | None:
    """Close of business on the category's last working day."""
    entry = _category(catalog, category)
    if entry is None:
        return None
    return add_working_days(now, entry.deadline_days, holidays)


def ward_unit_code(catalog: Catalog, kind: str, ward: Ward) -> str:
    """The code of a ward's own unit of this kind, e.g. UBND_26734."""
    return catalog.ward_units[kind].code.format(ward_code=ward.code)


def ward_unit_rows(catalog: Catalog, wards: Iterable[Ward]) -> list[dict[str, object]]:
    """Every ward's own units, as rows for the store (one per ward and per ward-level kind)."""
    return [
        {"code": ward_unit_code(catalog, kind, ward), "name": template.name.format(ward=ward.full_name),
         "kind": kind, "ward_code": ward.code, "phone": None}
        for kind, template in catalog.ward_units.items() for ward in wards
    ]


def unit_rows(catalog: Catalog, gazetteer: Gazetteer) -> list[dict[str, object]]:
    """All units the store must know: the catalog's and every ward's own."""
    return catalog.unit_rows() + ward_unit_rows(catalog, gazetteer.wards)


class Router:
    """Callable used by the call service: (category, ward_code, now) -> (unit code, deadline)."""

    def __init__(self, catalog: Catalog, gazetteer: Gazetteer) -> None:
        self.catalog = catalog
        self.gazetteer = gazetteer

    def __call__(self, category: str | None, ward_code: str | None,
                 now: datetime) -> tuple[str | None, datetime | None]:
        ward = self.gazetteer.ward(ward_code) if ward_code else None
        return unit_for(self.catalog, category, ward), deadline_for(self.catalog, category, now)


def _category(catalog: Catalog, code: str | None) -> Category | None:
    return catalog.categories.get(code or FALLBACK_CATEGORY) or catalog.categories.get(FALLBACK_CATEGORY)
