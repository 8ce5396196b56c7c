"""Look place names up by exact accented key, by folded key, or fuzzily among names of the same length."""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache
from typing import Generic, TypeVar

from rapidfuzz import fuzz, process

from routing.normalize import normalize

T = TypeVar("T")


@lru_cache(maxsize=4096)
def name_key(name: str) -> str:
    """The key a place name is indexed under: the same normalisation callers' text gets."""
    return normalize(name, drop_fillers=False).text


class NameIndex(Generic[T]):
    """Names to places. Accented keys are trusted; folded keys are a fallback that may hold several places."""

    def __init__(self, entries: Iterable[tuple[str | None, str, T]]) -> None:
        """entries: (accented key or None when only the folded spelling is known, folded key, place)."""
        self._exact: dict[str, list[T]] = {}
        self._folded: dict[str, list[T]] = {}
        accented: dict[int, set[str]] = {}
        folded: dict[int, set[str]] = {}
        for key, fkey, value in entries:
            if key:
                _add(self._exact, key, value)
                accented.setdefault(len(key.split()), set()).add(key)
            _add(self._folded, fkey, value)
            folded.setdefault(len(fkey.split()), set()).add(fkey)
        self._choices = {n: sorted(keys) for n, keys in accented.items()}
        self._folded_choices = {n: sorted(keys) for n, keys in folded.items()}
        self.max_words = max(self._folded_choices, default=0)

    def exact(self, key: str) -> tuple[T, ...]:
        """Places whose accented name is exactly key."""
        return tuple(self._exact.get(key, ()))

    def folded(self, fkey: str) -> tuple[T, ...]:
        """Places whose name folds to fkey (Thanh An and Thạnh An both answer 'thanh an')."""
        return tuple(self._folded.get(fkey, ()))

    def fuzzy(self, span: str, *, accented: bool, cutoff: float) -> list[tuple[str, float]]:
        """Names with as many words as span scoring at least cutoff with fuzz.ratio, best first."""
        choices = (self._choices if accented else self._folded_choices).get(len(span.split()))
        if not choices:
            return []
        found = process.extract(span, choices, scorer=fuzz.ratio, processor=None,
                                score_cutoff=cutoff, limit=4)
        return [(name, score) for name, score, _ in found]


def _add(table: dict[str, list[T]], key: str, value: T) -> None:
    bucket = table.setdefault(key, [])
    if not any(existing is value for existing in bucket):
        bucket.append(value)
