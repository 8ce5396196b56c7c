"""Resolve where a caller's problem is to one of today's 168 units, through whichever layer they named.

Input is normalised and digitised text ("phường 12 quận gò vấp"). Rules, in order:
1. Ward phrase (phường/xã/thị trấn/đặc khu + name) and an old district (quận/huyện/thành phố/thị xã + name,
   or a district name right after the ward): the old map is read first. The old ward of that district
   (exact, folded, or fuzz.ratio >= 80 among that district's wards) gives today's unit; a split old ward gives
   the official default, confirmed ("split"). If the district has no such ward, today's unit of that name
   wins, confirmed only when it lies outside the district ("district_mismatch").
2. Ward phrase alone: today's unit of that name wins when the prefix agrees (phường/xã/đặc khu), then an old
   ward whose prefix agrees ("thị trấn X" is always old), then today's unit, then old wards. Old wards of
   that name in several districts ("phường 12") are "ambiguous" with up to MAX_CANDIDATES units of today,
   or "needs_district" with none when there are more.
3. District phrase alone: "district_only" with the units of today that cover it (a single unit resolves).
4. No prefix: "ở/tại" + an exact name of two words or more, always confirmed ("no_prefix").
Fuzzy names are confirmed ("fuzzy"); names that fold alike or score within 3 points are "ambiguous".
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace

from routing.addresses import find_address
from routing.gazetteer import Gazetteer, LegacyDistrict, LegacyWard, Ward
from routing.place_phrases import Anchor, Hit, Words, find_anchors, find_name, is_number, name_before

MAX_CANDIDATES = 6
DISTRICT_FUZZY_CUTOFF = 80.0  # within one old district's ten-odd wards a looser match is safe
# Said without a prefix these mean the city or an old province, not today's wards of the same name.
NOT_PLACES = frozenset({"sài gòn", "sai gon", "bình dương", "binh duong", "hồ chí minh", "ho chi minh"})


@dataclass(frozen=True)
class PlaceMatch:
    """Where the caller said the problem is; ward is None when it could not be told."""

    ward: Ward | None = None
    legacy_ward: str | None = None
    legacy_district: str | None = None
    address: str | None = None
    needs_confirmation: bool = False
    candidates: list[Ward] = field(default_factory=list)
    reason: str | None = None


def resolve_place(gazetteer: Gazetteer, text: str, folded: str | None = None) -> PlaceMatch:
    """Today's unit (or candidates to confirm) and the address named in normalised, digitised text."""
    if not isinstance(text, str) or not text.strip():
        return PlaceMatch()
    words = Words.split(text, folded if isinstance(folded, str) else None)
    anchors = find_anchors(words)
    match = _locate(gazetteer, words, anchors)
    address = find_address(list(words.words), [anchor.pos for anchor in anchors])
    return replace(match, address=address) if address else match


def _locate(gaz: Gazetteer, text: Words, anchors: list[Anchor]) -> PlaceMatch:
    districts = [(a, hit) for a in anchors if a.level == "district"
                 if (hit := find_name(gaz.district_names, text, a.start)) and len(set(hit.places)) == 1]
    wards = [a for a in anchors if a.level == "ward"]
    hits = [(a, hit) for a in wards if (hit := find_name(gaz.ward_names, text, a.start))]
    if hits:
        anchor, hit = next(((a, h) for a, h in hits if h.method != "fuzzy"), hits[0])
        district = _district_after(gaz, text, hit) or _nearest(districts, anchor.pos)
        if district is not None:
            return _ward_in_district(gaz, text, anchor, hit, district)
        return _ward_alone(anchor.prefix, hit)
    for anchor in wards:  # a name unknown city-wide may still be one of the named district's wards
        district = _nearest(districts, anchor.pos)
        if district is not None and (old := _old_in_district(gaz, text, anchor.start, district)):
            return _from_old(old.places, old.method)
    if districts:
        anchor, hit = districts[0]
        before = name_before(gaz.wards_of_district[hit.places[0].code], text, anchor.pos)
        if before is not None:  # 'thảo điền quận 2': a ward name said without its prefix
            return _from_old(before.places, before.method)
        return _district_only(hit.places[0], hit.method)
    return _bare(gaz, text, anchors)


def _ward_in_district(gaz: Gazetteer, text: Words, anchor: Anchor, hit: Hit[Ward | LegacyWard],
                      district: LegacyDistrict) -> PlaceMatch:
    old = _old_in_district(gaz, text, anchor.start, district)
    if old is not None and old.method != "fuzzy":
        return _from_old(old.places, old.method)
    current = _current(hit.places)
    if len(current) == 1 and hit.method != "fuzzy" and (old is None or current[0] in district.wards):
        inside = current[0] in district.wards
        return PlaceMatch(current[0], legacy_district=district.full_name, needs_confirmation=not inside,
                          candidates=[] if inside else current, reason=None if inside else "district_mismatch")
    if old is not None:
        return _from_old(old.places, old.method)
    match = _ward_alone(anchor.prefix, hit)
    return replace(match, legacy_district=district.full_name, needs_confirmation=True,
                   candidates=match.candidates or _dedupe([match.ward]), reason=match.reason or "district_mismatch")


