"""Words the engine speaks and listens for: category labels, spelled digits, templates, phrases."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping
from string import Formatter
from typing import TypeVar

from routing.normalize import normalize

T = TypeVar("T")

CATEGORY_LABELS: Mapping[str, str] = {
    "HT_DUONG": "Hạ tầng đường, vỉa hè, hố ga",
    "HT_NGAP": "Ngập nước, thoát nước",
    "HT_CHIEUSANG": "Chiếu sáng công cộng",
    "CAYXANH": "Cây xanh",
    "DIEN": "Điện lực",
    "CAPNUOC": "Cấp nước",
    "MOITRUONG": "Vệ sinh môi trường, rác, ô nhiễm",
    "TIENGON": "Tiếng ồn",
    "TTDT": "Trật tự đô thị",
    "TTXD": "Trật tự xây dựng",
    "GIAOTHONG": "Giao thông, an toàn giao thông",
    "XEBUYT": "Xe buýt, giao thông công cộng",
    "ANTT": "An ninh trật tự",
    "HANHCHINH": "Hành chính công",
    "YTE_ATTP": "Y tế, an toàn thực phẩm",
    "KHAC": "Khác, góp ý",
}
"""Category code → Vietnamese label (docs/domain.md); moves to config/categories.yaml later."""

UNKNOWN = "chưa xác định"
"""Spoken in place of a placeholder that has no value yet."""

SORRY = "Xin lỗi quý vị, tổng đài đang gặp sự cố. Chúng tôi sẽ liên hệ lại với quý vị sau."
"""Spoken when the engine has to end a call it cannot continue (a broken or changed menu)."""

DIGIT_WORDS = ("không", "một", "hai", "ba", "bốn", "năm", "sáu", "bảy", "tám", "chín")
NUMBER_WORDS = (*DIGIT_WORDS, "linh", "lẻ", "mười", "mươi", "trăm", "nghìn", "ngàn", "tư", "lăm", "mốt", "bẩy")
"""Words a caller may use to say a number; a recogniser's grammar when a number is expected."""



def spell_digits(number: str) -> str:
    """Say a number digit by digit: "1234" → "một, hai, ba, bốn" (other letters kept, separators dropped)."""
    words = []
    for char in number:
        if "0" <= char <= "9":
            words.append(DIGIT_WORDS[ord(char) - ord("0")])
        elif char.isalnum():
            words.append(char)
    return ", ".join(words)


def category_label(code: str | None) -> str | None:
    """The Vietnamese label of a category code, or None for an unknown code."""
    return CATEGORY_LABELS.get(code) if code is not None else None


def render(template: str, values: Mapping[str, str | None]) -> str:
    """Fill {placeholders} from values (missing ones read as UNKNOWN); never raises."""
    try:
        parts = list(Formatter().parse(template))
    except ValueError:
        return template
    text = []
    for literal, name, _spec, _conversion in parts:
        text.append(literal)
        if name is not None:
            text.append(values.get(name) or UNKNOWN)
    return unicodedata.normalize("NFC", "".join(text))


def fold(text: str) -> str:
    """Text as compared when matching speech: normalised like every utterance (NFC, lower case, tones, fillers)."""
    return normalize(text).text


def match_phrase(heard: str, choices: Iterable[tuple[Iterable[str], T]]) -> T | None:
    """The choice whose phrase occurs in heard as whole words; most words wins, a tie is no match."""
    padded = f" {fold(heard)} "
    best = 0
    winners: set[int] = set()
    options: list[T] = []
    for index, (phrases, choice) in enumerate(choices):
        options.append(choice)
        for phrase in phrases:
            folded = fold(phrase)
            if not folded or f" {folded} " not in padded:
                continue
            size = len(folded.split())
            if size > best:
                best, winners = size, {index}
            elif size == best:
                winners.add(index)
    return options[winners.pop()] if len(winners) == 1 else None
