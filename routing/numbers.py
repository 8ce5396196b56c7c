"""Spoken Vietnamese numbers to digits, for addresses, dates, phone and case numbers.

Rules, tried in this order at each word of normalised text:
1. Protected names ("bảy hiền", the gazetteer's names passed by the caller) stay words.
2. A multi-word number converts anywhere: "mười hai" 12, "hai mốt" 21, "một trăm năm" 150 (a bare unit
   after trăm is the tens), "một trăm linh năm" 105, "hai nghìn không trăm hai mươi sáu" 2026.
   "năm" is never the unit after mười/mươi: "hai mươi năm" is twenty years, 25 is "hai mươi lăm".
3. Three or more digit words are a digit string, leading zeros kept ("không chín không ba…" 0903…),
   except a year after "năm" ("năm một chín bảy lăm" → "năm 1975") and a short run ending in "năm"
   ("hai ba năm", "chín chín năm": years).
4. Two digit words ("chín chín") are one number after a trigger word; elsewhere only in accented text
   and never with "không", with "năm" first or second ("hai năm": two years), or for consecutive
   digits, which are estimates ("hai ba người", "ba bốn ngày").
5. A lone number word converts only right after a trigger word (phường, quận, số, hẻm, lầu…), and not
   when a neighbour makes it another word ("nhà ba tôi", "tháng năm nay", "tư nhân", "ngày một tăng").
Text without any diacritic is read with folded tables, where "sau", "tu", "lam", "tram" and "ngan" are
more often other words (after, from, do, station, drawer) and so need a trigger to count as numbers.
"""

from __future__ import annotations

from collections.abc import Collection
from functools import lru_cache
from typing import NamedTuple

from routing.normalize import fold, normalize

# Kinds of number word, as bit flags: folded "muoi" is both mười and mươi, folded "mot" both một and mốt.
D, MOT, TU, LAM, TEN, TENS, HUNDRED, SCALE, LINH, HALF = (1 << bit for bit in range(10))
Token = tuple[int, int]  # (kinds, value)
Toks = list[Token | None]  # one per word; None for a word that is no number word or is protected
YEAR = (D, 5)  # "năm" is also "year": never a unit after mười/mươi or a bare digit after a scale

_ACCENTED_WORDS: dict[str, Token] = {
    "không": (D, 0), "một": (D, 1), "hai": (D, 2), "ba": (D, 3), "bốn": (D, 4), "năm": (D, 5),
    "sáu": (D, 6), "bảy": (D, 7), "bẩy": (D, 7), "tám": (D, 8), "chín": (D, 9),
    "mốt": (MOT, 1), "tư": (TU, 4), "lăm": (LAM, 5), "nhăm": (LAM, 5), "mười": (TEN, 10), "mươi": (TENS, 0),
    "trăm": (HUNDRED, 100), "nghìn": (SCALE, 1000), "ngàn": (SCALE, 1000), "triệu": (SCALE, 10**6),
    "tỷ": (SCALE, 10**9), "tỉ": (SCALE, 10**9), "linh": (LINH, 0), "lẻ": (LINH, 0), "rưỡi": (HALF, 0),
}

TRIGGERS = ("phường quận huyện số hẻm kiệt ngõ ngách tổ ấp lầu tầng lô căn phòng nhà ngày tháng mùng mồng "
            "lúc đường tuyến khu xẹt xuyệt").split()
"""Words after which a lone number word is a number ("khu phố" is checked as a pair; xẹt is the slash of 12/5)."""
# A lone number word followed by one of these is another word: year, father, private, "alone"...
_NOT_BEFORE = {
    "năm": "nay ngoái qua trước tới rồi xưa đó ấy kia học mới sau nào",
    "ba": "tôi em anh chị mình con cháu má mẹ nó ổng của nội ngoại vợ chồng",
    "tư": "nhân vấn pháp liệu cách thế duy tưởng bản gia thục trang",
    "một": "mình chút ít lát chiều cách số vài lúc",
}
# Folded homographs that are no numbers after these triggers: "ngay sau" (right after), "thang sau"
# (next month), "nha tu" (prison), "duong tu" (road from), "duong nam ky…".
_FOLDED_NOT_AFTER = {"sau": "ngay thang nha phong duong can luc", "tu": "ngay nha phong duong can luc",
                     "nam": "duong"}
