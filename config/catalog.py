"""Categories and units that admins edit as YAML: schema, loading and cross-checks."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, model_validator

from config.problems import ConfigError, Loc, ProblemSink, add_validation_errors, line_of
from config.yaml_reader import MAX_BYTES, read_document

CODE_PATTERN = r"^[A-Z][A-Z0-9_]*$"
M = TypeVar("M", bound=BaseModel)
Code = Annotated[str, Field(pattern=CODE_PATTERN)]
Text = Annotated[str, Field(min_length=1), AfterValidator(lambda value: unicodedata.normalize("NFC", value))]
MAX_PHRASE_WORDS = 6
"""Longer phrases are sentences, not cues; the classifier's n-gram lookups stop at this length."""
_LETTER = re.compile(r"[^\W_]", re.UNICODE)


def _phrase_text(value: str) -> str:
    """NFC, lower case, single spaces; refuses text without letters and overlong phrases."""
    text = " ".join(unicodedata.normalize("NFC", value).lower().split())
    if not _LETTER.search(text):
        raise ValueError("a phrase needs at least one letter or digit")
    if len(text.split()) > MAX_PHRASE_WORDS:
        raise ValueError(f"a phrase has at most {MAX_PHRASE_WORDS} words")
    return text


PhraseText = Annotated[str, Field(min_length=1, max_length=100), AfterValidator(_phrase_text)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Phrase(_Strict):
    """Words that point to a category, and how strongly; a bare string in YAML means weight 1."""

    text: PhraseText
    weight: float = Field(default=1.0, gt=0, le=10, strict=True)

    @model_validator(mode="before")
    @classmethod
    def _bare_string(cls, data: Any) -> Any:
        if isinstance(data, str):
            return {"text": data}
        if not isinstance(data, dict):
            raise ValueError('expected a phrase: "text" or {text: "…", weight: 2}')
        return data


class Category(_Strict):
    """One complaint category: stable code, Vietnamese label, handling unit kind, deadline and cue phrases.

    negative lists words that look like this category's phrases but mean something else ("điện thoại"
    for DIEN); they score nothing and keep shorter phrases from matching inside them.
    """

    code: Code
    label: Text
    unit_kind: str = Field(min_length=1)
    deadline_days: int = Field(ge=1, le=60)
    phrases: tuple[Phrase, ...] = ()
    negative: tuple[PhraseText, ...] = ()


class Unit(_Strict):
    """A unit that handles cases."""

    code: Code
    name: Text
    kind: str = Field(min_length=1)
    ward_code: str | None = None
    phone: str | None = None


class _CategoriesFile(_Strict):
    categories: list[Category] = Field(min_length=1)


class WardUnit(_Strict):
    """A kind of unit that every ward or commune has of its own (its People's Committee, its police)."""

    code: str = Field(pattern=r"^[A-Z][A-Z0-9_]*\{ward_code\}$")
    name: Annotated[str, Field(pattern=r"\{ward\}"), AfterValidator(lambda value: unicodedata.normalize("NFC", value))]


class _UnitsFile(_Strict):
    units: list[Unit] = Field(min_length=1)
    defaults: dict[str, str]
    regional: dict[str, dict[Literal["hcm", "binh_duong", "ba_ria_vung_tau"], str]] = {}
    ward_units: dict[str, WardUnit] = {}


class CatalogError(ConfigError):
    """categories.yaml or units.yaml was refused; problems name file, line and path."""


@dataclass(frozen=True)
class Catalog:
    """Categories and units by code, plus the default unit per unit kind."""

    categories: dict[str, Category]
    units: dict[str, Unit]
    defaults: dict[str, str]
    regional: dict[str, dict[str, str]] = field(default_factory=dict)
    ward_units: dict[str, WardUnit] = field(default_factory=dict)

    def label(self, code: str | None) -> str | None:
        """The Vietnamese label of a category code."""
        entry = self.categories.get(code or "")
        return entry.label if entry else None

    def unit_rows(self) -> list[dict[str, object]]:
        """Units as plain rows for the store."""
        return [u.model_dump() for u in self.units.values()]


def load_catalog(directory: Path) -> Catalog:
    """Load categories.yaml and units.yaml from directory; raises CatalogError naming file, line and path."""
    categories_sink, units_sink = ProblemSink(str(directory / "categories.yaml")), ProblemSink(str(directory / "units.yaml"))
    categories = _parse(categories_sink, _CategoriesFile)
    units = _parse(units_sink, _UnitsFile)
    if categories is not None:
        _check_codes(categories_sink, "categories", [c.code for c in categories.categories])
        _check_phrases(categories_sink, categories.categories)
    if units is not None:
        _check_codes(units_sink, "units", [u.code for u in units.units])
    if categories is not None and units is not None:
        codes = {u.code for u in units.units}
        for kind, code in units.defaults.items():
            if code not in codes:
                units_sink.add(("defaults", kind), f"{code!r} is not a unit")
        for kind, by_region in units.regional.items():
            for region, code in by_region.items():
                if code not in codes:
                    units_sink.add(("regional", kind, region), f"{code!r} is not a unit")
        for index, category in enumerate(categories.categories):
            if category.unit_kind not in units.defaults:
                categories_sink.add(("categories", index, "unit_kind"),
                                    f"no default unit for kind {category.unit_kind!r} in units.yaml")
    problems = categories_sink.problems + units_sink.problems
    if problems or categories is None or units is None:
        raise CatalogError(problems)
    return Catalog(categories={c.code: c for c in categories.categories}, units={u.code: u for u in units.units},
                   defaults=dict(units.defaults), regional={k: dict(v) for k, v in units.regional.items()},
                   ward_units=dict(units.ward_units))


_PARSED: dict[tuple[type[BaseModel], bytes], tuple[BaseModel, dict[Loc, int]]] = {}
"""Valid files already read, by their bytes. The YAML parser is pure Python and categories.yaml, with its
phrases, takes ~0.3 s to read, while the app, the CLI and tests load the same bytes again and again."""


def _parse(sink: ProblemSink, model: type[M]) -> M | None:
    try:
        with open(sink.file, "rb") as stream:
            raw = stream.read(MAX_BYTES + 1)
    except OSError as error:
        sink.add((), f"cannot read the file: {error.strerror or error}")
        return None
    cached = _PARSED.get((model, raw))
    if cached is not None:
        sink.lines = cached[1]
        return cached[0]  # type: ignore[return-value]
    document = read_document(raw, sink)
    if document is None or sink.problems:
        return None
    data: Any
    data, sink.lines = document
    try:
        parsed = model.model_validate(data)
    except ValidationError as error:
        add_validation_errors(sink, error)
        return None
    if len(_PARSED) >= 8:
        _PARSED.pop(next(iter(_PARSED)))
    _PARSED[(model, raw)] = (parsed, document[1])
    return parsed


def _check_codes(sink: ProblemSink, key: str, codes: list[str]) -> None:
    seen: set[str] = set()
    for index, code in enumerate(codes):
        if code in seen:
            sink.add((key, index, "code"), f"duplicate code {code!r}")
        seen.add(code)


def _check_phrases(sink: ProblemSink, categories: list[Category]) -> None:
    """A phrase appears once: not twice in a category, not as its own negative, not in two categories."""
    owner: dict[str, tuple[str, int | None]] = {}
    for index, category in enumerate(categories):
        own: dict[str, tuple[str, int | None]] = {}
        items = [(("phrases", j, "text"), p.text) for j, p in enumerate(category.phrases)]
        items += [(("negative", j), text) for j, text in enumerate(category.negative)]
        for where, text in items:
            loc = ("categories", index, *where)
            line = line_of(sink.lines, loc)
            if text in own:
                kind, first = own[text]
                same = "duplicate phrase" if kind == where[0] else "a negative cannot also be a phrase:"
                sink.add(loc, f"{same} {text!r} (first at line {first})")
                continue
            own[text] = (str(where[0]), line)
            if where[0] == "phrases":
                if text in owner:
                    code, first = owner[text]
                    sink.add(loc, f"phrase {text!r} is already a phrase of {code} (line {first})")
                else:
                    owner[text] = (category.code, line)
