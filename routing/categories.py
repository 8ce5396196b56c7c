"""Complaint category of an utterance from the weighted cue phrases of categories.yaml; pure, compiled once.

Matching works on whole words. "bị", "đã", "đang"… (SKIP_WORDS) are dropped from phrases and utterances
alike, so "cống bị tắc" is "cống tắc". A span of words matches a phrase
  exact   when its accented words are the phrase's                                  quality 1.0
  folded  when its folded words are and every differing word was typed without
          diacritics. Readings that share the folded form split it: "den duong" is
          đèn đường or the negative đến đường, and a negative counts half, so
          đèn đường gets 1/(1 + 0.5). One-word phrases only match this way in
          text typed without diacritics.                                            quality 0.9 × share
  fuzzy   when a phrase of two or more words (5+ characters) is one edit away
          (two from 12 characters): a wrong tone mark, a dropped, added or
          changed letter. Typed text: one edit, 8+ characters.                      quality 0.8
Spans are taken longest first, then by quality, then leftmost, and a word belongs to one span: once
"số điện thoại" (a negative of DIEN) holds its words, "điện" cannot count inside it.
A hit scores weight × quality × position × consequence. Position falls linearly from 1 for the first word
to 0.7 for the last (the main complaint tends to come first); a phrase right after "sợ", "gây", "đè"…
(CONSEQUENCE_MARKERS) is a consequence of the complaint and counts 0.6. Each phrase counts once; a
category scores the sum of its hits. The best category must reach MIN_SCORE, else the answer is KHAC
with confidence 0. Confidence = (1 - exp(-best / 2)) × best / (best + second): the absolute evidence
times the share of the top two, so a lone weight-3 cue gives 0.78 and a tie at most half of that.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from rapidfuzz.distance import Indel, Levenshtein

from config.catalog import Catalog
from routing.normalize import Normalized, fold, normalize

FALLBACK = "KHAC"
MIN_SCORE = 1.0
"""Evidence a category needs to beat KHAC: one weight-1 cue at the very start of the utterance."""
STRENGTH_SCALE = 2.0
POSITION_DROP = 0.3
CONSEQUENCE = 0.6
CONSEQUENCE_MARKERS = frozenset({
    "sợ", "lo", "gây", "gây ra", "khiến", "khiến cho", "làm cho", "dễ", "đè", "đè lên", "dẫn đến", "dẫn tới",
    "ảnh hưởng", "ảnh hưởng đến", "ảnh hưởng tới", "nguy cơ", "kéo theo",
})
"""Words after which a cue names a consequence, not the complaint ("sợ cướp giật", "đè đứt dây điện")."""
SKIP_WORDS = frozenset({"bị", "đã", "đang", "rất", "cái", "thì", "là", "cũng", "vẫn", "cứ", "hơi"})
"""Words that carry no category; dropped from phrases and utterances before matching."""
PLAIN_SKIP_WORDS = frozenset({"bi"})
"""Folded skip words safe to drop from text typed without diacritics ("da" may be đá, "la" may be la hét)."""
NEGATIVE_SHARE = 0.5
"""How much a negative reading of a folded span counts against the phrases that read the same."""
MAX_WORDS = 300
"""Longer input is cut: complaints are a few sentences and the cost must stay bounded."""
MIN_FUZZY_CHARS, MIN_TYPED_FUZZY_CHARS, MIN_CORRECTED_CHARS, MIN_CHANGED_CHARS = 5, 8, 3, 5
MAX_CORRECTED_CHARS = 12
"""Longer words are not corrected: a Vietnamese syllable has at most 7 letters, loanwords a few more."""
KINDS = {3: "exact", 2: "folded", 1: "fuzzy"}
QUALITY = {3: 1.0, 2: 0.9, 1: 0.8}
_FOLDED_MARKERS = frozenset(fold(marker) for marker in CONSEQUENCE_MARKERS)


@dataclass(frozen=True)
class Hit:
    """A phrase found in the utterance: words start..end of Normalized.words, how it matched, its score."""

    code: str
    phrase: str
    heard: str
    start: int
    end: int
    kind: str
    score: float


@dataclass(frozen=True)
class CategoryResult:
    """The category of an utterance, confidence 0..1, the runner-up and its confidence, and the hits."""

    code: str
    label: str
    confidence: float
    runner_up: tuple[str, float] | None
    hits: tuple[Hit, ...]


@dataclass(frozen=True, slots=True)
class _Entry:
    code: str | None  # None: a negative phrase
    phrase: str
    weight: float
    words: tuple[str, ...]
    folded: tuple[str, ...]


_Match = tuple[int, int, int, float, tuple[_Entry, ...]]
"""start, end (token positions), rank (3 exact, 2 folded, 1 fuzzy), factor, positive entries (none: a negative)."""


class Classifier:
    """The catalog's phrases compiled into lookup tables; classify() depends on the text alone."""

    def __init__(self, catalog: Catalog) -> None:
        self.labels = {code: category.label for code, category in catalog.categories.items()}
        entries = _compile(catalog)
        self.max_len = max((len(e.words) for e in entries), default=1)
        grouped = _group(entries, lambda e: " ".join(e.words))
        # A phrase of one category outweighs another category's negative with the same words.
        self.exact = {key: tuple(e for e in group if e.code) for key, group in grouped.items()}
        kept = [e for group in grouped.values() for e in group if e.code or not any(g.code for g in group)]
        self.readings = {key: tuple(group) for key, group in _group(kept, lambda e: " ".join(e.folded)).items()}
        self.prefixes = _prefixes(self.exact) | _prefixes(self.readings)
        self.vocabulary = {word for entry in entries for word in entry.folded}
        self.accented = {word for entry in entries for word in entry.words}
        self.slots: dict[str, set[tuple[int, int]]] = {}  # folded word -> (phrase length, position) pairs
        self.pairs: set[tuple[str, str]] = set()  # neighbouring folded words in a phrase
        for entry in kept:
            if entry.code and len(entry.words) > 1:
                for position, word in enumerate(entry.folded):
                    self.slots.setdefault(word, set()).add((len(entry.words), position))
                self.pairs.update(zip(entry.folded, entry.folded[1:]))
        self.deletions: dict[str, set[str]] = {}
        for word in self.slots:
            for key in _deletions(word) | {word}:
                self.deletions.setdefault(key, set()).add(word)
        self._corrections: dict[str, tuple[tuple[str, int, int], ...]] = {}

    def classify(self, norm: Normalized) -> CategoryResult:
        """The category of one normalised utterance; KHAC with confidence 0 when nothing scores enough."""
        all_words = norm.words[:MAX_WORDS]
        all_folded = norm.folded_words[:MAX_WORDS]
        if len(all_folded) != len(all_words):
            all_folded = [fold(word) for word in all_words]
        index = [i for i, (word, flat) in enumerate(zip(all_words, all_folded))
                 if word not in SKIP_WORDS and not (word == flat and word in PLAIN_SKIP_WORDS)]
        words, flats = [all_words[i] for i in index], [all_folded[i] for i in index]
        plains = [word == flat for word, flat in zip(words, flats)]
        typed = sum(plains) * 4 >= len(plains) * 3 > 0  # mostly without diacritics: typed, not recognised
        matches = self._spans(words, flats, plains, typed) + self._corrected(words, flats, typed)
        hits = self._score(_choose(matches), index, words, flats, plains, all_words)
        return self._decide(hits)

    def _spans(self, words: list[str], flats: list[str], plains: list[bool], typed: bool) -> list[_Match]:
        """Exact and folded matches of every span whose words start some phrase."""
        exact, readings, prefixes, longest = self.exact, self.readings, self.prefixes, self.max_len
        found: list[_Match] = []
        n = len(words)
        for i in range(n):
            key, flat, k = words[i], flats[i], 1
            while key in prefixes or flat in prefixes:
                entries = exact.get(key)
                if entries is not None:
                    found.append((i, i + k, 3, 1.0, entries))
                elif flat in readings:
                    found += self._folded(i, k, readings[flat], words, plains, typed)
                if k == longest or i + k == n:
                    break
                key, flat, k = f"{key} {words[i + k]}", f"{flat} {flats[i + k]}", k + 1
        return found

    def _folded(self, i: int, k: int, readings: tuple[_Entry, ...], words: list[str], plains: list[bool],
                typed: bool) -> list[_Match]:
        """Readings of a span with the right letters: typed without diacritics, or a wrong tone mark heard."""
        fits = [e for e in readings if all(words[i + j] == w or plains[i + j] for j, w in enumerate(e.words))]
        if fits:
            if k == 1 and not typed:
                return []
            positive = tuple(e for e in fits if e.code)
            return [(i, i + k, 2, 1 / (len(positive) + NEGATIVE_SHARE * (len(fits) - len(positive))), positive)]
        if k == 1:
            return []
        heard = " ".join(words[i:i + k])
        return [(i, i + k, 1, 1.0, (e,)) for e in readings if e.code and _close(heard, e.phrase, False)]

    def _corrected(self, words: list[str], flats: list[str], typed: bool) -> list[_Match]:
        """Phrases of two or more words with one word misheard or mistyped by a letter."""
        found: list[_Match] = []
        n, vocabulary, pairs = len(words), self.vocabulary, self.pairs
        known = vocabulary if typed else self.accented
        for p, flat in enumerate(flats):
            if (flat if typed else words[p]) in known or not MIN_CORRECTED_CHARS <= len(flat) <= MAX_CORRECTED_CHARS:
                continue
            if not (p > 0 and flats[p - 1] in vocabulary or p + 1 < n and flats[p + 1] in vocabulary):
                continue  # a phrase of two or more words around p would need a known neighbour
            for word, length, position in self._correct(flat):
                start = p - position
                if start < 0 or start + length > n:
                    continue
                if (flats[p - 1], word) not in pairs if position else (word, flats[p + 1]) not in pairs:
                    continue
                key = " ".join([*flats[start:p], word, *flats[p + 1:start + length]])
                heard = " ".join(flats[start:start + length] if typed else words[start:start + length])
                for entry in self.readings.get(key, ()):
                    if entry.code and _close(heard, key if typed else entry.phrase, typed):
                        found.append((start, start + length, 1, 1.0, (entry,)))
        return found

    def _correct(self, flat: str) -> tuple[tuple[str, int, int], ...]:
        """Other words flat may stand for (a letter dropped or added, or changed in a word of 5+ letters:
        "chy" is not "chờ"), each with its (phrase length, position) slots. Cached: place names recur."""
        known = self._corrections.get(flat)
        if known is None:
            near = set().union(*(self.deletions.get(key, ()) for key in _deletions(flat) | {flat}))
            near.discard(flat)  # a wrong tone mark only: _folded compares those spans
            words = sorted(w for w in near if Indel.distance(flat, w, score_cutoff=1) <= 1
                           or len(flat) >= MIN_CHANGED_CHARS and Levenshtein.distance(flat, w) <= 1)
            known = tuple((w, length, position) for w in words for length, position in sorted(self.slots[w]))
            if len(self._corrections) < 50_000:
                self._corrections[flat] = known
        return known

    def _score(self, chosen: list[_Match], index: list[int], words: list[str], flats: list[str],
               plains: list[bool], all_words: list[str]) -> list[Hit]:
        best: dict[tuple[str, str], Hit] = {}
        total = len(all_words)
        for start, end, rank, factor, entries in chosen:
            first, last = index[start], index[end - 1] + 1
            factor *= QUALITY[rank] * (1 - POSITION_DROP * first / total)
            if _after_marker(start, words, flats, plains):
                factor *= CONSEQUENCE
            heard = " ".join(all_words[first:last])
            for entry in entries:
                hit = Hit(entry.code or FALLBACK, entry.phrase, heard, first, last, KINDS[rank],
                          round(entry.weight * factor, 4))
                key = (hit.code, hit.phrase)
                if key not in best or hit.score > best[key].score:
                    best[key] = hit
        return sorted(best.values(), key=lambda h: (-h.score, h.start))

    def _decide(self, hits: list[Hit]) -> CategoryResult:
        """Best category by summed score; ties go to the category mentioned first."""
        scores: dict[str, float] = {}
        for hit in hits:
            scores[hit.code] = scores.get(hit.code, 0.0) + hit.score
        first = {hit.code: hit.start for hit in sorted(hits, key=lambda h: -h.start)}
        ranked = sorted(scores.items(), key=lambda item: (-item[1], first[item[0]]))
        if not ranked:
            return CategoryResult(FALLBACK, self._label(FALLBACK), 0.0, None, ())
        best, second = ranked[0][1], ranked[1][1] if len(ranked) > 1 else 0.0
        strength = 1 - math.exp(-best / STRENGTH_SCALE)
        shares = [(code, round(strength * score / (best + second), 4)) for code, score in ranked[:2]]
        if best < MIN_SCORE and shares[0][0] != FALLBACK:
            return CategoryResult(FALLBACK, self._label(FALLBACK), 0.0, shares[0], tuple(hits))
        code, confidence = shares[0]
        return CategoryResult(code, self._label(code), confidence, shares[1] if len(shares) > 1 else None,
                              tuple(hits))

    def _label(self, code: str) -> str:
        return self.labels.get(code) or ("Khác" if code == FALLBACK else code)


