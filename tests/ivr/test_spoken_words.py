"""ivr.prompts: spelled digits, category labels, templates and phrase matching."""

from __future__ import annotations

import unicodedata

import pytest

from ivr.prompts import CATEGORY_LABELS, UNKNOWN, category_label, fold, match_phrase, render, spell_digits

DOMAIN_CODES = {
    "HT_DUONG", "HT_NGAP", "HT_CHIEUSANG", "CAYXANH", "DIEN", "CAPNUOC", "MOITRUONG", "TIENGON",
    "TTDT", "TTXD", "GIAOTHONG", "XEBUYT", "ANTT", "HANHCHINH", "YTE_ATTP", "KHAC",
}


@pytest.mark.parametrize(("number", "spoken"), [
    ("1234", "một, hai, ba, bốn"),
    ("0567", "không, năm, sáu, bảy"),
    ("89", "tám, chín"),
    ("12-34", "một, hai, ba, bốn"),
    ("A7", "A, bảy"),
    ("", ""),
])
def test_spell_digits(number: str, spoken: str) -> None:
    assert spell_digits(number) == spoken
    assert unicodedata.is_normalized("NFC", spell_digits(number))


def test_category_labels_cover_the_domain_codes_in_nfc() -> None:
    assert set(CATEGORY_LABELS) == DOMAIN_CODES
    assert all(unicodedata.is_normalized("NFC", label) for label in CATEGORY_LABELS.values())
    assert category_label("HT_NGAP") == "Ngập nước, thoát nước"
    assert category_label("NOPE") is None
    assert category_label(None) is None


@pytest.mark.parametrize(("template", "values", "text"), [
    ("Mã số {case_number}.", {"case_number": "một, hai"}, "Mã số một, hai."),
    ("Lĩnh vực {category_label}.", {}, f"Lĩnh vực {UNKNOWN}."),
    ("Tình trạng: {case_status}.", {"case_status": None}, f"Tình trạng: {UNKNOWN}."),
    ("Dấu {{ngoặc}}.", {}, "Dấu {ngoặc}."),
    ("Hỏng {case_number", {}, "Hỏng {case_number"),
])
def test_render(template: str, values: dict[str, str | None], text: str) -> None:
    assert render(template, values) == text


def test_fold_normalises_case_accents_form_and_punctuation() -> None:
    assert fold(unicodedata.normalize("NFD", "  Đèn  ĐƯỜNG, hư! ")) == "đèn đường hư"


@pytest.mark.parametrize(("heard", "expected"), [
    ("tôi muốn báo đèn đường bị hư", "light"),  # the longer phrase beats "đường"
    ("ổ gà trên đường", "road"),
    ("đường", "road"),
    ("đến đường", "road"),
    ("đen", None),
    ("đèn đường và ổ gà", None),  # two phrases of the same length: no guess
    ("", None),
])
def test_match_phrase(heard: str, expected: str | None) -> None:
    choices = [(("đường", "ổ gà"), "road"), (("đèn đường", "ổ gà ngập"), "light")]
    assert match_phrase(heard, choices) == expected


def test_match_phrase_whole_words_only() -> None:
    assert match_phrase("điện thoại", [(("điện",), "power")]) == "power"
    assert match_phrase("điệnthoại", [(("điện",), "power")]) is None
