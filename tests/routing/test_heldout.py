"""The understanding module on the labelled sets: shared/eval/dev.jsonl and our own heldout.jsonl."""

from __future__ import annotations

from pathlib import Path

import pytest

from config.catalog import load_catalog
from config.settings import PACKAGE_DIR
from routing.evaluation import evaluate, read_examples
from routing.gazetteer import Gazetteer
from routing.understand import Understander

HELDOUT = Path(__file__).parent / "data" / "heldout.jsonl"
DEV = Path(__file__).resolve().parents[3] / "shared" / "eval" / "dev.jsonl"


@pytest.fixture(scope="module")
def understander() -> Understander:
    return Understander(load_catalog(PACKAGE_DIR), Gazetteer.load())


@pytest.mark.parametrize("path", [HELDOUT, DEV], ids=["heldout", "dev"])
def test_quality_bars(understander: Understander, path: Path) -> None:
    if not path.is_file():  # shared/ sits beside the repository in CI and in development
        raise AssertionError(f"{path} is missing")
    score = evaluate(read_examples(path), understander.understand)
    assert score.total >= 40
    assert score.category_accuracy >= 0.95, score.mistakes
    assert score.ward_accuracy >= 0.95, score.mistakes
    assert score.confirm_recall == 1.0, score.mistakes
