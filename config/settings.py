"""Typed settings read from the environment: the only module that looks at os.environ."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

PACKAGE_DIR = Path(__file__).resolve().parent
DEFAULT_MENU_DIR = PACKAGE_DIR / "menus"
TIMEZONE = "Asia/Ho_Chi_Minh"

_TRUE = {"1", "true"}
_FALSE = {"0", "false"}


class SettingsError(ValueError):
    """A setting has a bad value; the message names the environment variable."""


@dataclass(frozen=True)
class Settings:
    """Everything the app needs from its environment, already parsed and checked."""

    data_dir: Path = Path("var")
    database_url: str = ""
    twilio_account_sid: str | None = None
    twilio_auth_token: str | None = None
    public_base_url: str | None = None
    menu_dir: Path = DEFAULT_MENU_DIR
    config_dir: Path = PACKAGE_DIR
    secret_key: str | None = None
    operator_number: str | None = None
    debug: bool = False
    vosk_model_path: Path | None = None
    speech: bool = True
    max_recognizers: int = 8
    tts_voice: str = "vi-vn-x-south"
    tts_rate: int | None = None
    session_hours: int = 12
    idle_call_minutes: int = 245  # a call not heard of for this long is ended (Twilio's own limit is 4 h)
    rate_limit_storage: str = "memory://"
    log_format: str | None = None  # json or text; None: the command's own default (json for serve, else text)
    metrics_token: str | None = None
    proxy_hops: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "data_dir", self.data_dir.resolve())  # stored paths must not depend on cwd
        if not self.database_url:
            object.__setattr__(self, "database_url", f"sqlite:///{self.data_dir.resolve() / 'hotline.db'}")

    @property
    def recordings_dir(self) -> Path:
        return self.data_dir / "recordings"

    @property
    def spool_dir(self) -> Path:
        return self.data_dir / "spool"

    @property
    def cache_dir(self) -> Path:
        return self.data_dir / "cache"

    @property
    def models_dir(self) -> Path:
        return self.data_dir / "models"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Build settings from an environment mapping (os.environ when None)."""
        env = os.environ if environ is None else environ
        data_dir = Path(_text(env, "HOTLINE_DATA_DIR") or "var")
        return cls(
            data_dir=data_dir,
            database_url=_database_url(env),
            twilio_account_sid=_text(env, "TWILIO_ACCOUNT_SID"),
            twilio_auth_token=_text(env, "TWILIO_AUTH_TOKEN"),
            public_base_url=_base_url(env, "PUBLIC_BASE_URL"),
            menu_dir=_directory(env, "HOTLINE_MENU_DIR", DEFAULT_MENU_DIR),
            config_dir=_directory(env, "HOTLINE_CONFIG_DIR", PACKAGE_DIR),
            secret_key=_text(env, "HOTLINE_SECRET_KEY"),
            operator_number=_text(env, "HOTLINE_OPERATOR_NUMBER"),
            debug=_boolean(env, "HOTLINE_DEBUG", False),
            vosk_model_path=_optional_directory(env, "VOSK_MODEL_PATH"),
            speech=_boolean(env, "HOTLINE_SPEECH", True),
            max_recognizers=_integer(env, "HOTLINE_MAX_RECOGNIZERS", 4 * (os.cpu_count() or 1), low=0),
            tts_voice=_text(env, "HOTLINE_TTS_VOICE") or "vi-vn-x-south",
            tts_rate=_optional_integer(env, "HOTLINE_TTS_RATE", low=80),
            session_hours=_integer(env, "HOTLINE_SESSION_HOURS", 12, low=1),
            idle_call_minutes=_integer(env, "HOTLINE_IDLE_CALL_MINUTES", 245, low=1),
            rate_limit_storage=_text(env, "HOTLINE_RATE_LIMIT_STORAGE") or "memory://",
            log_format=_choice(env, "HOTLINE_LOG_FORMAT", ("json", "text")),
            metrics_token=_text(env, "HOTLINE_METRICS_TOKEN"),
            proxy_hops=_integer(env, "HOTLINE_PROXY_HOPS", 0, low=0),
        )


def _text(env: Mapping[str, str], key: str) -> str | None:
    value = env.get(key, "").strip()
    return value or None


def _boolean(env: Mapping[str, str], key: str, default: bool) -> bool:
    raw = _text(env, key)
    if raw is None:
        return default
    if raw.lower() in _TRUE:
        return True
    if raw.lower() in _FALSE:
        return False
    raise SettingsError(f"{key}={raw!r}: expected one of true, false, 1, 0")


def _choice(env: Mapping[str, str], key: str, choices: tuple[str, ...]) -> str | None:
    raw = _text(env, key)
    if raw is None:
        return None
    if raw.lower() not in choices:
        raise SettingsError(f"{key}={raw!r}: expected one of {', '.join(choices)}")
    return raw.lower()


def _optional_integer(env: Mapping[str, str], key: str, *, low: int) -> int | None:
    raw = _text(env, key)
    if raw is None:
        return None
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{key}={raw!r}: expected a whole number") from None
    if value < low:
        raise SettingsError(f"{key}={raw!r}: must be at least {low}")
    return value


def _integer(env: Mapping[str, str], key: str, default: int, *, low: int) -> int:
    value = _optional_integer(env, key, low=low)
    return default if value is None else value


def _database_url(env: Mapping[str, str]) -> str:
    raw = _text(env, "DATABASE_URL")
    if raw is None:
        return ""
    scheme = urlsplit(raw).scheme
    if not scheme.startswith(("sqlite", "postgresql")):
        raise SettingsError(f"DATABASE_URL={raw!r}: expected a sqlite:// or postgresql:// URL")
    if scheme in ("postgresql", "postgres"):
        raw = "postgresql+psycopg" + raw[len(scheme):]
    return raw


def _base_url(env: Mapping[str, str], key: str) -> str | None:
    raw = _text(env, key)
    if raw is None:
        return None
    parts = urlsplit(raw)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise SettingsError(f"{key}={raw!r}: expected an absolute http(s) URL such as https://hotline.example.vn")
    return raw.rstrip("/")


def _directory(env: Mapping[str, str], key: str, default: Path) -> Path:
    return _optional_directory(env, key) or default


def _optional_directory(env: Mapping[str, str], key: str) -> Path | None:
    raw = _text(env, key)
    if raw is None:
        return None
    path = Path(raw)
    if not path.is_dir():
        raise SettingsError(f"{key}={raw!r}: not a directory")
    return path
