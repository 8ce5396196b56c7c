"""Spoken Vietnamese numbers to digits: addresses, dates, phone and case numbers, and the word traps."""

from __future__ import annotations

import time
from collections.abc import Collection

import pytest

from routing.normalize import normalize
from routing.numbers import digitize, spoken_digits

TENS = [
    ("phường mười", "phường 10"),
    ("mười hai", "12"),
    ("mười một", "11"),
    ("mười lăm", "15"),
    ("mười nhăm", "15"),
    ("mười tư", "14"),
    ("hai mươi", "20"),
    ("hai mốt", "21"),
    ("hai mươi mốt", "21"),
    ("hai mươi một", "21"),
    ("hai mươi lăm", "25"),
    ("ba mươi tư", "34"),
    ("hai tư giờ", "24 giờ"),
    ("năm lăm", "55"),
    ("bảy nhăm", "75"),
    ("năm mươi", "50"),
    ("chín chín phần trăm", "99 phần trăm"),  # two digit words, not consecutive: a short tens form
    ("số chín chín", "số 99"),
    ("hai mươi năm", "20 năm"),  # twenty years: 25 is "hai mươi lăm"
    ("mười năm", "mười năm"),  # ten years; a lone mười needs a trigger
    ("hai mươi hai mươi", "20 20"),
]
HUNDREDS = [
    ("một trăm", "100"),
    ("một trăm năm", "150"),  # a bare unit after trăm is the tens
    ("hẻm một trăm năm", "hẻm 150"),
    ("một trăm linh năm", "105"),
    ("một trăm lẻ năm", "105"),
    ("một trăm linh tư", "104"),
    ("hai trăm mười hai", "212"),
    ("ba trăm hai mươi", "320"),
    ("số nhà một trăm hai mươi ba", "số nhà 123"),
    ("trăm rưỡi", "150"),
    ("một trăm rưỡi", "150"),
    ("một trăm mốt", "110"),
    ("một trăm tư", "140"),
    ("hàng trăm người", "hàng trăm người"),
]
THOUSANDS = [
    ("hai nghìn không trăm hai mươi sáu", "2026"),
    ("hai ngàn hai mươi sáu", "2026"),
    ("hai nghìn lẻ năm", "2005"),
    ("hai nghìn tư", "2400"),
    ("nghìn", "nghìn"),
    ("hai mươi lăm nghìn đồng", "25000 đồng"),
    ("hai triệu ba trăm nghìn", "2300000"),
    ("hai nghìn không đủ", "2000 không đủ"),  # "không" after a scale is "not"
    ("hai nghìn năm", "2000 năm"),  # two thousand years
    ("hàng nghìn người", "hàng nghìn người"),
]
DIGIT_STRINGS = [
    ("một không hai hai", "1022"),
    ("gọi một không hai hai", "gọi 1022"),
    ("không chín không ba một hai ba bốn năm sáu", "0903123456"),
    ("số điện thoại không chín một hai ba bốn năm sáu bảy tám", "số điện thoại 0912345678"),
    ("một hai ba", "123"),
    ("chín chín chín", "999"),
    ("không không không", "000"),
]
DATES = [
    ("năm hai nghìn không trăm hai mươi sáu", "năm 2026"),
    ("năm một chín bảy lăm", "năm 1975"),
    ("năm một chín chín ba", "năm 1993"),
    ("ngày mười lăm tháng ba năm hai không hai sáu", "ngày 15 tháng 3 năm 2026"),
    ("ngày một tháng năm", "ngày 1 tháng 5"),
    ("tháng năm năm nay", "tháng 5 năm nay"),
    ("mùng hai tết", "mùng 2 tết"),
    ("lúc năm giờ", "lúc 5 giờ"),
]
TRIGGERED = [
    ("phường mười hai quận gò vấp", "phường 12 quận gò vấp"),
    ("quận năm", "quận 5"),
    ("lầu ba", "lầu 3"),
    ("đường số tư", "đường số 4"),
    ("phường bảy", "phường 7"),
    ("tổ bẩy", "tổ 7"),
    ("khu phố ba", "khu phố 3"),
    ("ấp bốn xã bình lợi", "ấp 4 xã bình lợi"),
    ("kiệt năm", "kiệt 5"),
    ("tầng tám", "tầng 8"),
    ("tuyến tám", "tuyến 8"),
    ("tháng tư", "tháng 4"),
    ("đường ba tháng hai", "đường 3 tháng 2"),
    ("phòng hai ba", "phòng 23"),  # two digit words after a trigger are one number
    ("tổ mười lăm khu phố hai", "tổ 15 khu phố 2"),
    ("hẻm hai trăm linh một xẹt năm", "hẻm 201 xẹt 5"),
]
TRAPS = [
    ("năm nay", "năm nay"),
    ("ba tôi", "ba tôi"),
    ("có một cái cây", "có một cái cây"),
    ("tư nhân", "tư nhân"),
    ("phòng khám tư nhân", "phòng khám tư nhân"),
    ("nhà tôi có ba người", "nhà tôi có ba người"),
    ("sau năm giờ", "sau năm giờ"),
    ("nhà ba tôi", "nhà ba tôi"),  # after a trigger, but "ba tôi" is my father
    ("nhà ba má tôi", "nhà ba má tôi"),
    ("ngày một tăng", "ngày một tăng"),
    ("ngày mốt", "ngày mốt"),  # the day after tomorrow
    ("đường một chiều", "đường một chiều"),
    ("thứ tư", "thứ tư"),
    ("ngã tư", "ngã tư"),
    ("đèn không sáng", "đèn không sáng"),
    ("không một ai", "không một ai"),
    ("hai ba người", "hai ba người"),  # consecutive digits are an estimate
    ("ba bốn ngày", "ba bốn ngày"),
    ("hai ba năm", "hai ba năm"),
    ("chín chín năm", "99 năm"),
    ("hai năm nay", "hai năm nay"),
    ("năm hai lần", "năm hai lần"),
    ("số lẻ", "số lẻ"),
    ("phường bảy hiền", "phường bảy hiền"),
    ("phường bảy hiền quận tân bình", "phường bảy hiền quận tân bình"),
    ("đường hai bà trưng", "đường hai bà trưng"),
]
FOLDED = [
    ("phuong muoi hai quan go vap", "phuong 12 quan go vap"),
    ("hem mot tram nam", "hem 150"),
    ("mot tram linh nam", "105"),
    ("quan nam", "quan 5"),
    ("mien nam", "mien nam"),
    ("duong so tu", "duong so 4"),
    ("hai muoi lam", "25"),
    ("hai muoi mot", "21"),
    ("hai mot", "21"),
    ("nam muoi", "50"),
    ("mot khong hai hai", "1022"),
    ("khong chin khong ba mot hai ba bon nam sau", "0903123456"),
    ("phuong bay hien", "phuong bay hien"),
    ("duong hai ba trung", "duong hai ba trung"),
    ("duong nam ky khoi nghia", "duong nam ky khoi nghia"),
    ("ba toi", "ba toi"),
    ("to ba", "to 3"),
    ("ngay sau do", "ngay sau do"),  # right after that
    ("thang sau", "thang sau"),  # next month
    ("nha tu", "nha tu"),  # prison
    ("sau ba nam", "sau ba nam"),  # after three years
    ("hai tram xe buyt", "hai tram xe buyt"),  # two bus stations
    ("mot tram nghin", "100000"),
    ("diet muoi", "diet muoi"),  # kill mosquitoes
    ("ba lam o quan nam", "ba lam o quan 5"),  # dad works in district 5
    ("hai tu", "hai tu"),  # "tu" is mostly "từ" (from) without diacritics
    ("so hai tu", "so 24"),
    ("chin chin", "chin chin"),  # without diacritics two digit words need a trigger
    ("ngay mot thang nam", "ngay 1 thang 5"),
]
UNCHANGED = [
    ("hẻm 21", "hẻm 21"),
    ("12a", "12a"),
    ("hẻm 12a đường số 7", "hẻm 12a đường số 7"),
    ("1 2 3", "1 2 3"),
    ("", ""),
    ("cây ngã đè dây điện", "cây ngã đè dây điện"),
]


