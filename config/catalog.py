"""Categories and units that admins edit as YAML: schema, loading and cross-checks."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from config.yamlfile import ConfigError, ConfigProblem, line_of, read_yaml, validation_problems

CODE_PATTERN = r"^[A-Z][A-Z0-9_]*$"
M = TypeVar("M", bound=BaseModel)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Category(_Strict):
    """One complaint category: stable code, Vietnamese label, handling unit kind and deadline."""

    code: str = Field(pattern=CODE_PATTERN)
    label: str = Field(min_length=1)
    unit_kind: str = Field(min_length=1)
    deadline_days: int = Field(ge=1, le=60)

    @field_validator("label")
    @classmethod
    def _nfc(cls, value: str) -> str:
        return unicodedata.normalize("NFC", value)


class Unit(_Strict):
    """A unit that handles cases."""

    code: str = Field(pattern=CODE_PATTERN)
    name: str = Field(min_length=1)
    kind: str = Field(min_length=1)
    ward_code: str | None = None
    phone: str | None = None

    @field_validator("name")
    @classmethod
    def _nfc(cls, value: str) -> str:
        return unicodedata.normalize("NFC", value)


class _CategoriesFile(_Strict):
    categories: list[Category] = Field(min_length=1)


class _UnitsFile(_Strict):
    units: list[Unit] = Field(min_length=1)
    defaults: dict[str, str]


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
        return [{"code": u.code, "name": u.name, "kind": u.kind, "ward_code": u.ward_code, "phone": u.phone}
                for u in self.units.values()]


def load_catalog(directory: Path) -> Catalog:
    """Load categories.yaml and units.yaml from directory; raises ConfigError naming file, line and path."""
    categories_path, units_path = directory / "categories.yaml", directory / "units.yaml"
    problems: list[ConfigProblem] = []
    categories = _parse(categories_path, _CategoriesFile, problems)
    units = _parse(units_path, _UnitsFile, problems)
    if categories is None or units is None:
        raise ConfigError(problems)
    model_c, data_c = categories
    model_u, data_u = units
    problems += _duplicates(categories_path, data_c, "categories", [c.code for c in model_c.categories])
    problems += _duplicates(units_path, data_u, "units", [u.code for u in model_u.units])
    unit_codes = {u.code for u in model_u.units}
    for kind, code in model_u.defaults.items():
        if code not in unit_codes:
            problems.append(ConfigProblem(units_path, line_of(data_u, ("defaults", kind)), f"defaults.{kind}",
                                          f"{code!r} is not a unit"))
    for index, category in enumerate(model_c.categories):
        if category.unit_kind not in model_u.defaults:
            problems.append(ConfigProblem(
                categories_path, line_of(data_c, ("categories", index, "unit_kind")),
                f"categories[{index}].unit_kind", f"no default unit for kind {category.unit_kind!r} in units.yaml"))
    if problems:
        raise ConfigError(problems)
    return Catalog(categories={c.code: c for c in model_c.categories}, units={u.code: u for u in model_u.units},
                   defaults=dict(model_u.defaults))


def _parse(path: Path, model: type[M], problems: list[ConfigProblem]) -> tuple[M, object] | None:
    data, read_problems = read_yaml(path)
    problems += read_problems
    if read_problems:
        return None
    try:
        return model.model_validate(data), data
    except ValidationError as error:
        problems += validation_problems(error, data, path)
        return None


def _duplicates(path: Path, data: object, key: str, codes: list[str]) -> list[ConfigProblem]:
    seen: set[str] = set()
    found = []
    for index, code in enumerate(codes):
        if code in seen:
            found.append(ConfigProblem(path, line_of(data, (key, index, "code")), f"{key}[{index}].code",
                                       f"duplicate code {code!r}"))
        seen.add(code)
    return found
