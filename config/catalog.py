"""Categories and units that admins edit as YAML: schema, loading and cross-checks."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError

from config.problems import ConfigError, ProblemSink, add_validation_errors
from config.yaml_reader import MAX_BYTES, read_document

CODE_PATTERN = r"^[A-Z][A-Z0-9_]*$"
M = TypeVar("M", bound=BaseModel)
Code = Annotated[str, Field(pattern=CODE_PATTERN)]
Text = Annotated[str, Field(min_length=1), AfterValidator(lambda value: unicodedata.normalize("NFC", value))]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Category(_Strict):
    """One complaint category: stable code, Vietnamese label, handling unit kind and deadline."""

    code: Code
    label: Text
    unit_kind: str = Field(min_length=1)
    deadline_days: int = Field(ge=1, le=60)


class Unit(_Strict):
    """A unit that handles cases."""

    code: Code
    name: Text
    kind: str = Field(min_length=1)
    ward_code: str | None = None
    phone: str | None = None


class _CategoriesFile(_Strict):
    categories: list[Category] = Field(min_length=1)


class _UnitsFile(_Strict):
    units: list[Unit] = Field(min_length=1)
    defaults: dict[str, str]


class CatalogError(ConfigError):
    """categories.yaml or units.yaml was refused; problems name file, line and path."""


@dataclass(frozen=True)
class Catalog:
    """Categories and units by code, plus the default unit per unit kind."""

    categories: dict[str, Category]
    units: dict[str, Unit]
    defaults: dict[str, str]

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
    if categories is not None and units is not None:
        _check_codes(categories_sink, "categories", [c.code for c in categories.categories])
        _check_codes(units_sink, "units", [u.code for u in units.units])
        codes = {u.code for u in units.units}
        for kind, code in units.defaults.items():
            if code not in codes:
                units_sink.add(("defaults", kind), f"{code!r} is not a unit")
        for index, category in enumerate(categories.categories):
            if category.unit_kind not in units.defaults:
                categories_sink.add(("categories", index, "unit_kind"),
                                    f"no default unit for kind {category.unit_kind!r} in units.yaml")
    problems = categories_sink.problems + units_sink.problems
    if problems or categories is None or units is None:
        raise CatalogError(problems)
    return Catalog(categories={c.code: c for c in categories.categories}, units={u.code: u for u in units.units},
                   defaults=dict(units.defaults))


def _parse(sink: ProblemSink, model: type[M]) -> M | None:
    try:
        with open(sink.file, "rb") as stream:
            raw = stream.read(MAX_BYTES + 1)
    except OSError as error:
        sink.add((), f"cannot read the file: {error.strerror or error}")
        return None
    document = read_document(raw, sink)
    if document is None or sink.problems:
        return None
    data: Any
    data, sink.lines = document
    try:
        return model.model_validate(data)
    except ValidationError as error:
        add_validation_errors(sink, error)
        return None


def _check_codes(sink: ProblemSink, key: str, codes: list[str]) -> None:
    seen: set[str] = set()
    for index, code in enumerate(codes):
        if code in seen:
            sink.add((key, index, "code"), f"duplicate code {code!r}")
        seen.add(code)
