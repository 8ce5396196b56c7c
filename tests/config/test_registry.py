"""The catalog registry: reloads categories.yaml and units.yaml when they change, keeps the last good catalog."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import pytest

from config.catalog import Catalog, CatalogError
from config.registry import CatalogRegistry
from config.settings import PACKAGE_DIR


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    for name in ("categories.yaml", "units.yaml"):
        shutil.copyfile(PACKAGE_DIR / name, tmp_path / name)
    return tmp_path


class Builds:
    """A build function that counts its calls and returns the catalog's category codes."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, catalog: Catalog) -> tuple[str, ...]:
        self.count += 1
        return tuple(catalog.categories)


def rename_label(config_dir: Path, old: str, new: str) -> None:
    path = config_dir / "categories.yaml"
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


def test_the_catalog_and_what_is_built_from_it_come_together(config_dir: Path) -> None:
    builds = Builds()
    registry = CatalogRegistry(config_dir, builds)
    edition = registry.current()
    assert edition.built == tuple(edition.catalog.categories)
    assert registry.current() is edition and builds.count == 1


def test_an_edit_is_live_after_the_next_check(config_dir: Path) -> None:
    builds = Builds()
    registry = CatalogRegistry(config_dir, builds, check_every_s=0.0)
    before = registry.load()
    rename_label(config_dir, "code: HT_NGAP\n", "code: HT_NGAPNUOC\n")
    after = registry.current()
    assert after is not before and builds.count == 2
    assert "HT_NGAPNUOC" in after.built and "HT_NGAP" not in after.catalog.categories


def test_files_are_checked_at_most_every_check_every_s(config_dir: Path) -> None:
    registry = CatalogRegistry(config_dir, Builds(), check_every_s=3600.0)
    before = registry.load()
    rename_label(config_dir, "label: Hạ tầng đường, vỉa hè, hố ga", "label: Đường sá")
    assert registry.current() is before
    assert registry.load().catalog.label("HT_DUONG") == "Đường sá"


def test_a_broken_edit_keeps_the_last_good_catalog_and_is_reported_once(config_dir: Path,
                                                                         caplog: pytest.LogCaptureFixture) -> None:
    builds = Builds()
    registry = CatalogRegistry(config_dir, builds, check_every_s=0.0)
    good = registry.load()
    rename_label(config_dir, "deadline_days: 5", "deadline_days: soon")
    with caplog.at_level(logging.ERROR, logger="config.registry"):
        assert registry.current() is good
        assert registry.current() is good
    [record] = caplog.records
    assert "categories.yaml:" in record.getMessage() and "expected a whole number" in record.getMessage()
    with pytest.raises(CatalogError):
        registry.load()
    assert registry.current() is good and builds.count == 1


def test_a_units_edit_is_noticed_too(config_dir: Path) -> None:
    registry = CatalogRegistry(config_dir, Builds(), check_every_s=0.0)
    registry.load()
    path = config_dir / "units.yaml"
    path.write_text(path.read_text().replace("  power: EVNHCMC\n", "  power: SAWACO\n", 1))
    assert registry.current().catalog.defaults["power"] == "SAWACO"


def test_category_codes_follow_the_live_catalog(config_dir: Path) -> None:
    registry = CatalogRegistry(config_dir, Builds(), check_every_s=0.0)
    codes = registry.category_codes()
    assert "HT_NGAP" in codes and "NGAP" not in codes
    count = len(codes)
    assert sorted(codes) == sorted(registry.current().catalog.categories)
    rename_label(config_dir, "code: HT_NGAP\n", "code: NGAP\n")
    assert "NGAP" in codes and "HT_NGAP" not in codes and len(codes) == count


def test_missing_files_refuse_the_first_load(tmp_path: Path) -> None:
    registry = CatalogRegistry(tmp_path, Builds())
    with pytest.raises(CatalogError) as error:
        registry.current()
    assert "cannot read the file" in str(error.value)