def _compile(catalog: Catalog) -> list[_Entry]:
    """Phrases and negatives normalised like utterances (tones unified, skip words dropped), merged."""
    merged: dict[tuple[str | None, str], _Entry] = {}
    for code, category in catalog.categories.items():
        items: list[tuple[str | None, str, float]] = [(code, p.text, p.weight) for p in category.phrases]
        items += [(None, text, 0.0) for text in category.negative]
        for owner, text, weight in items:
            norm = normalize(text, drop_fillers=False)
            kept = [(w, f) for w, f in zip(norm.words, norm.folded_words) if w not in SKIP_WORDS]
            if not kept:
                continue
            entry = _Entry(owner, " ".join(w for w, _ in kept), weight, tuple(w for w, _ in kept),
                           tuple(f for _, f in kept))
            previous = merged.get((owner, entry.phrase))
            if previous is None or entry.weight > previous.weight:
                merged[(owner, entry.phrase)] = entry  # the same words twice count once, at the larger weight
    return list(merged.values())


def _group(entries: Iterable[_Entry], key_of: Callable[[_Entry], str]) -> dict[str, list[_Entry]]:
    groups: dict[str, list[_Entry]] = {}
    for entry in entries:
        groups.setdefault(key_of(entry), []).append(entry)
    return groups


