"""Wires the hotline together (create_app) and holds its command line (the `hotline` script)."""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from flask import Flask
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from config.catalog import Catalog, load_catalog
from config.settings import Settings
from console.status import status_blueprint
from ivr.actions import Transfer
from ivr.calls import CallService
from ivr.menus import MenuRegistry
from ivr.twilio import twiml
from ivr.twilio.recordings import RecordingFetcher
from ivr.twilio.webhooks import TwilioConfig, TwilioWebhooks
from routing.gazetteer import Gazetteer
from routing.route import Router, unit_rows
from routing.understand import Understander
from speech.models import INSTALL_COMMAND, ModelError, locate_model
from storage.db import make_engine, make_session_factory
from storage.spool import Spool
from storage.units import sync_units

log = logging.getLogger("hotline")


def utc_now() -> datetime:
    """The clock every component shares: timezone-aware UTC."""
    return datetime.now(UTC)


@dataclass
class Hotline:
    """The concrete pieces of one running server, reachable from views and commands."""

    settings: Settings
    sessions: sessionmaker[Session]
    menus: MenuRegistry
    catalog: Catalog
    understander: Understander
    service: CallService
    webhooks: TwilioWebhooks
    fetcher: RecordingFetcher
    spool: Spool
    background: ThreadPoolExecutor

    def sync_units(self) -> None:
        """Store the units of config/units.yaml and every ward's own units."""
        with self.sessions.begin() as session:
            sync_units(session, unit_rows(self.catalog, self.understander.gazetteer))

    def close(self) -> None:
        """Finish background work and close database connections."""
        self.background.shutdown(wait=True)
        self.sessions.kw["bind"].dispose()

    def replay_spool(self, app: Flask) -> tuple[int, int]:
        """Apply callbacks spooled during a database outage; returns (applied, failed)."""
        return self.webhooks.replay_spool(app)


def create_app(settings: Settings | None = None) -> Flask:
    """Build the Flask app from settings (read from the environment when None)."""
    settings = settings or Settings.from_env()
    logging.basicConfig(level=logging.DEBUG if settings.debug else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    app = Flask(__name__)
    app.config["SECRET_KEY"] = settings.secret_key
    app.config["MAX_CONTENT_LENGTH"] = 1024 * 1024
    hotline = _assemble(settings)
    app.extensions["hotline"] = hotline
    app.register_blueprint(hotline.webhooks.blueprint())
    app.register_blueprint(status_blueprint(hotline.sessions, hotline.menus, hotline.spool,
                                            hotline.settings.public_base_url))
    if not settings.twilio_auth_token:
        log.warning("TWILIO_AUTH_TOKEN is not set: every Twilio webhook will be refused with 403")
    _report_speech_model(settings)
    return app


def _assemble(settings: Settings) -> Hotline:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    sessions = make_session_factory(make_engine(settings.database_url))
    catalog = load_catalog(settings.config_dir)  # invalid YAML refuses to start, with file, line and reason
    understander = Understander(catalog, Gazetteer.load())
    menus = MenuRegistry(settings.menu_dir, clock=utc_now, categories=catalog.categories.keys())
    menus.load()
    service = CallService(sessions, menus, Router(catalog, understander.gazetteer), clock=utc_now,
                          understand=understander.understand, label=catalog.label)
    spool = Spool(settings.spool_dir)
    background = ThreadPoolExecutor(max_workers=2, thread_name_prefix="hotline-background")
    fetcher = RecordingFetcher(sessions, settings.recordings_dir, settings.twilio_account_sid,
                               settings.twilio_auth_token, clock=utc_now, executor=background)
    operator = Transfer(number=settings.operator_number) if settings.operator_number else Transfer(queue="operators")
    config = TwilioConfig(auth_token=settings.twilio_auth_token, public_base_url=settings.public_base_url,
                          voice=lambda: twiml.Voice(**menus.current().voice_options()), operator=operator)
    webhooks = TwilioWebhooks(config, service, spool, fetcher, clock=utc_now, background=background)
    hotline = Hotline(settings, sessions, menus, catalog, understander, service, webhooks, fetcher, spool, background)
    _sync_units(hotline)
    return hotline


def _report_speech_model(settings: Settings) -> Path | None:
    """Find the speech model; without one the server still runs, with the keypad-and-record flow."""
    try:
        path = locate_model(settings)
    except ModelError as error:
        log.warning("speech model unusable (%s): calls use the keypad-and-record flow", error)
        return None
    if path is None:
        log.warning("no Vietnamese speech model: calls use the keypad-and-record flow; install one with `%s`",
                    INSTALL_COMMAND)
    return path


def _sync_units(hotline: Hotline) -> None:
    """Load units from config into the store; a database that is down now is not a reason to refuse calls."""
    try:
        hotline.sync_units()
    except SQLAlchemyError as error:
        log.warning("units not synchronised with the database yet (run `hotline db upgrade`): %s",
                    str(error).splitlines()[0])


from commands import cli, main  # noqa: E402  (the command line builds apps with create_app above)

__all__ = ["Hotline", "cli", "create_app", "main", "utc_now"]
