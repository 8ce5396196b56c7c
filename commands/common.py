"""What the command modules share: the app's Hotline, and printing rows or events."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import click
from flask import current_app

if TYPE_CHECKING:
    from app import Hotline


def current_hotline() -> Hotline:
    """The Hotline of the app the command runs in."""
    return current_app.extensions["hotline"]


def echo_rows(rows: Sequence[Mapping[str, Any]], as_json: bool, line: Callable[[Mapping[str, Any]], str],
              empty: str | None = None) -> None:
    """Rows as one indented JSON array, or a formatted line each (and `empty` on stderr when there are none)."""
    if as_json:
        click.echo(json.dumps(list(rows), ensure_ascii=False, indent=2))
        return
    for row in rows:
        click.echo(line(row))
    if not rows and empty:
        click.echo(empty, err=True)


def print_event(event: dict[str, object]) -> None:
    """One JSON event per line (the emulated call's and the demo's output)."""
    click.echo(json.dumps(event, ensure_ascii=False), nl=True)