def _prefixes(keys: Iterable[str]) -> set[str]:
    found = set()
    for key in keys:
        words = key.split()
        found.update(" ".join(words[:k]) for k in range(1, len(words) + 1))
    return found


def _deletions(word: str) -> set[str]:
    return {word[:i] + word[i + 1:] for i in range(len(word))} if len(word) >= MIN_CORRECTED_CHARS else set()


def _close(heard: str, target: str, typed: bool) -> bool:
    """One edit apart (two for phrases of 12+ characters); long enough that one edit is not another word."""
    if len(target) < (MIN_TYPED_FUZZY_CHARS if typed else MIN_FUZZY_CHARS):
        return False
    edits = 1 if typed or len(target) < 12 else 2
    return Levenshtein.distance(heard, target, score_cutoff=edits) <= edits


def _choose(matches: list[_Match]) -> list[_Match]:
    """Longest spans first, then the better kind, then leftmost; each word goes to one span at most."""
    used: set[int] = set()
    chosen = []
    for match in sorted(matches, key=lambda m: (m[0] - m[1], -m[2], m[0], bool(m[4]))):
        span = range(match[0], match[1])
        if used.isdisjoint(span):
            used.update(span)
            if match[4]:
                chosen.append(match)
    return chosen


def _after_marker(start: int, words: list[str], flats: list[str], plains: list[bool]) -> bool:
    """Whether the one or two words before start are a consequence marker ("sợ", "gây ra")."""
    before = [flats[j] if plains[j] else words[j] for j in range(max(0, start - 2), start)]
    if not before:
        return False
    markers = _FOLDED_MARKERS if plains[start - 1] else CONSEQUENCE_MARKERS
    return before[-1] in markers or " ".join(before) in markers
