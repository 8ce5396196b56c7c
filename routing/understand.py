"""From what a caller said or typed to category, place, responsible unit and deadline."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from config.catalog import Catalog
from routing.categories import Classifier
from routing.gazetteer import Gazetteer, Ward
from routing.normalize import normalize
from routing.numbers import digitize
from routing.places import resolve_place
from routing.route import unit_for

MAX_CHARS = 2_000
"""Longer input is cut: a spoken complaint is a few sentences, and the cost must stay bounded."""


@dataclass(frozen=True)
class Candidate:
    """A ward the caller may have meant."""

    ward: str
    ward_code: str


@dataclass(frozen=True)
class Understanding:
    """Everything understood from one utterance, ready for a case and for the dialogue."""

    text: str
    normalized: str
    category: str
    category_label: str | None
    category_confidence: float
    category_runner_up: str | None
    category_runner_up_confidence: float | None
    ward: str | None
    ward_code: str | None
    legacy_ward: str | None
    legacy_district: str | None
    address: str | None
    needs_confirmation: bool
    confirmation_reason: str | None
    candidates: list[Candidate] = field(default_factory=list)
    unit: str | None = None
    deadline_days: int | None = None

    def to_dict(self, id: str | None = None) -> dict[str, Any]:  # noqa: A002 - the JSON field is "id"
        """JSON-ready, with the input's id first."""
        return {"id": id, **asdict(self)}


class Understander:
    """Holds the compiled classifier and gazetteer; understand() is a pure function of the text."""

    def __init__(self, catalog: Catalog, gazetteer: Gazetteer) -> None:
        self.catalog = catalog
        self.gazetteer = gazetteer
        self.classifier = Classifier(catalog)
        self.protected = tuple(gazetteer.names_with_number_words())

    def understand(self, text: str) -> Understanding:
        """Category, place, unit and deadline of one utterance; never raises on odd input."""
        norm = normalize(text[:MAX_CHARS])
        digits = digitize(norm.text, protected=self.protected)
        category = self.classifier.classify(norm)
        place = resolve_place(self.gazetteer, digits)
        entry = self.catalog.categories.get(category.code)
        runner_up = category.runner_up
        return Understanding(
            text=text,
            normalized=digits,
            category=category.code,
            category_label=category.label,
            category_confidence=round(category.confidence, 3),
            category_runner_up=runner_up[0] if runner_up else None,
            category_runner_up_confidence=round(runner_up[1], 3) if runner_up else None,
            ward=place.ward.full_name if place.ward else None,
            ward_code=place.ward.code if place.ward else None,
            legacy_ward=place.legacy_ward,
            legacy_district=place.legacy_district,
            address=place.address,
            needs_confirmation=place.needs_confirmation,
            confirmation_reason=place.reason if place.needs_confirmation else None,
            candidates=[_candidate(ward) for ward in place.candidates],
            unit=unit_for(self.catalog, category.code, place.ward),
            deadline_days=entry.deadline_days if entry else None,
        )


def _candidate(ward: Ward) -> Candidate:
    return Candidate(ward=ward.full_name, ward_code=ward.code)
