"""Run every benchmark and print the figures for docs/benchmarks.md.

Usage: python -m bench [--postgres URL] [--callers N] [--calls N] [--only NAME] [--console-cases N]
                       [--soak-calls N] [--soak-concurrency N] [--fuzz-examples N]

`--only console` (the case list at 1,000,000 cases) is not part of the default run: generating the
cases takes minutes per database. The default run includes the long fuzzing run (`--only fuzz`) and
the soak with every fault (`--only soak`: 500 calls, 16 at a time, on PostgreSQL), each many minutes.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
from pathlib import Path

from bench.capacity import run as speech_capacity
from bench.console import CASES as CONSOLE_CASES
from bench.console import run as console_bench
from bench.filing import filing_throughput
from bench.fuzz import run as fuzz
from bench.recognition import model_path
from bench.recognition import report as recognition_report
from bench.server import fresh_schema
from bench.soak import describe as describe_soak
from bench.soak import run as soak
from bench.stats import summary
from bench.understanding import startup_seconds, texts_from, throughput
from bench.webhook_rate import P99_LIMIT_MS
from bench.webhook_rate import run as webhook_rate
from bench.webhooks import run_load, start_gunicorn
from serving import default_workers
from speech.synthesis import EspeakSynthesizer

DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--postgres", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_PG),
                        help="PostgreSQL URL, or 'none' to skip (default: the local test database)")
    parser.add_argument("--callers", type=int, nargs="+", default=[4, 16], help="concurrent emulated callers")
    parser.add_argument("--calls", type=int, default=25, help="calls per caller")
    parser.add_argument("--workers", type=int, default=None,
                        help="gunicorn workers (default: what `hotline serve` picks for the database)")
    parser.add_argument("--only", choices=["understanding", "recognition", "webhooks", "calls", "console", "soak",
                                           "fuzz"], help="run one part")
    parser.add_argument("--soak-calls", type=int, default=500, help="calls placed by --only soak")
    parser.add_argument("--soak-concurrency", type=int, default=16, help="calls at a time in --only soak")
    parser.add_argument("--fuzz-examples", type=int, default=2000, help="examples a fuzz test in --only fuzz")
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
    if args.only in (None, "fuzz"):
        fuzz(args.fuzz_examples, postgres=None if args.postgres == "none" else args.postgres)
    if args.only in (None, "soak"):
        _soak(args)
    if args.only in ("fuzz", "soak"):
        return
    with tempfile.TemporaryDirectory() as tmp:
        databases = {"SQLite": f"sqlite:///{tmp}/bench.db"}
        if args.postgres != "none":
            databases["PostgreSQL"] = fresh_schema(args.postgres)
        for name, url in databases.items():
            _webhooks(name, url, Path(tmp) / name, args)
            workers = args.workers or default_workers(url)
            print(f"incoming-call webhook capacity ({name}, gunicorn {workers} workers, open loop, speech off):")
            held = webhook_rate(url, Path(tmp) / f"{name}-rate", workers, out=print)
            print(f"  p99 under {P99_LIMIT_MS:.0f} ms up to {held} new calls/s" if held else
                  f"  p99 over {P99_LIMIT_MS:.0f} ms already at the lowest rate")
            rate = filing_throughput(url)
            print(f"case filing ({name}, 8 threads × 250 commits): {rate:.0f} cases/s")
    if args.only is None:
        speech_capacity(with_recognition=False)  # its recognition line is printed above


def _soak(args: argparse.Namespace) -> None:
    """The soak with every fault, on PostgreSQL (or SQLite with --postgres none), with the stand-in model."""
    model = model_path()
    url = f"sqlite:///{tempfile.gettempdir()}/unused.db" if args.postgres == "none" else args.postgres
    figures = soak(calls=args.soak_calls, concurrency=args.soak_concurrency, faults=True, database_url=url,
                   workers=args.workers or 2, seed=1022, synthesizer=EspeakSynthesizer(),
                   model=model[0] if model else None, out=print)
    print(describe_soak(figures))
    print(json.dumps(figures))


def _understanding() -> None:
    # Measured in a fresh process so start-up includes the imports a server pays once.
    seconds, understander = startup_seconds()
    texts = texts_from(Path(__file__).resolve().parents[2] / "shared/eval/dev.jsonl")
    rate = throughput(understander, texts)
    print(f"understanding: start-up {seconds * 1000:.0f} ms (catalog, gazetteer, classifier); "
          f"{rate:.0f} utterances/s on one thread over {len(texts)} varied utterances")


def _webhooks(name: str, url: str, data_dir: Path, args: argparse.Namespace) -> None:
    workers = args.workers or default_workers(url)
    server = start_gunicorn(url, data_dir, workers)
    base = server.base
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
        server.__exit__()


if __name__ == "__main__":
    main()
