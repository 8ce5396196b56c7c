"""Settings come from an environment mapping, typed, with errors that name the variable."""

from __future__ import annotations

from pathlib import Path

import pytest

from config.settings import DEFAULT_MENU_DIR, Settings, SettingsError


def test_defaults_put_everything_under_the_data_directory() -> None:
    settings = Settings.from_env({})
    assert settings.data_dir == Path("var").resolve()
    assert settings.database_url == f"sqlite:///{Path('var').resolve() / 'hotline.db'}"
    assert settings.recordings_dir == Path("var").resolve() / "recordings"
    assert settings.menu_dir == DEFAULT_MENU_DIR
    assert settings.twilio_auth_token is None and settings.public_base_url is None


def test_values_are_read_and_typed(tmp_path: Path) -> None:
    settings = Settings.from_env({
        "HOTLINE_DATA_DIR": str(tmp_path), "DATABASE_URL": "postgresql://u@db/hotline",
        "TWILIO_ACCOUNT_SID": "AC1", "TWILIO_AUTH_TOKEN": "tok", "PUBLIC_BASE_URL": "https://x.example.vn/",
        "HOTLINE_MENU_DIR": str(tmp_path), "HOTLINE_DEBUG": "true",
    })
    assert settings.database_url == "postgresql+psycopg://u@db/hotline"
    assert settings.public_base_url == "https://x.example.vn"
    assert settings.menu_dir == tmp_path and settings.debug is True
    assert settings.database_url.startswith("postgresql+psycopg")


@pytest.mark.parametrize(("key", "value"), [
    ("HOTLINE_DEBUG", "yes"),
    ("DATABASE_URL", "mysql://root@localhost/x"),
    ("PUBLIC_BASE_URL", "hotline.example.vn"),
    ("HOTLINE_MENU_DIR", "/no/such/directory"),
    ("HOTLINE_LOG_FORMAT", "xml"),
    ("HOTLINE_PROXY_HOPS", "-1"),
])
def test_bad_values_name_the_variable(key: str, value: str) -> None:
    with pytest.raises(SettingsError, match=key):
        Settings.from_env({key: value})


def test_operations_settings() -> None:
    assert (Settings.from_env({}).log_format, Settings.from_env({}).proxy_hops) == (None, 0)
    settings = Settings.from_env({"HOTLINE_LOG_FORMAT": "JSON", "HOTLINE_METRICS_TOKEN": "s3cret",
                                  "HOTLINE_PROXY_HOPS": "1"})
    assert (settings.log_format, settings.metrics_token, settings.proxy_hops) == ("json", "s3cret", 1)
