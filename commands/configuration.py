"""Commands for the YAML files admins edit: menu validate, config validate/diff/publish/versions/rollback."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import click
from flask.cli import AppGroup

from commands.common import current_hotline, echo_rows
from config.catalog import load_catalog
from config.menu import validate_menu_file
from config.problems import ConfigProblem
from config.settings import Settings
from console.config_files import FILES
from console.config_service import ConfigService, PublishRefused, UnknownVersion

group = AppGroup()


@group.group("menu")
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


@group.group("config")
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
    echo_rows(rows, as_json, lambda row: f"{row['version']:>6}  {row['at']}  {row['author']:<16} "
                                         f"{str(row['sha256'])[:12]}  {row['comment'] or ''}",
              empty=f"{file} chưa được xuất bản lần nào")


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
    return current_hotline().config_service


def _settle() -> None:
    """Wait for the background work a publish started (a new menu's prompt audio, into the shared cache).

    The command's process ends next; waiting here also keeps the synthesiser's output off our stdout.
    """
    current_hotline().background.shutdown(wait=True)


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
