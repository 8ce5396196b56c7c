"""Capture the house number, alley and street a caller said ("hẻm 21 đường số 4"), as said.

There is no street gazetteer, so an address is recognised by its shape: a numbered unit word
("số 25", "hẻm 150", "khu phố 3") or a street ("đường ...") that runs straight into a place phrase.
It ends at a place phrase (phường, quận, ở …), at a word that starts the complaint itself, or after
MAX_WORDS words.
"""

from __future__ import annotations

from collections.abc import Collection

MAX_WORDS = 12
MAX_STREET_WORDS = 6
# Unit words that start an address when a number follows them.
NUMBERED = frozenset({"số", "hẻm", "hẽm", "kiệt", "ngõ", "ngách", "lô", "tổ", "ấp", "căn", "so", "hem", "kiet",
                      "ngo", "ngach", "lo", "to", "ap", "can"})
STREET = frozenset({"đường", "duong"})
AT = frozenset({"ở", "tại", "o", "tai"})
# "xe buýt số 19", "số điện thoại": a number after these is not a house number.
NOT_HOUSE = frozenset({"buýt", "buyt", "tuyến", "tuyen", "thoại", "thoai", "xe", "chuyến", "chuyen"})
# Words that end an address: the complaint starts again.
STOPS = frozenset("""
bị bể có đang đã rất không chưa mất cúp ngập thì mà nên là gần trước sau của cho vì do và nhưng được hay
với khi lúc từ tới đến sắp vẫn còn cũng lắm quá hết nước điện rác cây đèn xe người em anh chị tôi mình
ơi luôn ngay hoài suốt mỗi cả nay hôm tuần bên cạnh giữa trong ngoài chỗ này kia đó nhà ạ nha nhé
bi be co dang da rat khong chua mat cup ngap thi ma nen la gan truoc sau cua vi va nhung duoc hay voi khi
luc tu toi den sap van con cung lam qua het nuoc dien rac cay den xe nguoi em anh chi minh oi luon ngay
""".split())


def find_address(words: list[str], place_starts: Collection[int]) -> str | None:
    """The first address in words, or None; place_starts are indexes where a place phrase begins."""
    stops = set(place_starts)
    for i in range(len(words)):
        if _numbered_start(words, i) or _street_start(words, i, stops):
            end = _address_end(words, i, stops)
            return " ".join(words[i:end])
    return None


def _numbered_start(words: list[str], i: int) -> bool:
    word = words[i]
    if word == "khu" and i + 2 < len(words) and words[i + 1] in ("phố", "pho") and words[i + 2].isdecimal():
        return True
    if word in ("số", "so") and words[i + 1:i + 2] in (["nhà"], ["nha"]):
        return i + 2 < len(words) and words[i + 2].isdecimal()  # "số nhà 25"
    if word.isdecimal() and i > 0 and words[i - 1] in AT and i + 1 < len(words) and words[i + 1] not in STOPS:
        return True  # "ở 123 lê lợi"
    if word not in NUMBERED or i + 1 >= len(words) or not words[i + 1].isdecimal():
        return False
    return i == 0 or words[i - 1] not in NOT_HOUSE


def _street_start(words: list[str], i: int, stops: set[int]) -> bool:
    """'đường số 10', or 'đường' + a short name that runs straight into a place phrase."""
    if words[i] not in STREET or i + 1 >= len(words):
        return False
    if words[i + 1] in ("số", "so") and i + 2 < len(words) and words[i + 2].isdecimal():
        return True
    for j in range(i + 1, min(i + 2 + MAX_STREET_WORDS, len(words) + 1)):
        if j in stops or j == len(words):
            return j > i + 1 and j in stops
        if words[j] in STOPS:
            return False
    return False


def _address_end(words: list[str], start: int, stops: set[int]) -> int:
    end = min(start + 2, len(words))  # the unit word and its number, or "đường" and its first word
    while end < len(words) and end - start < MAX_WORDS and end not in stops and words[end] not in STOPS:
        end += 1
    return end
