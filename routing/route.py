"""Route a case to its responsible unit with a deadline: pure functions over the catalog."""

from __future__ import annotations

from collections.abc import Collection
from datetime import date, datetime

from config.catalog import Catalog
from routing.deadlines import add_working_days

FALLBACK_CATEGORY = "KHAC"


def unit_for(catalog: Catalog, category: str | None, ward_code: str | None = None) -> str | None:
    """The unit that handles this category (city-level until ward routing exists)."""
    entry = catalog.categories.get(category or FALLBACK_CATEGORY) or catalog.categories.get(FALLBACK_CATEGORY)
    if entry is None:
        return None
    return catalog.defaults.get(entry.unit_kind)


def deadline_for(catalog: Catalog, category: str | None, now: datetime,
                 holidays: Collection[date] = ()) -> datetime | None:
    """Close of business on the category's last working day."""
    entry = catalog.categories.get(category or FALLBACK_CATEGORY) or catalog.categories.get(FALLBACK_CATEGORY)
    if entry is None:
        return None
    return add_working_days(now, entry.deadline_days, holidays)


class Router:
    """Callable used by the call service: (category, ward_code, now) -> (unit code, deadline)."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog

    def __call__(self, category: str | None, ward_code: str | None,
                 now: datetime) -> tuple[str | None, datetime | None]:
        return unit_for(self.catalog, category, ward_code), deadline_for(self.catalog, category, now)
