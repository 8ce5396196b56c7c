"""Normalise Vietnamese text from a recogniser or a keyboard: NFC, lower case, one tone placement,
no fillers; the folded (diacritic-free) form is kept beside the accented one, never instead of it."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

# Combining marks of the five Vietnamese tones (after NFD): grave, acute, hook, tilde, dot below.
TONES = "\u0300\u0301\u0309\u0303\u0323"
# Pure fillers of spoken Vietnamese; words with meaning ("là", "thì") are kept, and so is "nha"
# (a filler when spoken, but "nhà" when typed without diacritics: "xa nha be" is Xã Nhà Bè).
FILLERS = frozenset({"dạ", "vâng", "ạ", "ờ", "ừ", "ừm", "ờm", "ơ", "à", "ừa", "um", "uhm", "hmm", "nhé"})
_WORD = re.compile(r"[^\W_]+", re.UNICODE)
# Old-style tone on the last vowel of a final oa/oe/uy ("hoà", "thuỷ") moves to the first ("hòa", "thủy").
# The lookahead also refuses a second combining mark: NFD puts the dot below before a circumflex,
# so "thuận" (u, a, dot below, circumflex) is not an old-style "uạ".
_OLD_STYLE = re.compile(rf"(?<![qQ])([oOuU])([aAeEyY])([{TONES}])(?![\u0300-\u036f]|[^\W\d_])")


@dataclass(frozen=True)
class Normalized:
    """A normalised utterance: accented text, its folded twin, and the words of each."""

    text: str
    folded: str

    @property
    def words(self) -> list[str]:
        """Accented words in order."""
        return self.text.split()

    @property
    def folded_words(self) -> list[str]:
        """Folded words in order, aligned one to one with words."""
        return self.folded.split()


def normalize(raw: str, *, drop_fillers: bool = True) -> Normalized:
    """NFC, lower case, unified tone placement, punctuation to spaces, fillers dropped."""
    text = unify_tones(unicodedata.normalize("NFC", raw).lower())
    words = _WORD.findall(text)
    if drop_fillers:
        words = [word for word in words if word not in FILLERS]
    joined = " ".join(words)
    return Normalized(joined, fold(joined))


def unify_tones(text: str) -> str:
    """Put the tone mark of a word-final oa, oe, uy on its first vowel, the spelling of official names."""
    decomposed = unicodedata.normalize("NFD", text)
    return unicodedata.normalize("NFC", _OLD_STYLE.sub(r"\1\3\2", decomposed))


def fold(text: str) -> str:
    """Remove every diacritic and map đ to d: 'Đường ngập' -> 'duong ngap'."""
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))
