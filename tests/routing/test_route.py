"""Routing a category to its unit, with a deadline in working days."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from config.catalog import load_catalog
from config.settings import PACKAGE_DIR
from config.problems import ConfigError
from routing.deadlines import add_working_days
from routing.route import Router

HCM = ZoneInfo("Asia/Ho_Chi_Minh")


@pytest.mark.parametrize(("start", "days", "expected"), [
    (datetime(2026, 11, 27, 9, tzinfo=HCM), 5, datetime(2026, 12, 4, 17, tzinfo=HCM)),   # Friday → Friday
    (datetime(2026, 11, 28, 9, tzinfo=HCM), 1, datetime(2026, 11, 30, 17, tzinfo=HCM)),  # Saturday → Monday
    (datetime(2026, 11, 30, 18, 0, tzinfo=UTC), 1, datetime(2026, 12, 2, 17, tzinfo=HCM)),  # already Tuesday in HCMC
])
def test_working_days_skip_weekends_in_local_time(start: datetime, days: int, expected: datetime) -> None:
    assert add_working_days(start, days) == expected


def test_holidays_are_skipped() -> None:
    start = datetime(2026, 4, 29, 9, tzinfo=HCM)  # Wednesday; 30/4 and 1/5 are holidays
    holidays = {date(2026, 4, 30), date(2026, 5, 1)}
    assert add_working_days(start, 1, holidays) == datetime(2026, 5, 4, 17, tzinfo=HCM)


def test_naive_start_is_refused() -> None:
    with pytest.raises(ValueError):
        add_working_days(datetime(2026, 1, 1), 1)


def test_shipped_catalog_routes_every_category() -> None:
    catalog = load_catalog(PACKAGE_DIR)
    router = Router(catalog)
    now = datetime(2026, 11, 27, 3, tzinfo=UTC)
    assert len(catalog.categories) == 16
    for code in catalog.categories:
        unit, deadline = router(code, None, now)
        assert unit in catalog.units and deadline is not None and deadline > now
    assert router("HT_NGAP", None, now)[0] == "CTY_THOATNUOC"
    assert router(None, None, now)[0] == "TONGDAI_1022"


def _write(directory: Path, categories: str, units: str) -> None:
    (directory / "categories.yaml").write_text(categories)
    (directory / "units.yaml").write_text(units)


UNITS = "units:\n  - code: U1\n    name: Đơn vị\n    kind: k\ndefaults:\n  k: U1\n"
CATEGORIES = "categories:\n  - code: KHAC\n    label: Khác\n    unit_kind: k\n    deadline_days: 5\n"


@pytest.mark.parametrize(("categories", "units", "expected"), [
    (CATEGORIES.replace("deadline_days: 5", "deadline_days: many"), UNITS,
     "categories.yaml:5 categories[0].deadline_days"),
    (CATEGORIES.replace("unit_kind: k", "unit_kind: other"), UNITS,
     "categories.yaml:4 categories[0].unit_kind: no default unit for kind 'other'"),
    (CATEGORIES, UNITS.replace("k: U1", "k: U9"), "units.yaml:6 defaults.k: 'U9' is not a unit"),
    (CATEGORIES + CATEGORIES.replace("categories:\n", ""), UNITS, "categories.yaml:6 categories[1].code: duplicate"),
    ("categories: [\n", UNITS, "categories.yaml:2"),
])
def test_broken_catalog_is_refused_with_file_line_and_path(tmp_path: Path, categories: str, units: str,
                                                          expected: str) -> None:
    _write(tmp_path, categories, units)
    with pytest.raises(ConfigError) as error:
        load_catalog(tmp_path)
    assert expected in str(error.value)
