"""How `hotline serve` sizes its workers."""

from __future__ import annotations

import pytest

from serving import default_threads, recognizers_per_worker


@pytest.mark.parametrize(("per_node", "workers", "each"), [(8, 2, 4), (8, 4, 2), (8, 3, 3), (2, 4, 1), (8, 1, 8), (0, 4, 0)])
def test_the_nodes_recognisers_are_shared_among_its_workers(per_node: int, workers: int, each: int) -> None:
    assert recognizers_per_worker(per_node, workers) == each
    assert default_threads(each) == each + 8, "a thread per stream, and some for webhooks"
