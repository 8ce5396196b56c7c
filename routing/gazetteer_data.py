"""Read the place layers of today's HCMC from vietnamadminunits' dataset.db and converter_2025.json.

admin_units holds today's units; admin_units_legacy the January-June 2025 map, whose wardAlias and
districtKeywords columns keep earlier names as accent-free keys ("phuong13", "huyentanthanh").
"""

from __future__ import annotations

import json
import re
import sqlite3
import warnings
from collections import Counter
from contextlib import closing
from pathlib import Path

from routing.gazetteer import DISTRICT_PREFIXES, REGIONS, WARD_PREFIXES, LegacyDistrict, LegacyWard, Ward
from routing.normalize import fold
from routing.place_names import name_key

CITY_KEY = "thanhphohochiminh"
# Older names that the data keeps only as accent-free keys and spells nowhere with accents.
ACCENT_SUPPLEMENT = {"annhut": "An Nhứt", "anngai": "An Ngãi"}
_WARD_ALIAS = re.compile(r"(phuong|xa|thitran)([1-9][0-9]*|[a-z]+)")
_WARD_ALIAS_PREFIX = {"phuong": "Phường", "xa": "Xã", "thitran": "Thị trấn"}
_DISTRICT_ALIAS = re.compile(r"(quan|huyen|thanhpho|thixa)([1-9][0-9]*|[a-z]+)")

Aliases = tuple[tuple[str | None, str, LegacyDistrict], ...]


def read_layers(data_dir: Path) -> tuple[tuple[Ward, ...], tuple[LegacyDistrict, ...], tuple[LegacyWard, ...],
                                         Aliases]:
    """Today's units, old districts, old wards (2025 and older names) and district aliases."""
    codes = tuple(REGIONS)
    marks = ",".join("?" * len(codes))
    with closing(sqlite3.connect(f"file:{data_dir / 'dataset.db'}?mode=ro", uri=True)) as db:
        today = db.execute("SELECT ward, wardShort, wardCode, wardLat, wardLon, wardKey FROM admin_units "
                           "WHERE provinceCode = '79' ORDER BY rowid").fetchall()
        old = db.execute("SELECT provinceCode, provinceKey, district, districtShort, districtCode, districtKey, "
                         "districtKeywords, ward, wardShort, wardKey, wardAlias FROM admin_units_legacy "
                         f"WHERE provinceCode IN ({marks}) ORDER BY rowid", codes).fetchall()
        converter = json.loads((data_dir / "converter_2025.json").read_text(encoding="utf-8"))
        targets = _targets(converter)
        wards = _today(today, targets, {row[1]: REGIONS[row[0]] for row in old})
        districts, legacy = _legacy(old, targets, wards)
        spellings = _spellings(db, _alias_keys(old))
    legacy = legacy + _older_wards(old, legacy, spellings)
    return tuple(wards.values()), districts, legacy, _district_aliases(old, districts, spellings)


def _targets(converter: dict) -> dict[str, list[str]]:
    """Old unit key ('province_district_ward') -> today's ward keys, the official default first."""
    targets: dict[str, list[str]] = {}
    for new_key, old_keys in converter["DICT_PROVINCE_WARD_NO_DIVIDED"][CITY_KEY].items():
        for old_key in old_keys:
            targets[old_key] = [new_key]
    for old_key, parts in converter["DICT_PROVINCE_WARD_DIVIDED"][CITY_KEY].items():
        ordered = sorted(parts, key=lambda part: not part["isDefaultNewWard"])
        if sum(part["isDefaultNewWard"] for part in parts) != 1:
            raise ValueError(f"converter_2025.json: split ward {old_key} needs exactly one default")
        targets[old_key] = [part["newWardKey"] for part in ordered]
    return targets


def _today(rows: list[tuple], targets: dict[str, list[str]], regions: dict[str, str]) -> dict[str, Ward]:
    """Today's units by ward key; a unit's region is the old province its parts came from."""
    origin: dict[str, set[str]] = {}
    for old_key, new_keys in targets.items():
        for new_key in new_keys:
            origin.setdefault(new_key, set()).add(regions[old_key.split("_")[0]])
    wards = {}
    for full_name, name, code, lat, lon, key in rows:
        prefix = _prefix(full_name, WARD_PREFIXES)
        if len(origin.get(key, ())) != 1:
            raise ValueError(f"dataset.db: {full_name} comes from {sorted(origin.get(key, ()))}, expected one region")
        wards[key] = Ward(code, name, prefix, f"{prefix} {name}", lat, lon, next(iter(origin[key])))
    return wards


