"""Case numbers a caller can read back and key in: the case id followed by a Damm check digit.

The id comes from the database sequence, so numbers are unique under any concurrency
without a counter table; the Damm digit catches every single-digit slip and every swap
of two adjacent digits when the number is keyed in on a phone.
"""

from __future__ import annotations

import re

# The order-10 weakly totally anti-symmetric quasigroup from H. Michael Damm (2004).
_DAMM = (
    (0, 3, 1, 7, 5, 9, 8, 6, 4, 2),
    (7, 0, 9, 2, 1, 5, 4, 8, 6, 3),
    (4, 2, 0, 6, 8, 7, 1, 3, 5, 9),
    (1, 7, 5, 0, 9, 8, 3, 4, 2, 6),
    (6, 1, 2, 3, 0, 4, 5, 9, 7, 8),
    (3, 6, 7, 4, 2, 0, 9, 5, 8, 1),
    (5, 8, 6, 9, 7, 2, 0, 1, 3, 4),
    (8, 9, 4, 5, 3, 6, 2, 0, 1, 7),
    (9, 4, 3, 8, 6, 1, 7, 2, 0, 5),
    (2, 5, 8, 1, 4, 3, 6, 7, 9, 0),
)

# ASCII digits only (str.isdigit also accepts other scripts' digits), no leading zero.
_CASE_NUMBER = re.compile(r"[1-9][0-9]+")


def damm_digit(digits: str) -> str:
    """Return the Damm check digit for a string of ASCII digits."""
    interim = 0
    for char in digits:
        if not "0" <= char <= "9":
            raise ValueError(f"{digits!r}: only the digits 0-9 can carry a check digit")
        interim = _DAMM[interim][ord(char) - ord("0")]
    return str(interim)


def case_number(id: int) -> str:
    """Return the case number for a case id: the id followed by its check digit."""
    if id < 1:
        raise ValueError(f"case id {id} is not positive")
    digits = str(id)
    return digits + damm_digit(digits)


def is_valid_case_number(text: str) -> bool:
    """Tell whether text is a well-formed case number whose check digit matches."""
    return _CASE_NUMBER.fullmatch(text) is not None and damm_digit(text) == "0"


def case_id(number: str) -> int | None:
    """Return the case id inside a valid case number, or None when the number is invalid."""
    return int(number[:-1]) if is_valid_case_number(number) else None
