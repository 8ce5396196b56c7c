"""Fixtures of the security suite: one real app (console and Twilio webhooks) on this test's database.

The app is the console's (`console_app`, users admin, giamsat, lanhdao, donvi, donvi2 with PASSWORD,
`log_in`), built with the e2e suite's Twilio identity so that signed webhooks, the e2e `server` and the
emulated `phone` run against the same app, and with private copies of the YAML files: an access-control
bug under test must never publish into the repository's config/.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from config.settings import Settings
from tests.console import conftest as console_fixtures
from tests.console.config_support import copy_config
from tests.e2e import conftest as e2e_fixtures
from tests.e2e.support import ACCOUNT_SID, AUTH_TOKEN
from tests.security.support import Seeded, seed

# The console's and the e2e suite's fixtures, shared rather than copied.
password_hash = console_fixtures.password_hash
console_app = console_fixtures.console_app
log_in = console_fixtures.log_in
make_app = e2e_fixtures.make_app
server = e2e_fixtures.server
synthesizer = e2e_fixtures.synthesizer
phone = e2e_fixtures.phone


@pytest.fixture
def console_settings(db_url: str, tmp_path: Path) -> Settings:
    """The console's settings with the e2e Twilio account and private copies of the YAML files."""
    menu_dir, config_dir = copy_config(tmp_path / "yaml")
    return Settings(data_dir=tmp_path / "var", database_url=db_url, twilio_account_sid=ACCOUNT_SID,
                    twilio_auth_token=AUTH_TOKEN, speech=False, menu_dir=menu_dir, config_dir=config_dir)


@pytest.fixture
def settings(console_settings: Settings) -> Settings:
    """The e2e fixtures' name for the same settings."""
    return console_settings


@pytest.fixture
def app(console_app: Flask) -> Flask:
    """The e2e fixtures' name for the same app (so `server` and `phone` serve the console's app)."""
    return console_app


@pytest.fixture
def seeded(console_app: Flask, console_settings: Settings) -> Seeded:
    """A call, case and stored recording of donvi's unit, and the same of donvi2's unit."""
    return seed(console_app, console_settings)


@pytest.fixture
def published(console_app: Flask) -> dict[str, Any]:
    """Two publications of the menu, so a rollback to the first one is possible: the version ids."""
    service = console_app.extensions["hotline"].config_service
    text = service.files.read("menus/main.yaml")
    first = service.publish("menus/main.yaml", text + "\n# một\n", author="admin", comment="một")
    service.publish("menus/main.yaml", text + "\n# hai\n", author="admin", comment="hai")
    return {"version_id": first.version_id}