DEFAULT_PROTECTED = ("bảy hiền", "hai bà trưng", "bà chiểu", "ba son", "tám danh", "nam kỳ khởi nghĩa")
"""Place names that contain number words, always protected."""


class _Tables(NamedTuple):
    words: dict[str, Token]
    triggers: frozenset[str]
    not_before: dict[str, frozenset[str]]
    not_after: dict[str, frozenset[str]]
    weak: frozenset[str]  # homographs that end a multi-word number only after a trigger
    folded: bool
    special: tuple[str, str, str, str]  # một, ngày, tháng, phố


def _tables(folded: bool) -> _Tables:
    """The tables for accented text, or for text typed without diacritics."""
    f = fold if folded else str
    words: dict[str, Token] = {}
    for word, (kinds, value) in _ACCENTED_WORDS.items():  # folded: một/mốt and mười/mươi merge
        old = words.get(f(word), (0, 0))
        words[f(word)] = (old[0] | kinds, max(old[1], value))
    if folded:
        del words["ty"], words["ti"]  # "một tí" is "a little"
    triggers = frozenset(f(word) for word in TRIGGERS if not (folded and word == "mồng"))  # mong = hope
    not_before = {f(word): frozenset(f(after).split()) for word, after in _NOT_BEFORE.items()}
    not_after = {w: frozenset(t.split()) for w, t in _FOLDED_NOT_AFTER.items()} if folded else {}
    weak = frozenset({"tu", "lam", "nham", "tram", "ngan"} if folded else ())
    return _Tables(words, triggers, not_before, not_after, weak, folded, (f("một"), f("ngày"), f("tháng"), f("phố")))


_ACCENTED, _FOLDED = _tables(False), _tables(True)


def _val(toks: Toks, i: int, kinds: int) -> int | None:
    """The value of token i when it is one of these kinds."""
    if i < len(toks) and (tok := toks[i]) is not None and tok[0] & kinds:
        return tok[1]
    return None


def _unit(toks: Toks, i: int, kinds: int) -> int | None:
    """A unit 1-9 after mười/mươi: not "năm" (the year), not a digit that starts its own tens."""
    value = _val(toks, i, kinds)
    return None if not value or toks[i] == YEAR or _val(toks, i + 1, TENS | HUNDRED) is not None else value


def _tens(toks: Toks, i: int) -> tuple[int, int] | None:
    """10-99: "mười [u]", "t mươi [u]", or the short form "hai mốt", "ba tư", "năm lăm"."""
    t = _val(toks, i, D)
    if t is not None and t >= 2:
        if _val(toks, i + 1, TENS) is not None:
            u = _unit(toks, i + 2, D | MOT | TU | LAM)
            return (t * 10 + u, i + 3) if u else (t * 10, i + 2)
        u = _val(toks, i + 1, MOT | TU | LAM)
        return (t * 10 + u, i + 2) if u is not None else None
    if _val(toks, i, TEN) is not None:
        u = _unit(toks, i + 1, D | TU | LAM)
        return (10 + u, i + 2) if u else (10, i + 1)
    return None


def _after_hundred(toks: Toks, i: int) -> tuple[int, int]:
    """What follows trăm: "linh năm" 5, "rưỡi" 50, tens, or a bare unit that means tens ("năm" 50)."""
    if _val(toks, i, LINH) is not None:
        u = _val(toks, i + 1, D | TU)
        return (u, i + 2) if u else (0, i)
    if _val(toks, i, HALF) is not None:
        return 50, i + 1
    tens = _tens(toks, i)
    if tens is not None:
        return tens
    u = _val(toks, i, D | TU | MOT)
    return (u * 10, i + 1) if u and _val(toks, i + 1, TENS | HUNDRED) is None else (0, i)


def _group(toks: Toks, i: int, inner: bool) -> tuple[int, int] | None:
    """0-999 starting at i; "không trăm" only inside a larger number."""
    h = _val(toks, i, D)
    if h is not None and (h or inner) and _val(toks, i + 1, HUNDRED) is not None:
        rest, end = _after_hundred(toks, i + 2)
        return h * 100 + rest, end
    if _val(toks, i, HUNDRED) is not None and _val(toks, i + 1, HALF) is not None:  # "trăm rưỡi"
        return 150, i + 2
    tens = _tens(toks, i)
    if tens is not None:
        return tens
    return (h, i + 1) if h is not None else None