@pytest.mark.parametrize(("spoken", "expected"),
                         TENS + HUNDREDS + THOUSANDS + DIGIT_STRINGS + DATES + TRIGGERED + TRAPS + FOLDED + UNCHANGED)
def test_digitize(spoken: str, expected: str) -> None:
    assert digitize(spoken) == expected


def test_runs_on_normalised_text() -> None:
    assert digitize(normalize("Phường Mười Hai, Quận Gò Vấp; hẻm Một Trăm Năm!").text) == \
        "phường 12 quận gò vấp hẻm 150"


@pytest.mark.parametrize(("text", "protected", "expected"), [
    ("phường ba la", (), "phường 3 la"),
    ("phường ba la", ["ba la"], "phường ba la"),
    ("phuong ba la", ("Ba Lá",), "phuong ba la"),  # an accented name also guards text typed without diacritics
    ("phường ba lá", ("ba la",), "phường 3 lá"),  # a name without diacritics guards only text without them
    ("ngày hai tháng tám", ("thang tam",), "ngày 2 tháng 8"),  # Thắng Tam, folded, is not "tháng tám"
    ("ngay hai thang tam", ("thang tam",), "ngay 2 thang tam"),
    ("ga ba son", (), "ga ba son"),
    ("phường ba lá", frozenset({"bà la"}), "phường 3 lá"),  # an accented name matches only its own spelling
    ("phường ba lá số ba", {"Phường Ba Lá"}, "phường ba lá số 3"),
    ("phường ba", ("ba",), "phường 3"),  # single words are never protected
    ("phường ba lá", ("Đồng Khởi",), "phường 3 lá"),  # names without number words are ignored
    ("phường bảy hiền", ("tân bình",), "phường bảy hiền"),  # the built-in trap stays protected
])
def test_protected_names_stay_words(text: str, protected: Collection[str], expected: str) -> None:
    assert digitize(text, protected=protected) == expected


