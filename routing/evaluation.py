"""Score understanding against labelled utterances (the format of shared/eval/dev.jsonl)."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from routing.understand import Understanding

PREFIXES = ("phường ", "xã ", "đặc khu ", "thị trấn ")


@dataclass(frozen=True)
class Example:
    """One labelled utterance: acceptable category codes, today's ward name (no prefix) or None, confirm."""

    id: str
    text: str
    categories: tuple[str, ...]
    ward: str | None
    confirm: bool


@dataclass
class Score:
    """Counts over a labelled set, and the lines that went wrong."""

    total: int = 0
    category_correct: int = 0
    ward_correct: int = 0
    confirm_expected: int = 0
    confirm_flagged: int = 0
    confirm_extra: int = 0
    confusion: Counter[tuple[str, str]] = field(default_factory=Counter)
    mistakes: list[dict[str, Any]] = field(default_factory=list)

    @property
    def category_accuracy(self) -> float:
        return self.category_correct / self.total if self.total else 0.0

    @property
    def ward_accuracy(self) -> float:
        return self.ward_correct / self.total if self.total else 0.0

    @property
    def confirm_recall(self) -> float:
        return self.confirm_flagged / self.confirm_expected if self.confirm_expected else 1.0

    def summary(self) -> dict[str, Any]:
        """The headline figures as JSON."""
        return {"total": self.total, "category_accuracy": round(self.category_accuracy, 4),
                "ward_accuracy": round(self.ward_accuracy, 4), "confirm_recall": round(self.confirm_recall, 4),
                "confirm_expected": self.confirm_expected, "confirm_extra": self.confirm_extra}


def read_examples(path: Path) -> Iterator[Example]:
    """Labelled lines of a JSONL file; a bad line raises ValueError naming its line number."""
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                yield Example(id=str(row.get("id", number)), text=row["text"],
                              categories=tuple(row["category"]), ward=row.get("ward"),
                              confirm=bool(row.get("confirm", False)))
            except (ValueError, KeyError, TypeError) as error:
                raise ValueError(f"{path}:{number}: not a labelled example ({error})") from error


def evaluate(examples: Iterable[Example], understand: Callable[[str], Understanding]) -> Score:
    """Run understand over every example and count what it got right."""
    score = Score()
    for example in examples:
        got = understand(example.text)
        score.total += 1
        category_ok = got.category in example.categories
        ward_ok = _bare(got.ward) == _bare(example.ward)
        score.category_correct += category_ok
        score.ward_correct += ward_ok
        score.confusion[(got.category if category_ok else example.categories[0], got.category)] += 1
        score.confirm_expected += example.confirm
        score.confirm_flagged += example.confirm and got.needs_confirmation
        score.confirm_extra += got.needs_confirmation and not example.confirm
        if not (category_ok and ward_ok and (got.needs_confirmation or not example.confirm)):
            score.mistakes.append({"id": example.id, "text": example.text, "expected": {
                "category": list(example.categories), "ward": example.ward, "confirm": example.confirm},
                "got": {"category": got.category, "ward": got.ward, "confirm": got.needs_confirmation}})
    return score


def format_report(score: Score) -> str:
    """A plain-text report: headline figures, the confusion table, the mistakes."""
    lines = [
        f"utterances            {score.total}",
        f"category accuracy     {score.category_accuracy:.1%} ({score.category_correct}/{score.total})",
        f"ward accuracy         {score.ward_accuracy:.1%} ({score.ward_correct}/{score.total})",
        f"confirmation recall   {score.confirm_recall:.1%} ({score.confirm_flagged}/{score.confirm_expected}),"
        f" {score.confirm_extra} asked without need",
        "",
        "confusion (expected -> got: count)",
    ]
    for (expected, got), count in sorted(score.confusion.items()):
        marker = "" if expected == got else "   <-"
        lines.append(f"  {expected:<13} -> {got:<13} {count:>4}{marker}")
    if score.mistakes:
        lines += ["", "mistakes"]
        lines += [f"  {m['id']}: {m['text']}\n      expected {m['expected']}\n      got      {m['got']}"
                  for m in score.mistakes]
    return "\n".join(lines)


def _bare(ward: str | None) -> str | None:
    """Today's ward name without its prefix word, lower-case, for comparison."""
    if ward is None:
        return None
    lowered = ward.lower()
    for prefix in PREFIXES:
        if lowered.startswith(prefix):
            return lowered[len(prefix):]
    return lowered
