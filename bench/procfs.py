"""Memory and CPU of a process tree (a server and its workers) and of the machine, read from /proc."""

from __future__ import annotations

import os
import threading
from pathlib import Path

TICKS_PER_S = os.sysconf("SC_CLK_TCK")


def _stats() -> dict[int, list[str]]:
    """Every process's /proc/PID/stat fields after the command name (state, ppid, …)."""
    stats = {}
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit():
                stats[int(entry.name)] = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):  # the process ended meanwhile
            continue
    return stats


def children(pid: int) -> list[int]:
    """The direct children of a process (gunicorn's workers, for its arbiter)."""
    return [child for child, fields in _stats().items() if int(fields[1]) == pid]


def _tree(root: int, stats: dict[int, list[str]]) -> set[int]:
    tree, frontier = {root}, {root}
    while frontier:
        frontier = {pid for pid, fields in stats.items() if int(fields[1]) in frontier}
        tree |= frontier
    return tree


def tree_memory_kb(root: int) -> tuple[int, int]:
    """(sum of VmRSS, sum of PSS) in kB over a process and its descendants."""
    tree = _tree(root, _stats())
    return (sum(_status_kb(pid, "status", "VmRSS:") for pid in tree),
            sum(_status_kb(pid, "smaps_rollup", "Pss:") for pid in tree))


def tree_cpu_s(root: int) -> float:
    """CPU seconds (user + system) used so far by a process and its living descendants."""
    stats = _stats()
    return sum(int(stats[pid][11]) + int(stats[pid][12]) for pid in _tree(root, stats) if pid in stats) / TICKS_PER_S


def machine_cpu_s() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot, all cores together."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:9]]
    idle = values[3] + values[4]  # idle + iowait
    return (sum(values) - idle) / TICKS_PER_S, sum(values) / TICKS_PER_S


def _status_kb(pid: int, name: str, key: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/{name}").read_text().splitlines():
            if line.startswith(key):
                return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


class TreeSampler:
    """While in the with block: peak memory of a process tree (sampled every interval_s), and the share
    of the machine's CPU that the tree and the whole machine used."""

    def __init__(self, pid: int, interval_s: float = 0.5) -> None:
        self.pid, self.interval_s = pid, interval_s
        self.rss_kb = self.pss_kb = 0
        self.tree_cpu_pct = self.machine_cpu_pct = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, name="tree-sampler", daemon=True)
        self._start = (0.0, (0.0, 0.0))

    def __enter__(self) -> TreeSampler:
        self._start = (tree_cpu_s(self.pid), machine_cpu_s())
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        (tree_before, (busy_before, total_before)), (busy, total) = self._start, machine_cpu_s()
        elapsed = max(total - total_before, 1e-9)  # CPU seconds available on all cores meanwhile
        self.tree_cpu_pct = 100 * (tree_cpu_s(self.pid) - tree_before) / elapsed
        self.machine_cpu_pct = 100 * (busy - busy_before) / elapsed

    def _sample(self) -> None:
        while True:
            rss, pss = tree_memory_kb(self.pid)
            self.rss_kb, self.pss_kb = max(self.rss_kb, rss), max(self.pss_kb, pss)
            if self._stop.wait(self.interval_s):
                return
