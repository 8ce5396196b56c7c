"""Run every benchmark and print the figures for docs/benchmarks.md.

Usage: python -m bench [--postgres URL] [--callers N] [--calls N] [--only NAME] [--console-cases N]

`--only console` (the case list at 1,000,000 cases) is not part of the default run: generating the
cases takes minutes per database.
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
from pathlib import Path

from bench.capacity import run as speech_capacity
from bench.console import CASES as CONSOLE_CASES
from bench.console import run as console_bench
from bench.filing import filing_throughput
from bench.recognition import report as recognition_report
from bench.stats import summary
from bench.understanding import startup_seconds, texts_from, throughput
from bench.webhooks import run_load, start_gunicorn
from serving import default_workers

DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--postgres", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_PG),
                        help="PostgreSQL URL, or 'none' to skip (default: the local test database)")
    parser.add_argument("--callers", type=int, nargs="+", default=[4, 16], help="concurrent emulated callers")
    parser.add_argument("--calls", type=int, default=25, help="calls per caller")
    parser.add_argument("--workers", type=int, default=None,
                        help="gunicorn workers (default: what `hotline serve` picks for the database)")
    parser.add_argument("--only", choices=["understanding", "recognition", "webhooks", "calls", "console"],
                        help="run one part")
    parser.add_argument("--console-cases", type=int, default=CONSOLE_CASES, help="cases generated for --only console")
    args = parser.parse_args()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    if args.only == "console":
        console_bench(None if args.postgres == "none" else args.postgres, cases=args.console_cases)
        return
    if args.only in (None, "understanding"):
        _understanding()
    if args.only in (None, "recognition"):
        print(recognition_report())
    if args.only in ("understanding", "recognition"):
        return
    if args.only == "calls":
        speech_capacity()
        return
    with tempfile.TemporaryDirectory() as tmp:
        databases = {"SQLite": f"sqlite:///{tmp}/bench.db"}
        if args.postgres != "none":
            databases["PostgreSQL"] = _fresh_schema(args.postgres)
        for name, url in databases.items():
            _webhooks(name, url, Path(tmp) / name, args)
            rate = filing_throughput(url)
            print(f"case filing ({name}, 8 threads × 250 commits): {rate:.0f} cases/s")
    if args.only is None:
        speech_capacity(with_recognition=False)  # its recognition line is printed above


def _understanding() -> None:
    # Measured in a fresh process so start-up includes the imports a server pays once.
    seconds, understander = startup_seconds()
    texts = texts_from(Path(__file__).resolve().parents[2] / "shared/eval/dev.jsonl")
    rate = throughput(understander, texts)
    print(f"understanding: start-up {seconds * 1000:.0f} ms (catalog, gazetteer, classifier); "
          f"{rate:.0f} utterances/s on one thread over {len(texts)} varied utterances")


def _webhooks(name: str, url: str, data_dir: Path, args: argparse.Namespace) -> None:
    workers = args.workers or default_workers(url)
    proc, base = start_gunicorn(url, data_dir, workers)
    try:
        for callers in args.callers:
            samples = run_load(base, callers=callers, calls_per_caller=args.calls)
            wall = samples.pop("_wall")[0]
            total = sum(len(v) for v in samples.values())
            print(f"webhooks ({name}, gunicorn {workers} × 8 gthread workers, {callers} concurrent callers, "
                  f"{callers * args.calls} calls, {total / wall:.0f} requests/s):")
            for endpoint in ("voice", "gather", "status"):
                print("  " + summary(endpoint, samples[endpoint]))
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _fresh_schema(url: str) -> str:
    """A throw-away schema on the PostgreSQL server so the bench never touches real data."""
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    schema = f"bench_{os.getpid()}"
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    engine.dispose()
    return make_url(url).update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(False)


if __name__ == "__main__":
    main()
