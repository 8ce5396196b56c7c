"""Routing a category to its unit, with a deadline in working days."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from config.catalog import load_catalog
from config.problems import ConfigError
from config.settings import PACKAGE_DIR
from routing.deadlines import add_working_days
from routing.gazetteer import Gazetteer
from routing.route import Router, unit_for, unit_rows

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
    router = Router(catalog, Gazetteer.load())
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
    (CATEGORIES + "    phrases:\n      - góp ý\n      - {text: khen, weight: 0}\n", UNITS,
     "categories.yaml:8 categories[0].phrases[1].weight"),
    (CATEGORIES + "    negative: [điện thoại, Điện Thoại]\n", UNITS,
     "categories.yaml:6 categories[0].negative[1]: duplicate phrase 'điện thoại'"),
])
def test_broken_catalog_is_refused_with_file_line_and_path(tmp_path: Path, categories: str, units: str,
                                                          expected: str) -> None:
    _write(tmp_path, categories, units)
    with pytest.raises(ConfigError) as error:
        load_catalog(tmp_path)
    assert expected in str(error.value)


@pytest.fixture(scope="module")
def gazetteer() -> Gazetteer:
    return Gazetteer.load()


def _ward(gazetteer: Gazetteer, full_name: str):  # type: ignore[no-untyped-def]
    return next(w for w in gazetteer.wards if w.full_name == full_name)


@pytest.mark.parametrize(("category", "ward", "unit"), [
    ("TIENGON", "Phường Bến Thành", "UBND_{code}"),          # the ward's own People's Committee
    ("HANHCHINH", "Xã Bình Chánh", "UBND_{code}"),
    ("ANTT", "Phường Gò Vấp", "CA_{code}"),                   # the ward's police
    ("CAPNUOC", "Phường Bến Thành", "SAWACO"),               # water company of the area
    ("CAPNUOC", "Phường Thủ Dầu Một", "BIWASE"),
    ("CAPNUOC", "Phường Vũng Tàu", "BWACO"),
    ("DIEN", "Phường Thủ Dầu Một", "PC_BINHDUONG"),
    ("DIEN", "Đặc khu Côn Đảo", "PC_BRVT"),
    ("DIEN", "Phường Bến Thành", "EVNHCMC"),
    ("HT_NGAP", "Phường Thủ Dầu Một", "CTY_THOATNUOC"),        # a city-level kind
])
def test_units_follow_the_ward(gazetteer: Gazetteer, category: str, ward: str, unit: str) -> None:
    target = _ward(gazetteer, ward)
    assert unit_for(load_catalog(PACKAGE_DIR), category, target) == unit.format(code=target.code)


def test_without_a_ward_the_city_level_unit_takes_the_case() -> None:
    catalog = load_catalog(PACKAGE_DIR)
    assert unit_for(catalog, "TIENGON", None) == "UBND_PHUONG_XA"
    assert unit_for(catalog, "CAPNUOC", None) == "SAWACO"


def test_every_ward_has_its_own_units_for_the_store(gazetteer: Gazetteer) -> None:
    rows = unit_rows(load_catalog(PACKAGE_DIR), gazetteer)
    codes = [row["code"] for row in rows]
    assert len(codes) == len(set(codes))
    assert sum(1 for code in codes if str(code).startswith("UBND_") and code != "UBND_PHUONG_XA") == 168
    bến_thành = _ward(gazetteer, "Phường Bến Thành")
    assert {"code": f"UBND_{bến_thành.code}", "name": "UBND Phường Bến Thành", "kind": "ward_committee",
            "ward_code": bến_thành.code, "phone": None} in rows


def test_regional_units_must_exist(tmp_path: Path) -> None:
    _write(tmp_path, CATEGORIES, UNITS + "regional:\n  k: {hcm: NOPE}\n")
    with pytest.raises(ConfigError, match=r"units.yaml:8 regional.k.hcm: 'NOPE' is not a unit"):
        load_catalog(tmp_path)


def test_ward_unit_templates_are_checked(tmp_path: Path) -> None:
    _write(tmp_path, CATEGORIES, UNITS + "ward_units:\n  k: {code: UBND, name: 'UBND {ward}'}\n")
    with pytest.raises(ConfigError, match=r"units.yaml:8 ward_units.k.code"):
        load_catalog(tmp_path)