def _ward_alone(prefix: str | None, hit: Hit[Ward | LegacyWard]) -> PlaceMatch:
    current = _current(hit.places)
    old = [p for p in hit.places if isinstance(p, LegacyWard)]
    agreeing_old = [o for o in old if o.prefix == prefix]
    if current and (any(w.prefix == prefix for w in current) or not agreeing_old):
        rivals = [w for w in _targets(hit.rivals) if w not in current]
        if len(current) > 1:
            return PlaceMatch(None, needs_confirmation=True, candidates=_dedupe([*current, *rivals]),
                              reason="ambiguous")
        if hit.method == "fuzzy":
            return PlaceMatch(current[0], needs_confirmation=True, candidates=_dedupe([*current, *rivals]),
                              reason="ambiguous" if rivals else "fuzzy")
        return PlaceMatch(current[0])
    return _from_old(agreeing_old or old, hit.method, hit.rivals)


def _from_old(olds: Sequence[LegacyWard], method: str, rivals: Sequence[Ward | LegacyWard] = ()) -> PlaceMatch:
    """Today's unit for old wards of one name; several districts' wards of that name are ambiguous."""
    names = {o.full_name for o in olds}
    districts = {o.district.full_name for o in olds}
    said = {"legacy_ward": names.pop() if len(names) == 1 else None,
            "legacy_district": districts.pop() if len(districts) == 1 else None}
    targets = _dedupe(t for o in olds for t in o.targets)
    if len({o.targets for o in olds}) > 1:
        if len(targets) > MAX_CANDIDATES:
            return PlaceMatch(None, **said, needs_confirmation=True, reason="needs_district")
        return PlaceMatch(None, **said, needs_confirmation=True, candidates=targets, reason="ambiguous")
    if method == "fuzzy":
        others = [w for w in _targets(rivals) if w not in targets]
        return PlaceMatch(targets[0], **said, needs_confirmation=True, candidates=_dedupe([*targets, *others]),
                          reason="ambiguous" if others else "fuzzy")
    if len(targets) > 1:
        return PlaceMatch(targets[0], **said, needs_confirmation=True, candidates=targets, reason="split")
    return PlaceMatch(targets[0], **said)


def _district_only(district: LegacyDistrict, method: str) -> PlaceMatch:
    if len(district.wards) == 1 and method != "fuzzy":
        return PlaceMatch(district.wards[0], legacy_district=district.full_name)
    return PlaceMatch(None, legacy_district=district.full_name, needs_confirmation=True,
                      candidates=list(district.wards), reason="district_only")


def _bare(gaz: Gazetteer, text: Words, anchors: list[Anchor]) -> PlaceMatch:
    """'ở thảo điền': exact names of two words or more after ở/tại, always confirmed."""
    for anchor in anchors:
        if anchor.level != "bare" or anchor.start >= len(text.words) or is_number(text.words[anchor.start]):
            continue
        ward = find_name(gaz.ward_names, text, anchor.start, min_words=2, cutoff=None)
        district = find_name(gaz.district_names, text, anchor.start, min_words=2, cutoff=None)
        end = max(ward.end if ward else 0, district.end if district else 0)
        if end == 0 or text.key(anchor.start, end) in NOT_PLACES or text.fkey(anchor.start, end) in NOT_PLACES:
            continue
        if district is not None and district.end == end:
            old = district.places[0]
            same_name = _current(ward.places) if ward is not None and ward.end == end else []
            return PlaceMatch(None, legacy_district=old.full_name, needs_confirmation=True,
                              candidates=_dedupe([*same_name, *old.wards]),
                              reason="ambiguous" if same_name else "district_only")
        if ward is None:
            continue
        match = _ward_alone(None, ward)
        return replace(match, needs_confirmation=True, candidates=match.candidates or _dedupe([match.ward]),
                       reason=match.reason or "no_prefix")
    return PlaceMatch()


def _old_in_district(gaz: Gazetteer, text: Words, start: int, district: LegacyDistrict) -> Hit[LegacyWard] | None:
    index = gaz.wards_of_district.get(district.code)
    hit = find_name(index, text, start, cutoff=DISTRICT_FUZZY_CUTOFF) if index is not None else None
    return hit if hit is not None and len({o.full_name for o in hit.places}) == 1 else None


def _district_after(gaz: Gazetteer, text: Words, hit: Hit[Ward | LegacyWard]) -> LegacyDistrict | None:
    """A district named straight after the ward without its prefix: 'phường phú cường thủ dầu một'."""
    if hit.end >= len(text.words) or is_number(text.words[hit.end]):
        return None
    after = find_name(gaz.district_names, text, hit.end, cutoff=None)
    return after.places[0] if after is not None and len(set(after.places)) == 1 else None


def _nearest(districts: list[tuple[Anchor, Hit[LegacyDistrict]]], pos: int) -> LegacyDistrict | None:
    if not districts:
        return None
    _, hit = min(districts, key=lambda item: (abs(item[0].pos - pos), item[0].pos < pos))
    return hit.places[0]


def _current(places: Iterable[Ward | LegacyWard]) -> list[Ward]:
    return _dedupe(p for p in places if isinstance(p, Ward))


def _targets(places: Iterable[Ward | LegacyWard]) -> list[Ward]:
    return _dedupe(t for p in places for t in ((p,) if isinstance(p, Ward) else p.targets))


def _dedupe(wards: Iterable[Ward | None]) -> list[Ward]:
    seen: dict[str, Ward] = {}
    for ward in wards:
        if ward is not None:
            seen.setdefault(ward.code, ward)
    return list(seen.values())
