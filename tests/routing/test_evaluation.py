"""Scoring understanding against labels: accuracy, confirmation recall, confusion, mistakes."""

from __future__ import annotations

from pathlib import Path

import pytest

from routing.evaluation import Example, evaluate, format_report, read_examples
from routing.understand import Understanding


def fake(category: str, ward: str | None, confirm: bool) -> Understanding:
    return Understanding(text="", normalized="", category=category, category_label=None, category_confidence=1.0,
                         category_runner_up=None, category_runner_up_confidence=None, ward=ward, ward_code=None,
                         legacy_ward=None, legacy_district=None, address=None, needs_confirmation=confirm,
                         confirmation_reason=None)


def test_counts_and_confusion() -> None:
    examples = [
        Example("1", "a", ("HT_NGAP",), "Bến Thành", False),
        Example("2", "b", ("CAYXANH", "DIEN"), None, True),
        Example("3", "c", ("ANTT",), "Thủ Đức", False),
    ]
    answers = {"a": fake("HT_NGAP", "Phường Bến Thành", False), "b": fake("DIEN", None, False),
               "c": fake("KHAC", "Phường Thủ Đức", True)}
    score = evaluate(examples, lambda text: answers[text])
    assert (score.category_correct, score.ward_correct) == (2, 3)
    assert (score.confirm_expected, score.confirm_flagged, score.confirm_extra) == (1, 0, 1)
    assert score.confusion[("DIEN", "DIEN")] == 1 and score.confusion[("ANTT", "KHAC")] == 1
    assert [m["id"] for m in score.mistakes] == ["2", "3"]
    report = format_report(score)
    assert "category accuracy     66.7% (2/3)" in report and "ANTT          -> KHAC" in report


def test_a_bad_line_is_named(tmp_path: Path) -> None:
    path = tmp_path / "x.jsonl"
    path.write_text('{"id": "1", "text": "a", "category": ["KHAC"], "ward": null}\nnot json\n')
    with pytest.raises(ValueError, match="x.jsonl:2"):
        list(read_examples(path))
