"""Damm check digits on case numbers."""

from __future__ import annotations

import pytest

from storage.numbers import case_id, case_number, damm_digit, is_valid_case_number


@pytest.mark.parametrize(
    ("digits", "check"),
    # 572 -> 4 is the worked example in Damm's description; the others were traced by hand.
    [("572", "4"), ("0", "0"), ("1", "3"), ("12", "5"), ("112946", "0"), ("5724", "0")],
)
def test_damm_digit_known_values(digits: str, check: str) -> None:
    assert damm_digit(digits) == check


@pytest.mark.parametrize(("id", "number"), [(1, "13"), (12, "125"), (572, "5724"), (112946, "1129460")])
def test_case_number_appends_check_digit(id: int, number: str) -> None:
    assert case_number(id) == number
    assert is_valid_case_number(number)
    assert case_id(number) == id


@pytest.mark.parametrize("text", ["", "7", "5725", "05724", "57 24", "5724 ", "٥٧٢٤", "abc", "-13", "13\n"])
def test_malformed_or_wrong_numbers_are_invalid(text: str) -> None:
    assert not is_valid_case_number(text)
    assert case_id(text) is None


@pytest.mark.parametrize("bad", [0, -3])
def test_case_number_needs_positive_id(bad: int) -> None:
    with pytest.raises(ValueError, match="not positive"):
        case_number(bad)


def test_damm_digit_refuses_non_digits() -> None:
    with pytest.raises(ValueError, match="0-9"):
        damm_digit("12a")


def _single_digit_errors(number: str) -> list[str]:
    return [
        number[:i] + wrong + number[i + 1 :]
        for i, right in enumerate(number)
        for wrong in "0123456789"
        if wrong != right
    ]


def _adjacent_transpositions(number: str) -> list[str]:
    return [
        number[:i] + number[i + 1] + number[i] + number[i + 2 :]
        for i in range(len(number) - 1)
        if number[i] != number[i + 1]
    ]


@pytest.mark.parametrize("ids", [range(1, 1200), range(99_990, 100_010), range(9_999_990, 10_000_000)])
def test_every_single_digit_error_is_detected(ids: range) -> None:
    for id in ids:
        number = case_number(id)
        accepted = [typo for typo in _single_digit_errors(number) if is_valid_case_number(typo)]
        assert accepted == [], f"{number}: typos accepted"


@pytest.mark.parametrize("ids", [range(1, 1200), range(99_990, 100_010), range(9_999_990, 10_000_000)])
def test_every_adjacent_transposition_is_detected(ids: range) -> None:
    for id in ids:
        number = case_number(id)
        accepted = [swap for swap in _adjacent_transpositions(number) if is_valid_case_number(swap)]
        assert accepted == [], f"{number}: swaps accepted"
