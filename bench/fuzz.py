"""The long fuzzing run: tests/fuzz with N generated examples a test, counted per target.

Runs pytest in a subprocess (HOTLINE_FUZZ_EXAMPLES=N, random seeds) and reads back the per-test
counts that tests/fuzz/conftest.py writes (HOTLINE_FUZZ_REPORT): examples run and examples that
failed, summed per target file. Usage: python -m bench.fuzz [EXAMPLES] [--postgres URL].
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_EXAMPLES = 2000


def run(examples: int = DEFAULT_EXAMPLES, *, postgres: str | None = None,
        out: Any = None) -> dict[str, dict[str, float]]:
    """Run tests/fuzz with `examples` examples a test; print and return per-target examples, failures, seconds.

    postgres: a TEST_DATABASE_URL, so the database targets run on PostgreSQL too (None: SQLite only).
    """
    out = out or sys.stdout
    with tempfile.TemporaryDirectory(prefix="hotline-fuzz-") as scratch:
        report = Path(scratch) / "report.jsonl"
        env = {**os.environ, "HOTLINE_FUZZ_EXAMPLES": str(examples), "HOTLINE_FUZZ_REPORT": str(report)}
        env.pop("TEST_DATABASE_URL", None)
        if postgres:
            env["TEST_DATABASE_URL"] = postgres
        began = time.monotonic()
        finished = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:xdist", "-p", "no:cacheprovider",
                                   "tests/fuzz"], cwd=ROOT, env=env, capture_output=True, text=True)
        elapsed = time.monotonic() - began
        lines = report.read_text(encoding="utf-8").splitlines() if report.exists() else []
    targets: dict[str, dict[str, float]] = defaultdict(lambda: {"tests": 0, "examples": 0, "failures": 0,
                                                                "failed_tests": 0, "seconds": 0.0})
    for line in lines:
        test = json.loads(line)
        target = targets[test["nodeid"].split("::")[0].removeprefix("tests/fuzz/").removesuffix(".py")]
        target["tests"] += 1
        target["examples"] += test["passing"] + test["failing"]
        target["failures"] += test["failing"]
        target["failed_tests"] += test["outcome"] == "failed"
        target["seconds"] += test["seconds"]
    print(f"fuzzing, {examples} examples a test, {'SQLite and PostgreSQL' if postgres else 'SQLite'}: "
          f"{elapsed:.0f} s, pytest exit code {finished.returncode}", file=out)
    print(f"{'target':<16} {'tests':>5} {'examples':>9} {'failures':>8} {'failed tests':>12} {'seconds':>8}", file=out)
    for name, target in sorted(targets.items()):
        print(f"{name:<16} {target['tests']:>5} {target['examples']:>9} {target['failures']:>8} "
              f"{target['failed_tests']:>12} {target['seconds']:>8.0f}", file=out)
    if finished.returncode != 0:
        print(finished.stdout[-4000:], finished.stderr[-2000:], sep="\n", file=out)
    return dict(targets)


if __name__ == "__main__":
    arguments = sys.argv[1:]
    url = None
    if "--postgres" in arguments:
        index = arguments.index("--postgres")
        url = arguments[index + 1]
        del arguments[index:index + 2]
    run(int(arguments[0]) if arguments else DEFAULT_EXAMPLES, postgres=url)
