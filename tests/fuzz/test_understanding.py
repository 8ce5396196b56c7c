"""Understanding arbitrary text: never an exception, well-typed results, a unit and a deadline always."""

from __future__ import annotations

import json
import unicodedata
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from config.catalog import Catalog, load_catalog
from config.settings import PACKAGE_DIR
from routing.addresses import find_address
from routing.categories import Classifier
from routing.gazetteer import Gazetteer
from routing.normalize import fold, normalize, unify_tones
from routing.numbers import digitize, spoken_digits
from routing.places import PlaceMatch, resolve_place
from routing.route import Router, deadline_for, unit_for
from routing.understand import MAX_CHARS, Understander

CATALOG: Catalog = load_catalog(PACKAGE_DIR)
GAZETTEER = Gazetteer.load()
UNDERSTANDER = Understander(CATALOG, GAZETTEER)
CLASSIFIER = Classifier(CATALOG)
ROUTER = Router(CATALOG, GAZETTEER)
WARD_CODES = sorted(ward.code for ward in GAZETTEER.wards)

# Words callers really use: the catalog's phrases, place names and the words around them, number words.
VOCABULARY = sorted(
    {phrase.text for category in CATALOG.categories.values() for phrase in category.phrases}
    | {ward.name for ward in GAZETTEER.wards[:80]} | {d.name for d in GAZETTEER.districts}
    | {"phường", "quận", "xã", "huyện", "thành phố", "đường", "hẻm", "số", "ở", "tại", "khu phố", "ấp",
       "một", "hai", "ba", "bốn", "năm", "mười", "mươi", "mốt", "lăm", "trăm", "nghìn", "linh", "lẻ", "tư",
       "dạ", "alô", "ừ", "à", "thì", "là", "nhé", "hoà", "thuỷ", "khoẻ", "Đường", "ĐIỆN", "ngập", "mất điện"})
SEPARATORS = [" ", "  ", ", ", ". ", "\n", "\t", "-", "", "/", "…", "\u00a0", "\u200b"]
SHAPES = {
    "as-is": lambda text: text,
    "nfd": lambda text: unicodedata.normalize("NFD", text),
    "no-diacritics": fold,
    "upper": str.upper,
    "title": str.title,
    "nfkd": lambda text: unicodedata.normalize("NFKD", text),
}

pieces = st.one_of(
    st.sampled_from(VOCABULARY),
    st.sampled_from(VOCABULARY),
    st.text(max_size=12),
    st.from_regex(r"[0-9]{1,12}", fullmatch=True),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=6),
    st.sampled_from(["\u0301", "\u0323", "\u0300\u0301", "\x00", "\ufeff", "😡", "İ", "ß", "ǅ", "ﬁ", "Ⅻ", "١٢"]),
)


@st.composite
def utterances(draw: st.DrawFn, max_pieces: int = 30) -> str:
    """Vietnamese-like text: phrases, names, numbers and noise, joined and reshaped."""
    words = draw(st.lists(pieces, max_size=max_pieces))
    text = "".join(word + draw(st.sampled_from(SEPARATORS)) for word in words)
    return SHAPES[draw(st.sampled_from(sorted(SHAPES)))](text)


texts = st.one_of(utterances(), st.text(), st.text(alphabet=st.characters(codec="utf-8")))
long_texts = st.builds(lambda text, times: text * times, utterances(max_pieces=8), st.integers(1, 600))


@given(texts)
def test_normalising_twice_is_normalising_once(text: str) -> None:
    once = normalize(text)
    assert isinstance(once.text, str) and isinstance(once.folded, str)
    assert normalize(once.text) == once
    assert len(once.words) == len(once.folded_words)
    assert fold(once.folded) == once.folded
    assert fold(fold(text)) == fold(text)
    assert unify_tones(unify_tones(text)) == unify_tones(text)


@given(texts)
def test_numbers_read_back_as_digits(text: str) -> None:
    norm = normalize(text).text
    digits = digitize(norm, protected=UNDERSTANDER.protected)
    assert isinstance(digits, str)
    assert digitize(digits, protected=UNDERSTANDER.protected) == digits
    spoken = spoken_digits(text)
    assert spoken is None or (spoken.isascii() and spoken.isdigit())


@given(texts)
def test_categories_and_places_are_well_typed(text: str) -> None:
    norm = normalize(text)
    result = CLASSIFIER.classify(norm)
    assert result.code in CATALOG.categories
    assert 0.0 <= result.confidence <= 1.0
    assert result.runner_up is None or (result.runner_up[0] in CATALOG.categories and 0.0 <= result.runner_up[1] <= 1.0)
    place = resolve_place(GAZETTEER, digitize(norm.text, protected=UNDERSTANDER.protected), norm.folded)
    assert isinstance(place, PlaceMatch)
    assert place.ward is None or GAZETTEER.ward(place.ward.code) is place.ward
    assert all(GAZETTEER.ward(ward.code) is ward for ward in place.candidates)
    address = find_address(norm.words, [])
    assert address is None or (isinstance(address, str) and address.split() and set(address.split()) <= set(norm.words))


@given(st.one_of(texts, long_texts))
def test_understanding_always_routes_to_a_unit_with_a_deadline(text: str) -> None:
    understood = UNDERSTANDER.understand(text)
    json.dumps(understood.to_dict("fuzz"), ensure_ascii=False)
    assert understood.text == text
    assert len(understood.normalized) <= 4 * MAX_CHARS
    assert understood.category in CATALOG.categories
    assert understood.unit is not None and understood.deadline_days is not None
    assert understood.ward_code is None or GAZETTEER.ward(understood.ward_code) is not None
    now = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
    unit, deadline = ROUTER(understood.category, understood.ward_code, now)
    assert unit == understood.unit
    assert deadline is not None and deadline > now


@given(st.one_of(st.none(), st.sampled_from(sorted(CATALOG.categories)), st.text(max_size=10)),
       st.one_of(st.none(), st.sampled_from(WARD_CODES), st.text(max_size=8)),
       st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2090, 1, 1), timezones=st.just(UTC)))
def test_routing_any_category_and_ward_yields_a_unit_and_a_deadline(category: str | None, ward_code: str | None,
                                                                    now: datetime) -> None:
    unit, deadline = ROUTER(category, ward_code, now)
    assert isinstance(unit, str) and unit
    assert deadline is not None and deadline > now
    ward = GAZETTEER.ward(ward_code) if ward_code else None
    assert unit == unit_for(CATALOG, category, ward)
    assert deadline == deadline_for(CATALOG, category, now)


@pytest.mark.parametrize("text", ["mất điện ở phường 12 quận gò vấp", "MAT DIEN O PHUONG 12 QUAN GO VAP",
                                  unicodedata.normalize("NFD", "ngập nước hẻm 21 đường số 4 phường thảo điền")])
def test_examples_route_with_a_deadline(text: str) -> None:
    understood = UNDERSTANDER.understand(text)
    assert understood.unit is not None and understood.deadline_days is not None
