"""Today's 168 HCMC units and the older layers callers still name, read offline from vietnamadminunits' data.

The package itself is never imported: it pulls shapely and geopy, and its converter may call an online
geocoder. Its `dataset.db` and `converter_2025.json` are read directly (about 0.1 s, so no cache file).
"""

from __future__ import annotations

import functools
import importlib.metadata
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from routing.normalize import fold
from routing.place_names import NameIndex, name_key

# Old provinces that became today's HCMC, by GSO code, with the region names used here.
REGIONS = {"79": "hcm", "74": "binh_duong", "77": "ba_ria_vung_tau"}
WARD_PREFIXES = ("Phường", "Xã", "Thị trấn", "Đặc khu")
DISTRICT_PREFIXES = ("Quận", "Huyện", "Thành phố", "Thị xã")
# Words a number reader could turn into digits: names holding one must be protected from it.
NUMBER_WORDS = frozenset(
    "không một mốt hai ba bốn tư năm lăm nhăm sáu bảy tám chín mười mươi trăm nghìn ngàn linh lẻ".split())
_FOLDED_NUMBER_WORDS = frozenset(fold(word) for word in NUMBER_WORDS)


@dataclass(frozen=True)
class Ward:
    """A commune-level unit of today's HCMC (since 1 July 2025)."""

    code: str
    name: str
    prefix: str
    full_name: str
    lat: float
    lon: float
    region: str


@dataclass(frozen=True)
class LegacyDistrict:
    """A district-level unit of January-June 2025, with today's units that cover part of it."""

    code: str
    name: str
    prefix: str
    full_name: str
    region: str
    wards: tuple[Ward, ...] = field(repr=False)


@dataclass(frozen=True)
class LegacyWard:
    """A ward, commune or town of an older layer and the unit(s) of today it became.

    layer "2025" is the January-June 2025 map; "older" names were merged earlier (data does not date them).
    """

    name: str
    prefix: str
    full_name: str
    district: LegacyDistrict = field(repr=False)
    layer: str
    default: Ward
    others: tuple[Ward, ...] = ()

    @property
    def split(self) -> bool:
        """True when the old unit was divided between several of today's units."""
        return bool(self.others)

    @property
    def targets(self) -> tuple[Ward, ...]:
        """Today's units it went to, the official default first."""
        return (self.default, *self.others)


@dataclass(frozen=True)
class Gazetteer:
    """All place layers of today's HCMC with name indexes for resolving what callers say."""

    wards: tuple[Ward, ...]
    districts: tuple[LegacyDistrict, ...]
    legacy_wards: tuple[LegacyWard, ...]
    ward_names: NameIndex[Ward | LegacyWard] = field(repr=False)
    district_names: NameIndex[LegacyDistrict] = field(repr=False)
    wards_of_district: Mapping[str, NameIndex[LegacyWard]] = field(repr=False)

    @classmethod
    def load(cls, data_dir: Path | None = None) -> Gazetteer:
        """Build from the package's data files (or a directory holding dataset.db and converter_2025.json).

        The package's own gazetteer is built once per process and shared: it is read-only.
        """
        return _load(data_dir or default_data_dir())

    @classmethod
    def build(cls, wards: tuple[Ward, ...], districts: tuple[LegacyDistrict, ...],
              legacy_wards: tuple[LegacyWard, ...],
              district_aliases: tuple[tuple[str | None, str, LegacyDistrict], ...] = ()) -> Gazetteer:
        """Index the given layers; aliases are (accented name or None, folded name, district)."""
        ward_entries: list[tuple[str | None, str, Ward | LegacyWard]] = []
        for unit in (*wards, *legacy_wards):
            key = name_key(unit.name)
            ward_entries.append((key, fold(key), unit))
        district_entries: list[tuple[str | None, str, LegacyDistrict]] = []
        for district in districts:
            key = name_key(district.name)
            district_entries.append((key, fold(key), district))
        district_entries.extend(district_aliases)
        per_district: dict[str, list[tuple[str | None, str, LegacyWard]]] = {d.code: [] for d in districts}
        for old in legacy_wards:
            key = name_key(old.name)
            per_district[old.district.code].append((key, fold(key), old))
        return cls(wards, districts, legacy_wards, NameIndex(ward_entries), NameIndex(district_entries),
                   {code: NameIndex(entries) for code, entries in per_district.items()})

    def ward(self, code: str) -> Ward | None:
        """Today's unit with this GSO code."""
        return next((w for w in self.wards if w.code == code), None)

    def names_with_number_words(self) -> frozenset[str]:
        """Names holding a number word, for the number reader to leave alone: 'bảy hiền', and 'tam bình' or
        'bay hien' among folded spellings (accent-free 'tam' could be 'tám')."""
        names = {name_key(unit.name) for unit in (*self.wards, *self.legacy_wards, *self.districts)}
        accented = {n for n in names if NUMBER_WORDS.intersection(n.split())}
        folded = {fold(n) for n in names if _FOLDED_NUMBER_WORDS.intersection(fold(n).split())}
        return frozenset(accented | folded)


def default_data_dir() -> Path:
    """The installed vietnamadminunits data directory, located without importing the package."""
    dist = importlib.metadata.distribution("vietnamadminunits")
    return Path(str(dist.locate_file("vietnamadminunits/data")))


@functools.cache
def _load(data_dir: Path) -> Gazetteer:
    from routing.gazetteer_data import read_layers

    wards, districts, legacy_wards, district_aliases = read_layers(data_dir)
    return Gazetteer.build(wards, districts, legacy_wards, district_aliases)
