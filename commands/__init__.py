"""The `hotline` command line: every command of the product, registered on one Flask CLI group.

Each module holds one family of commands on its own `group`; this package adds them all to `cli`.
"""

from __future__ import annotations

import click
from flask.cli import FlaskGroup

from app import create_app
from commands import bench, configuration, records, server, speech
from config.problems import ConfigError
from config.settings import SettingsError

cli = FlaskGroup(create_app=lambda: create_app(), add_default_commands=False,
                 help="Tổng đài 1022: the hotline server and its tools.")
for family in (server, configuration, records, speech, bench):
    for command in family.group.commands.values():
        cli.add_command(command)


def main() -> None:
    """Entry point of the `hotline` script: configuration errors are reported without a traceback."""
    try:
        cli.main(standalone_mode=True)
    except (SettingsError, ConfigError) as error:
        click.echo(f"hotline: configuration error:\n{error}", err=True)
        raise SystemExit(2) from None