def _after_scale(toks: Toks, i: int, scale: int) -> tuple[int, int, bool] | None:
    """What follows nghìn/triệu: (value, end, final), or None when nothing more belongs to the number."""
    if _val(toks, i, HALF) is not None:
        return scale // 2, i + 1, True
    if _val(toks, i, LINH) is not None:
        u = _val(toks, i + 1, D | TU)
        return (u, i + 2, True) if u else None
    group = _group(toks, i, inner=True)
    if group is not None and (group[1] > i + 1 or _val(toks, i, D) is None):
        nxt = _val(toks, group[1], SCALE)
        return None if nxt is not None and nxt >= scale else (group[0], group[1], False)
    bare, nxt = _val(toks, i, D | TU | MOT), _val(toks, i + 1, SCALE)
    if bare is not None and nxt is not None:
        return (bare, i + 1, False) if nxt < scale else None
    if bare and toks[i] != YEAR:  # "hai nghìn tư" 2400, "ba triệu hai" 3,200,000
        return bare * scale // 10, i + 1, True
    return None


def _number(toks: Toks, i: int) -> tuple[int, int] | None:
    """The number starting at i as (value, end); scales must decrease ("hai triệu ba trăm nghìn")."""
    group = _group(toks, i, inner=False)
    if group is None:
        return None
    (current, end), total, last = group, 0, 10**13
    while (scale := _val(toks, end, SCALE)) is not None and scale < last:
        total, last = total + current * scale, scale
        tail = _after_scale(toks, end + 1, scale)
        if tail is None:
            return total, end + 1
        current, end, final = tail
        if final:
            break
    return total + current, end


def _year(toks: Toks, i: int) -> tuple[str, int] | None:
    """A year said after "năm": "một chín bảy lăm" 1975, "hai không hai sáu" 2026."""
    century, decade = _val(toks, i, D), _val(toks, i + 1, D)
    if century not in (1, 2) or decade is None:
        return None
    tens = _tens(toks, i + 2)
    if tens is not None and _val(toks, tens[1], D) is None:
        return f"{century}{decade}{tens[0]}", tens[1]
    c, d = _val(toks, i + 2, D), _val(toks, i + 3, D)
    if c is None or d is None or _val(toks, i + 4, D) is not None:
        return None
    return f"{century}{decade}{c}{d}", i + 4


def _starts_number(toks: Toks, i: int) -> bool:
    """Whether a multi-word number starts at i."""
    return (number := _number(toks, i)) is not None and number[1] - i >= 2


def _digit_run(toks: Toks, i: int, trig: bool, force: bool) -> int:
    """End of the digit words from i, stopping before a multi-word number, a year or a trailing "năm"."""
    end = i + 1
    while _val(toks, end, D) is not None and (_val(toks, end + 1, D) is not None or not _starts_number(toks, end)):
        end += 1  # folded "ba mot" may be 31 but, between digit words, is two digits
    if force:
        return end
    for k in range(i, min(i + 3, end)):  # "tháng ba năm hai không hai sáu"
        if toks[k] == YEAR and _year(toks, k + 1) is not None:
            return k
    if not trig and end - i <= 3 and toks[end - 1] == YEAR:  # "chín chín năm", "hai ba năm": years
        return end - 1
    return end


def _pair_is_number(first: Token, second: Token, trig: bool, force: bool, folded: bool) -> bool:
    """Whether two digit words are one number ("chín chín" 99) rather than two words or an estimate."""
    a, b = first[1], second[1]
    plain = not folded and a >= 2 and first != YEAR and b != a + 1
    return force or (0 not in (a, b) and second != YEAR and (trig or plain))


def _lone(words: list[str], toks: Toks, i: int, trig: bool, tab: _Tables) -> int | None:
    """The value of a lone number word after a trigger, unless a neighbour makes it another word."""
    tok = toks[i]
    if not trig or tok is None or not tok[0] & (D | TU | TEN) or tok[1] == 0:
        return None
    word, prev = words[i], words[i - 1] if i else ""
    nxt = words[i + 1] if i + 1 < len(words) else ""
    one, day, month, _ = tab.special
    if nxt in tab.not_before.get(word, ()) or prev in tab.not_after.get(word, ()):
        return None
    return None if word == one and prev == day and nxt != month else tok[1]  # "ngày một tăng"


