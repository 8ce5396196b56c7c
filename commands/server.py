"""Commands that run the server and its chores: serve, db, recordings, spool, call, demo."""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

from app import create_app
from commands.common import current_hotline, print_event
from config.settings import Settings
from speech.models import ModelError
from speech.transcribe import load_installed_model
from storage.migrate import current, upgrade

group = AppGroup()


@group.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--workers", default=None, type=int,
              help="gunicorn workers (default: 1 on SQLite, 2 per core on PostgreSQL)")
def serve_command(host: str, port: int, workers: int | None) -> None:
    """Run the server: gunicorn when available, Flask's development server otherwise.

    Logs are JSON lines unless HOTLINE_LOG_FORMAT=text; metrics of every worker add up at /metrics.
    """
    from observability import logs
    from observability.metrics import enable_multiprocess, mark_process_dead
    from serving import default_threads, default_workers, recognizers_per_worker, serve

    hotline = current_hotline()
    settings = replace(hotline.settings, log_format=hotline.settings.log_format or "json")
    logs.configure(settings.log_format, level=logging.DEBUG if settings.debug else logging.INFO)
    enable_multiprocess(settings.data_dir / "metrics" / f"port-{port}")  # before the spool replay counts anything
    applied, failed = hotline.replay_spool(current_app)
    if applied or failed:
        click.echo(f"spool: {applied} replayed, {failed} failed")
    workers = workers or default_workers(settings.database_url)
    settings = replace(settings, max_recognizers=recognizers_per_worker(settings.max_recognizers, workers))
    serve(lambda: create_app(settings), host=host, port=port, workers=workers,
          threads=default_threads(settings.max_recognizers), log_format=settings.log_format,
          on_worker_exit=mark_process_dead)


@group.group("db")
def db_group() -> None:
    """Database schema."""


@db_group.command("upgrade")
def db_upgrade_command() -> None:
    """Migrate the database to the newest schema and load units from config."""
    hotline = current_hotline()
    upgrade(hotline.settings.database_url)
    hotline.sync_units()
    click.echo(f"database at {current(hotline.settings.database_url)}")


@group.group("recordings")
def recordings_group() -> None:
    """Call recordings."""


@recordings_group.command("fetch")
def recordings_fetch_command() -> None:
    """Download every recording not stored locally yet."""
    stored, missing = current_hotline().fetcher.fetch_pending()
    click.echo(f"{stored} stored, {missing} still missing")
    if missing:
        raise SystemExit(1)


@recordings_group.command("transcribe")
@click.option("--all", "again", is_flag=True, help="also those transcribed before (e.g. after a model upgrade)")
def recordings_transcribe_command(again: bool) -> None:
    """Transcribe stored recordings without a transcript now, and update their cases' suggestions."""
    try:
        load_installed_model(current_hotline().settings)  # the reason, when the transcriber would find no model
    except ModelError as error:
        click.echo(f"Chưa có mô hình nhận dạng tiếng nói: {error}", err=True)
        raise SystemExit(2) from None
    done, failed = current_hotline().transcriber.transcribe_stored(again=again)
    click.echo(f"Đã chép lời {done} bản ghi; {failed} lỗi.")
    if failed:
        raise SystemExit(1)


@group.group("spool")
def spool_group() -> None:
    """Callbacks kept on disk while the database was unavailable."""


@spool_group.command("replay")
def spool_replay_command() -> None:
    """Apply spooled callbacks to the database."""
    hotline = current_hotline()
    applied, failed = hotline.replay_spool(current_app)
    click.echo(f"{applied} applied, {failed} failed, {hotline.spool.pending()} waiting")
    if failed:
        raise SystemExit(1)


@group.command("call")
@click.option("--url", required=True, help="base URL of the hotline server, e.g. http://127.0.0.1:5000")
@click.option("--from", "caller", default="+84901234567", show_default=True)
@click.option("--operator", type=click.Choice(["answer", "no-answer"]), default="answer", show_default=True)
@click.option("--bot-wav", type=click.Path(dir_okay=False, path_type=Path),
              help="write what the caller heard of the bot in each Media Stream to FILE (8 kHz mono WAV on "
                   "the stream's timeline; the call's second stream goes to NAME-2.wav beside it)")
@click.option("--media-pace", type=click.FloatRange(min=0), default=1.0, show_default=True,
              help="Media Stream frames go out every 20 ms × this; 0: as fast as possible")
@click.option("--media-patience", type=click.FloatRange(min=0), default=2.0, show_default=True,
              help="in a Media Stream, seconds the bot must be quiet before the caller's next step")
@click.argument("steps", nargs=-1)
def call_command(url: str, caller: str, operator: str, bot_wav: Path | None, media_pace: float,
                 media_patience: float, steps: tuple[str, ...]) -> None:
    """Place an emulated Twilio call: press:1, record:FILE.wav, say:"văn bản", wait:SECONDS, hangup.

    Prints one JSON event per line. In a Media Stream (<Connect><Stream>) each caller turn prints a
    `turn` event: caller_end_s (stream seconds when the caller's speech or last key ended),
    bot_start_s (stream seconds of the bot's next audio) and latency_ms (voice-to-voice, wall clock),
    the last two null when the bot never answered; `stream_turns` lists a stream's latencies.
    """
    from demo import place_call

    case = place_call(current_hotline(), url=url, caller=caller, operator=operator, steps=steps, out=print_event,
                      bot_wav=bot_wav, media_pace=media_pace, media_patience=media_patience)
    if case is None:
        raise SystemExit(1)


@group.command("demo", with_appcontext=False)
@click.option("--once", is_flag=True, help="exit after the demo call")
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--media-pace", type=click.FloatRange(min=0), default=1.0, show_default=True,
              help="on the voice path, stream audio at this many × real time per 20 ms frame (0: at once)")
@click.option("--media-patience", type=click.FloatRange(min=0), default=2.0, show_default=True,
              help="on the voice path, seconds the caller waits for the bot to stay quiet before acting")
def demo_command(once: bool, port: int, media_pace: float, media_patience: float) -> None:
    """Start the server, place an emulated call that files a case, print the case.

    With a speech model installed (or VOSK_MODEL_PATH) the call talks over a media stream; a `path`
    event says which way it went and why.
    """
    from demo import run_demo

    raise SystemExit(run_demo(Settings.from_env(), once=once, port=port, out=print_event,
                              media_pace=media_pace, media_patience=media_patience))
