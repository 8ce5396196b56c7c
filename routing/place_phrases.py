"""Find place phrases in an utterance: prefix words ("phường", "quận", "ở") and the names after them.

Accented text is matched exactly first, then by its folded spelling, then fuzzily (fuzz.ratio on names with
as many words as the span). An utterance typed without any diacritic is matched on folded spellings only,
so a folded name shared by two places (Thanh An / Thạnh An) comes back as both.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Generic, TypeVar

from routing.normalize import fold
from routing.place_names import NameIndex

T = TypeVar("T")

FUZZY_CUTOFF = 85.0  # fuzz.ratio for a name anywhere in the city ("thảo điềm" ~ "thảo điền" = 88.9)
CLOSE = 3.0  # a second name within this many points of the best makes the match ambiguous
MAX_ANCHORS = 32  # long inputs: only this many prefix words are examined
MAX_NUMBER = 3  # digits in a numbered ward or district ("phường 12")

WARD_PREFIXES = {("phường",): "Phường", ("xã",): "Xã", ("thị", "trấn"): "Thị trấn", ("đặc", "khu"): "Đặc khu"}
DISTRICT_PREFIXES = {("quận",): "Quận", ("huyện",): "Huyện", ("thành", "phố"): "Thành phố",
                     ("tp",): "Thành phố", ("thị", "xã"): "Thị xã", ("tx",): "Thị xã"}
BARE = frozenset({"ở", "tại"})
# Accent-free prefixes safe inside accented text (no Vietnamese word is spelled so); the rest of the folded
# prefixes ("xa", "quan", "o") count only in text typed without diacritics.
_SAFE_FOLDED = frozenset({("phuong",), ("huyen",), ("thanh", "pho"), ("thi", "tran"), ("dac", "khu")})
_GLUED = re.compile(r"([pq])([0-9]{1,3})")  # "p12", "q3" in typed text


@dataclass(frozen=True)
class Words:
    """An utterance as accented words and their folded twins, aligned one to one."""

    words: tuple[str, ...]
    folded: tuple[str, ...]
    accented: bool

    @classmethod
    def split(cls, text: str, folded: str | None = None) -> Words:
        """Words of normalised text; glued abbreviations ('p12') are separated."""
        words = [part for word in text.split() for part in _unglue(word)]
        fwords = [part for word in (folded or "").split() for part in _unglue(word)]
        if len(fwords) != len(words):
            fwords = [fold(word) or word for word in words]
        return cls(tuple(words), tuple(fwords), any(w != f for w, f in zip(words, fwords, strict=True)))

    def key(self, start: int, end: int) -> str:
        return " ".join(self.words[start:end])

    def fkey(self, start: int, end: int) -> str:
        return " ".join(self.folded[start:end])


@dataclass(frozen=True)
class Anchor:
    """A prefix word at pos; the name is expected from start on. level: 'ward', 'district' or 'bare'."""

    level: str
    prefix: str | None
    pos: int
    start: int


@dataclass(frozen=True)
class Hit(Generic[T]):
    """Places whose name is words[start:end]; method 'exact', 'folded' or 'fuzzy'; rivals are close names."""

    start: int
    end: int
    places: tuple[T, ...]
    method: str
    rivals: tuple[T, ...] = ()


def find_anchors(text: Words) -> list[Anchor]:
    """Prefix words in order; 'thị xã' is one district prefix, never 'xã'."""
    anchors: list[Anchor] = []
    i = 0
    while i < len(text.words) and len(anchors) < MAX_ANCHORS:
        anchor = _anchor_at(text, i)
        if anchor is None:
            i += 1
            continue
        anchors.append(anchor)
        i = anchor.start
    return anchors


def find_name(index: NameIndex[T], text: Words, start: int, *, min_words: int = 1,
              cutoff: float | None = FUZZY_CUTOFF) -> Hit[T] | None:
    """The longest name starting at start: exact, then folded, then (cutoff not None) the best fuzzy one."""
    if start >= len(text.words):
        return None
    if is_number(text.words[start]):
        return _numbered(index, text, start)
    longest = min(index.max_words, len(text.words) - start)
    for end in range(start + longest, start + min_words - 1, -1):
        if text.accented and (places := index.exact(text.key(start, end))):
            return Hit(start, end, places, "exact")
        if places := index.folded(text.fkey(start, end)):
            return Hit(start, end, places, "folded" if text.accented else "exact")
    return None if cutoff is None else _fuzzy(index, text, start, longest, cutoff)


def name_before(index: NameIndex[T], text: Words, end: int) -> Hit[T] | None:
    """The longest exact name of two words or more ending just before end ('thảo điền' in 'thảo điền quận 2')."""
    for start in range(max(0, end - index.max_words), end - 1):
        if text.accented and (places := index.exact(text.key(start, end))):
            return Hit(start, end, places, "exact")
        if places := index.folded(text.fkey(start, end)):
            return Hit(start, end, places, "folded" if text.accented else "exact")
    return None


def is_number(word: str) -> bool:
    """ASCII digits only: int() refuses '²', and a ward number is never written in another script."""
    return word.isascii() and word.isdigit()


def _numbered(index: NameIndex[T], text: Words, start: int) -> Hit[T] | None:
    digits = text.words[start]
    if len(digits) > MAX_NUMBER:
        return None
    places = index.exact(str(int(digits)))
    return Hit(start, start + 1, places, "exact") if places else None


def _fuzzy(index: NameIndex[T], text: Words, start: int, longest: int, cutoff: float) -> Hit[T] | None:
    scored: dict[str, tuple[float, int]] = {}
    for end in range(start + 1, start + longest + 1):
        span = text.key(start, end) if text.accented else text.fkey(start, end)
        for name, score in index.fuzzy(span, accented=text.accented, cutoff=cutoff):
            if score > scored.get(name, (0.0, 0))[0]:
                scored[name] = (score, end)
    if not scored:
        return None
    ranked = sorted(scored.items(), key=lambda item: (-item[1][0], -item[1][1], item[0]))
    best_name, (best, end) = ranked[0]
    lookup = index.exact if text.accented else index.folded
    rivals = tuple(place for name, (score, _) in ranked[1:] if score >= best - CLOSE for place in lookup(name))
    return Hit(start, end, lookup(best_name), "fuzzy", rivals)


def _anchor_at(text: Words, i: int) -> Anchor | None:
    words, folded = text.words, text.folded
    if words[i] not in _FIRST_WORDS:
        return None
    for size in (2, 1):
        exact, loose = words[i:i + size], folded[i:i + size]
        if len(exact) < size:
            continue
        unaccented = exact == loose and (not text.accented or loose in _SAFE_FOLDED)
        for level, table in (("ward", WARD_PREFIXES), ("district", DISTRICT_PREFIXES)):
            prefix = table.get(exact) or (_FOLDED[level].get(loose) if unaccented else None)
            if prefix:
                return Anchor(level, prefix, i, i + size)
    if words[i] in ("p", "q") and i + 1 < len(words):  # typed "p 12 q gò vấp", "p.12", "q3"
        return Anchor("ward" if words[i] == "p" else "district", "Phường" if words[i] == "p" else "Quận", i, i + 1)
    if words[i] in BARE or (not text.accented and words[i] in ("o", "tai")):
        return Anchor("bare", None, i, i + 1)
    return None


def _unglue(word: str) -> list[str]:
    match = _GLUED.fullmatch(word)
    return [match.group(1), match.group(2)] if match else [word]


_FOLDED = {
    "ward": {tuple(fold(w) for w in key): prefix for key, prefix in WARD_PREFIXES.items()},
    "district": {tuple(fold(w) for w in key): prefix for key, prefix in DISTRICT_PREFIXES.items()},
}
_FIRST_WORDS = frozenset({key[0] for table in (WARD_PREFIXES, DISTRICT_PREFIXES, *_FOLDED.values()) for key in table}
                         | BARE | {"p", "q", "o", "tai"})
