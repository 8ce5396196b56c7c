"""`hotline config validate|diff|publish|versions|rollback`: the console's publishing from the command line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import Result
from flask import Flask

from app import create_app
from commands import cli
from storage import config_versions
from storage.audit import recent
from tests.console.config_support import config_settings, edited, line_of

MENU = "menus/main.yaml"
GREETING = "Xin chào, đây là đường dây nóng 1022"
HOTLINE = str(Path(sys.executable).with_name("hotline"))


@pytest.fixture
def app(db_url: str, tmp_path: Path) -> Iterator[Flask]:
    """The node the commands run on: its files, database and running registries."""
    app = create_app(config_settings(db_url, tmp_path / "node"))
    yield app
    app.extensions["hotline"].close()


def run(app: Flask, *args: str) -> Result:
    """Run a command as the `hotline` script does: in an app of its own (same settings), closed after."""
    own = create_app(app.extensions["hotline"].settings)
    try:
        return own.test_cli_runner().invoke(cli, list(args))
    finally:
        own.extensions["hotline"].close()


def live_menu(app: Flask) -> Path:
    return app.extensions["hotline"].settings.menu_dir / "main.yaml"


def test_validate_names_the_given_file_line_and_path(app: Flask, tmp_path: Path) -> None:
    good = tmp_path / "good.yaml"
    good.write_text(live_menu(app).read_text())
    result = run(app, "config", "validate", MENU, str(good))
    assert result.exit_code == 0, result.output
    assert "hợp lệ" in result.stdout

    broken = tmp_path / "broken.yaml"
    text = edited(live_menu(app).read_text(), "next: report_category", "next: nowhere")
    broken.write_text(text)
    result = run(app, "config", "validate", MENU, str(broken))
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        f"{broken}:{line_of(text, 'next: nowhere')} nodes.main_menu.options[0].next: 'nowhere' is not a node"]


def test_validate_checks_the_catalog_against_the_live_menu(app: Flask, tmp_path: Path) -> None:
    categories = tmp_path / "categories.yaml"
    live = app.extensions["hotline"].settings.config_dir / "categories.yaml"
    categories.write_text(edited(live.read_text(), "code: HT_NGAP\n", "code: NGAP\n"))
    result = run(app, "config", "validate", "categories.yaml", str(categories))
    assert result.exit_code == 1
    assert any(line.startswith("menus/main.yaml:") and "HT_NGAP" in line for line in result.stderr.splitlines())


def test_diff_prints_the_unified_diff_against_the_live_file(app: Flask, tmp_path: Path) -> None:
    edit = tmp_path / "main.yaml"
    edit.write_text(edited(live_menu(app).read_text(), GREETING, "Kính chào quý vị"))
    result = run(app, "config", "diff", MENU, str(edit))
    assert result.exit_code == 0
    changed = [line for line in result.stdout.splitlines() if line[:1] in "+-" and line[:3] not in ("+++", "---")]
    assert changed == [f"-      {GREETING} Thành phố Hồ Chí Minh,", "+      Kính chào quý vị Thành phố Hồ Chí Minh,"]
    assert run(app, "config", "diff", MENU, str(live_menu(app))).stdout == ""


def test_publish_versions_and_rollback(app: Flask, tmp_path: Path) -> None:
    hotline = app.extensions["hotline"]
    original = live_menu(app).read_text()
    broken = tmp_path / "broken.yaml"
    broken.write_text(edited(original, "next: report_category", "next: nowhere"))
    result = run(app, "config", "publish", MENU, str(broken), "--comment", "hỏng")
    assert result.exit_code == 1 and "'nowhere' is not a node" in result.stderr
    assert live_menu(app).read_text() == original

    first, second = tmp_path / "first.yaml", tmp_path / "second.yaml"
    first.write_text(edited(original, GREETING, "Kính chào quý vị"))
    second.write_text(edited(original, GREETING, "Chào bạn"))
    assert run(app, "config", "publish", MENU, str(first), "--comment", "một", "--author", "lan").exit_code == 0
    assert run(app, "config", "publish", MENU, str(second), "--comment", "hai").exit_code == 0
    assert live_menu(app).read_text() == second.read_text()
    hotline.menus.check_every_s = 0.0  # the running server on this node sees the file change
    assert hotline.menus.current().version == config_versions.sha256_of(second.read_text())

    shown = run(app, "config", "versions", MENU, "--json")
    assert shown.exit_code == 0 and shown.stdout, (shown.output, shown.exc_info)
    listed = json.loads(shown.stdout)
    assert [(row["author"], row["comment"]) for row in listed] == [("cli", "hai"), ("lan", "một")]
    plain = run(app, "config", "versions", MENU).stdout.splitlines()
    assert plain[1].split()[0] == str(listed[1]["version"]) and plain[1].endswith("một")

    result = run(app, "config", "rollback", MENU, str(listed[1]["version"]), "--comment", "lỗi phát âm")
    assert result.exit_code == 0, result.output
    assert live_menu(app).read_text() == first.read_text()
    again = run(app, "config", "versions", MENU, "--json")
    assert again.exit_code == 0, (again.output, again.exception)
    latest = json.loads(again.stdout)[0]
    assert latest["version"] == listed[1]["version"]
    assert latest["comment"].startswith(f"Khôi phục phiên bản {listed[1]['version']} (")
    assert latest["comment"].endswith("): lỗi phát âm")
    with hotline.sessions() as db:
        assert [e.action for e in recent(db) if e.action.startswith("config.")] == \
            ["config.rollback", "config.publish", "config.publish"]


def test_unknown_files_and_versions_are_refused(app: Flask, tmp_path: Path) -> None:
    edit = tmp_path / "x.yaml"
    edit.write_text("a: 1\n")
    assert run(app, "config", "validate", "../app.py", str(edit)).exit_code == 2
    result = run(app, "config", "rollback", "units.yaml", "999", "--comment", "x")
    assert result.exit_code == 1 and "không có phiên bản 999" in result.stderr


def test_the_hotline_script_publishes_from_the_environment(db_url: str, tmp_path: Path) -> None:
    settings = config_settings(db_url, tmp_path / "node")
    env = {**os.environ, "DATABASE_URL": db_url, "HOTLINE_DATA_DIR": str(settings.data_dir),
           "HOTLINE_MENU_DIR": str(settings.menu_dir), "HOTLINE_CONFIG_DIR": str(settings.config_dir),
           "TWILIO_AUTH_TOKEN": "", "PUBLIC_BASE_URL": "", "VOSK_MODEL_PATH": "", "HOTLINE_SPEECH": "false"}
    units = settings.config_dir / "units.yaml"
    edit = tmp_path / "units.yaml"
    edit.write_text(edited(units.read_text(), "  power: EVNHCMC\n", "  power: SAWACO\n"))
    published = subprocess.run([HOTLINE, "config", "publish", "units.yaml", str(edit), "--comment", "đổi đơn vị"],
                               env=env, capture_output=True, text=True, timeout=120, check=False)
    assert published.returncode == 0, published.stderr
    assert units.read_text() == edit.read_text()
    listed = subprocess.run([HOTLINE, "config", "versions", "units.yaml", "--json"], env=env, capture_output=True,
                            text=True, timeout=120, check=False)
    [row] = json.loads(listed.stdout)
    assert (row["author"], row["comment"], row["sha256"]) == ("cli", "đổi đơn vị",
                                                              config_versions.sha256_of(edit.read_text()))