def _step(words: list[str], toks: Toks, i: int, tab: _Tables, force: bool, out: list[tuple[str, bool]]) -> int:
    """Emit the word or number at i and return where the next one starts."""
    prev = words[i - 1] if i else ""
    trig = force or prev in tab.triggers or (prev == tab.special[3] and i >= 2 and words[i - 2] == "khu")
    if toks[i] is None or (tab.folded and words[i] == "sau" and not trig):  # folded "sau" is mostly "after"
        out.append((words[i], False))
        return i + 1
    if toks[i] == YEAR and not trig and (year := _year(toks, i + 1)):
        out += [(words[i], False), (year[0], True)]
        return year[1]
    number = _number(toks, i)
    if number is not None and number[1] - i >= 2:
        end = number[1]
        weak = words[end - 1] in tab.weak and _val(toks, end - 2, D) is not None  # "hai tram": hai trạm?
        digits = _val(toks, i + 1, D) is not None and _digit_run(toks, i, trig, force) - i >= 3  # "ba mot hai"
        if (trig or not weak) and not digits:
            out.append((str(number[0]), True))
            return end
    if _val(toks, i, D) is not None:
        end = _digit_run(toks, i, trig, force)
        run = [tok for tok in toks[i:end] if tok]
        if len(run) >= 3 or (len(run) == 2 and _pair_is_number(run[0], run[1], trig, force, tab.folded)):
            out.append(("".join(str(tok[1]) for tok in run), True))
            return end
    value = _lone(words, toks, i, trig, tab)
    out.append((str(value), True) if value is not None else (words[i], False))
    return i + 1


Names = tuple[dict[str, tuple[tuple[str, ...], ...]], dict[str, tuple[tuple[str, ...], ...]]]


@lru_cache(maxsize=64)
def _compile(names: Collection[str]) -> Names:
    """Index multi-word names holding a number word by first word: as given, and folded."""
    indexes: tuple[dict[str, set[tuple[str, ...]]], ...] = ({}, {})
    for name in names:
        words = tuple(normalize(name, drop_fillers=False).words)
        fwords = tuple(fold(word) for word in words)
        if len(words) >= 2 and any(word in _FOLDED.words for word in fwords):
            for index, key in zip(indexes, (words, fwords)):
                index.setdefault(key[0], set()).add(key)
    exact, folded = ({key: tuple(value) for key, value in index.items()} for index in indexes)
    return exact, folded


_DEFAULT_NAMES = _compile(DEFAULT_PROTECTED)


def _shield(toks: Toks, words: list[str], folded: bool, names: Names) -> None:
    """Blank the tokens of protected names so they stay words."""
    index = names[1] if folded else names[0]  # a folded name guards folded text only: "thang tam" ≠ "tháng tám"
    for i, word in enumerate(words if index else ()):
        for name in index.get(word, ()):
            if tuple(words[i:i + len(name)]) == name:
                toks[i:i + len(name)] = [None] * len(name)


def _convert(text: str, protected: Collection[str], force: bool) -> list[tuple[str, bool]]:
    """The words of normalised text, number phrases replaced by digits and flagged True."""
    words, folded = text.split(), fold(text) == text
    tab = _FOLDED if folded else _ACCENTED
    toks: Toks = [tab.words.get(word) for word in words]
    if not any(toks):
        return [(word, False) for word in words]
    names = protected if isinstance(protected, (tuple, frozenset)) else tuple(protected)
    for index in (_DEFAULT_NAMES, _compile(names)):
        _shield(toks, words, folded, index)
    out: list[tuple[str, bool]] = []
    i = 0
    while i < len(words):
        i = _step(words, toks, i, tab, force, out)
    return out


def digitize(text: str, protected: Collection[str] = ()) -> str:
    """Spoken numbers in normalised text as digits: "phường mười hai" -> "phường 12"."""
    return " ".join(word for word, _ in _convert(text, protected, force=False))


def spoken_digits(text: str) -> str | None:
    """The digits of an utterance that is mostly a number ("một hai ba bốn" -> "1234"), else None."""
    best = current = ""
    for word, is_number in _convert(normalize(text).text, (), force=True) + [("", False)]:
        if is_number or (word.isascii() and word.isdigit()):
            current += word
        else:
            if current and len(current) >= len(best):  # the longest group; the last one on a tie
                best = current
            current = ""
    return best or None
