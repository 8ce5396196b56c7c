"""Percentiles and a one-line report for latency samples."""

from __future__ import annotations

import statistics
from collections.abc import Sequence


def percentile(samples: Sequence[float], fraction: float) -> float:
    """The sample at fraction (0..1) of the sorted samples, nearest-rank."""
    if not samples:
        return float("nan")
    ordered = sorted(samples)
    rank = max(0, min(len(ordered) - 1, round(fraction * len(ordered) + 0.5) - 1))
    return ordered[rank]


def summary(name: str, samples_s: Sequence[float]) -> str:
    """'name: n=…, p50 … ms, p99 … ms, mean … ms'."""
    ms = [s * 1000 for s in samples_s]
    return (f"{name}: n={len(ms)}, p50 {percentile(ms, 0.5):.1f} ms, p99 {percentile(ms, 0.99):.1f} ms, "
            f"mean {statistics.fmean(ms) if ms else float('nan'):.1f} ms")