@pytest.mark.parametrize(("utterance", "expected"), [
    ("một hai ba bốn", "1234"),
    ("số hồ sơ là mười ba", "13"),
    ("Số điện thoại: không chín không ba, một hai ba, bốn năm sáu.", "0903123456"),
    ("0903.123.456", "0903123456"),
    ("0903 một hai ba", "0903123"),
    ("mười hai ba mươi tư", "1234"),
    ("không năm", "05"),
    ("ba", "3"),
    ("năm", "5"),
    ("hai năm", "25"),
    ("hai mươi", "20"),
    ("khong chin khong mot hai ba", "090123"),
    ("tôi ở quận năm số điện thoại không chín không một hai ba bốn năm sáu bảy", "0901234567"),
    ("không", None),
    ("không biết", None),
    ("dạ", None),
    ("", None),
    ("😀", None),
])
def test_spoken_digits(utterance: str, expected: str | None) -> None:
    assert spoken_digits(utterance) == expected


ODD = ["😀😀 phường năm 🏠", "phường 中文 năm", "ไทย ba hai một", "1234567890" * 5, "   ", "\u0301\u0301 năm",
       "phường\u00a0năm", "năm " * 30, "trăm nghìn triệu tỷ", "linh lẻ rưỡi mươi", "không " * 40]


@pytest.mark.parametrize("text", ODD)
def test_odd_input_does_not_raise(text: str) -> None:
    assert isinstance(digitize(text), str)
    digits = spoken_digits(text)
    assert digits is None or digits.isdigit()


def test_odd_input_keeps_other_words() -> None:
    assert digitize("😀😀 phường năm 🏠") == "😀😀 phường 5 🏠"
    assert digitize("1234567890") == "1234567890"


@pytest.mark.parametrize("unit", [
    "hẻm một trăm năm phường mười hai không chín không ba một hai ba 😀 ",
    "một ", "hai nghìn ", "mười ", "phường ", "ba mươi tư ", "nam muoi ", "a" * 50 + " ",
])
def test_ten_thousand_characters_are_fast(unit: str) -> None:
    text = (unit * (10_000 // len(unit) + 1))[:10_000]
    start = time.perf_counter()
    digitize(text, protected=("bảy hiền", "ba la"))
    spoken_digits(text)
    assert time.perf_counter() - start < 0.2
