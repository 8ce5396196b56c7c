"""The whole understanding pipeline: one result shape for every input, never an exception."""

from __future__ import annotations

import json

import pytest

from config.catalog import load_catalog
from config.settings import PACKAGE_DIR
from routing.gazetteer import Gazetteer
from routing.understand import Understander

KEYS = {"id", "text", "normalized", "category", "category_label", "category_confidence", "category_runner_up",
        "ward", "ward_code", "legacy_ward", "legacy_district", "address", "needs_confirmation", "candidates",
        "unit", "deadline_days"}


@pytest.fixture(scope="module")
def understander() -> Understander:
    return Understander(load_catalog(PACKAGE_DIR), Gazetteer.load())


@pytest.mark.parametrize("text", [
    "", " ", "ngập", "a", "ngập " * 2500, "😡😡😡 🌧️", "1022", "0903123456", "١٢٣", "漢字 テスト 한국어",
    "mất điện\x00\x07 ở phường", "\u0301\u0300", "PHƯỜNG", "phường", "quận", "xã xã xã xã",
])
def test_odd_input_gives_a_result_not_an_exception(understander: Understander, text: str) -> None:
    result = understander.understand(text).to_dict("x")
    assert KEYS <= result.keys()
    assert result["category"] == "KHAC" or result["ward"] is None
    json.dumps(result, ensure_ascii=False)


def test_a_full_complaint(understander: Understander) -> None:
    result = understander.understand(
        "alo dạ em ở số hai mươi lăm hẻm hai mốt đường số tư phường thảo điền thành phố thủ đức "
        "cả tuần nay mất nước không có nước sinh hoạt")
    assert result.category == "CAPNUOC" and result.unit == "SAWACO" and result.deadline_days == 5
    assert result.ward == "Phường An Khánh" and result.legacy_district == "Thành phố Thủ Đức"
    assert result.address is not None and "hẻm 21" in result.address and "đường số 4" in result.address


def test_district_only_asks_with_candidates(understander: Understander) -> None:
    result = understander.understand("đèn đường tắt ở quận bình thạnh")
    assert result.ward is None and result.needs_confirmation
    assert len(result.candidates) > 1 and all(c.ward.startswith("Phường ") for c in result.candidates)
    assert result.unit == "TT_QLHTKT_CS"


def test_typed_without_diacritics(understander: Understander) -> None:
    result = understander.understand("mat dien tu sang o phuong an hoi tay")
    assert (result.category, result.ward, result.unit) == ("DIEN", "Phường An Hội Tây", "EVNHCMC")