def _legacy(rows: list[tuple], targets: dict[str, list[str]],
            wards: dict[str, Ward]) -> tuple[tuple[LegacyDistrict, ...], tuple[LegacyWard, ...]]:
    """Districts and wards of January-June 2025, each mapped to today's units."""
    by_district: dict[str, list[tuple]] = {}
    for row in rows:
        by_district.setdefault(row[4], []).append(row)
    districts, legacy = [], []
    for code, members in by_district.items():
        pcode, pkey, full_name, name, _, dkey = members[0][:6]
        mapped = []
        for row in members:
            key = f"{pkey}_{dkey}_{row[9] or ''}"
            if key not in targets:
                raise ValueError(f"converter_2025.json: no mapping for {key}")
            mapped.append((row, [wards[k] for k in targets[key]]))
        main = Counter(goes[0] for _, goes in mapped)
        order = sorted({w: None for _, goes in mapped for w in goes},
                       key=lambda w: -main[w])
        prefix = _prefix(full_name, DISTRICT_PREFIXES)
        name = name.removeprefix(prefix + " ")  # numbered districts: 'Quận 1' -> '1'
        district = LegacyDistrict(code, name, prefix, full_name, REGIONS[pcode], tuple(order))
        districts.append(district)
        for row, goes in mapped:
            if row[7]:
                prefix = _prefix(row[7], WARD_PREFIXES)  # the name, not wardType, which is wrong in places
                name = row[8].removeprefix(prefix + " ")  # numbered wards: 'Phường 12' -> '12'
                legacy.append(LegacyWard(name, prefix, row[7], district, "2025", goes[0], tuple(goes[1:])))
    return tuple(districts), tuple(legacy)


def _older_wards(rows: list[tuple], legacy: tuple[LegacyWard, ...],
                 spellings: dict[str, str]) -> tuple[LegacyWard, ...]:
    """Names merged away before July 2025 (wardAlias), mapped as the 2025 ward that absorbed them."""
    by_key = {(w.district.code, w.full_name): w for w in legacy}
    taken = {(w.district.code, fold(name_key(w.name))) for w in legacy}
    older = []
    for row in rows:
        if not row[10]:
            continue
        host = by_key[(row[4], row[7])]
        for alias in json.loads(row[10]):
            match = _WARD_ALIAS.fullmatch(alias)
            if not match:
                continue
            name = _spelled(match.group(2), spellings)
            if name is not None and name.islower():
                name = name.title()  # a folded-only spelling
            if name is None or (row[4], fold(name_key(name))) in taken:
                continue  # unknown spelling, or a type change ('xã An Điền' became 'phường An Điền')
            taken.add((row[4], fold(name_key(name))))
            prefix = _WARD_ALIAS_PREFIX[match.group(1)]
            older.append(LegacyWard(name, prefix, f"{prefix} {name}", host.district, "older",
                                    host.default, host.others))
    return tuple(older)


def _district_aliases(rows: list[tuple], districts: tuple[LegacyDistrict, ...],
                      spellings: dict[str, str]) -> Aliases:
    """Earlier district names ('quận 2', 'huyện Đất Đỏ', 'thị xã Bến Cát') for today's lookups."""
    by_code = {d.code: d for d in districts}
    aliases: dict[tuple[str, str], tuple[str | None, str, LegacyDistrict]] = {}
    for row in rows:
        district = by_code[row[4]]
        for alias in json.loads(row[6] or "[]"):
            match = _DISTRICT_ALIAS.fullmatch(alias)
            name = _spelled(match.group(2), spellings) if match else None
            if name is None or fold(name_key(name)) == fold(name_key(district.name)):
                continue
            accented = None if name.islower() else name_key(name)  # lower case marks a folded-only spelling
            aliases[(district.code, fold(name_key(name)))] = (accented, fold(name_key(name)), district)
    return tuple(aliases.values())


def _alias_keys(rows: list[tuple]) -> set[str]:
    keys = set()
    for row in rows:
        for column, pattern in ((10, _WARD_ALIAS), (6, _DISTRICT_ALIAS)):
            for alias in json.loads(row[column] or "[]"):
                match = pattern.fullmatch(alias)
                if match and not match.group(2).isdigit():
                    keys.add(match.group(2))
    return keys


def _spellings(db: sqlite3.Connection, keys: set[str]) -> dict[str, str]:
    """Accented spelling of each accent-free key, from every province's names; folded when they disagree."""
    if not keys:
        return {}
    marks = ",".join("?" * len(keys))
    seen: dict[str, Counter[str]] = {key: Counter() for key in keys}
    queries = (f"SELECT wardShortKey, wardShort FROM admin_units_legacy WHERE wardShortKey IN ({marks})",
               f"SELECT DISTINCT districtShortKey, districtShort, districtCode FROM admin_units_legacy "
               f"WHERE districtShortKey IN ({marks})",
               f"SELECT wardShortKey, wardShort FROM admin_units WHERE wardShortKey IN ({marks})")
    for query in queries:
        for key, spelled, *_ in db.execute(query, tuple(keys)):
            seen[key][spelled] += 1
    spellings = {}
    for key, counts in seen.items():
        if not counts:
            continue
        (best, count), total = counts.most_common(1)[0], sum(counts.values())
        spellings[key] = best if 3 * count >= 2 * total else fold(best.lower())
    return spellings


def _spelled(key: str, spellings: dict[str, str]) -> str | None:
    if key.isdigit():
        return key
    name = spellings.get(key) or ACCENT_SUPPLEMENT.get(key)
    if name is None:
        warnings.warn(f"vietnamadminunits: no spelling known for the older name {key!r}", stacklevel=2)
    return name


def _prefix(full_name: str, prefixes: tuple[str, ...]) -> str:
    for prefix in prefixes:
        if full_name.startswith(prefix + " "):
            return prefix
    raise ValueError(f"dataset.db: {full_name!r} starts with none of {prefixes}")
