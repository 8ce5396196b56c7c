"""Commands for speech and understanding: models install/check, understand, evaluate."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import TextIO

import click
from flask.cli import AppGroup

from config.catalog import load_catalog
from config.settings import Settings
from routing.evaluation import evaluate, format_report, read_examples
from routing.gazetteer import Gazetteer
from routing.understand import Understander
from speech.models import INSTALL_COMMAND, MODELS, ModelError, check_model, install, locate_model

group = AppGroup()


@group.command("understand", with_appcontext=False)
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


@group.command("evaluate", with_appcontext=False)
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="headline figures as JSON")
def evaluate_command(path: Path, as_json: bool) -> None:
    """Score understanding on a labelled JSONL file (the format of shared/eval/dev.jsonl)."""
    try:
        score = evaluate(read_examples(path), _understander().understand)
    except ValueError as error:
        raise click.ClickException(str(error)) from error
    click.echo(json.dumps(score.summary()) if as_json else format_report(score))


@group.group("models")
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
