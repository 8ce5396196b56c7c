"""Commands over the records people work with: cases and console users."""

from __future__ import annotations

import json

import click
from flask.cli import AppGroup

from commands.common import current_hotline, echo_rows
from console.auth import hash_password
from storage import audit
from storage.cases import case_to_dict, find_case, list_cases
from storage.models import ROLES
from storage.users import UserError, create_user, list_users

group = AppGroup()
MIN_PASSWORD = 10


@group.group("cases")
def cases_group() -> None:
    """Filed cases."""


@cases_group.command("list")
@click.option("--json", "as_json", is_flag=True)
@click.option("--limit", default=20, show_default=True)
def cases_list_command(as_json: bool, limit: int) -> None:
    """Newest cases first."""
    with current_hotline().sessions() as session:
        rows = [case_to_dict(case) for case in list_cases(session, limit=limit)]
    echo_rows(rows, as_json, lambda row: f"{row['number']:>10}  {row['status']:<11} {row['category'] or '-':<13} "
                                         f"{row['unit'] or '-':<15} {row['created_at']}")


@cases_group.command("show")
@click.argument("number")
@click.option("--json", "as_json", is_flag=True)
def cases_show_command(number: str, as_json: bool) -> None:
    """One case by its number."""
    with current_hotline().sessions() as session:
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


@group.group("users")
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
    hotline = current_hotline()
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
    with current_hotline().sessions() as session:
        rows = [{"username": u.username, "role": u.role, "unit": u.unit_code, "active": u.active,
                 "last_login_at": u.last_login_at.isoformat() if u.last_login_at else None}
                for u in list_users(session)]
    echo_rows(rows, as_json, lambda row: f"{row['username']:<24} {row['role']:<11} {row['unit'] or '-':<16} "
                                         f"{'hoạt động' if row['active'] else 'đã khóa':<10} "
                                         f"{row['last_login_at'] or 'chưa đăng nhập'}")
