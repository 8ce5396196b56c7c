"""Wires the hotline together (create_app) and holds its command line (the `hotline` script)."""

from __future__ import annotations

import logging
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import NamedTuple

from flask import Flask, request
from flask_sock import Sock
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker
from werkzeug.middleware.proxy_fix import ProxyFix

from config.catalog import Catalog
from config.problems import ConfigError
from config.registry import CatalogRegistry
from config.settings import Settings
from console.config_files import MENU_FILE, ConfigFiles
from console.config_service import ConfigService
from console.status import status_blueprint
from console.web import register_console
from housekeeping import keep_house
from ivr.actions import Say, Transfer
from ivr.calls import CallService
from ivr.menus import MenuRegistry
from ivr.transcription import Transcriber
from ivr.twilio import twiml
from ivr.twilio.media import MediaStreamHandler, SessionRefused
from ivr.twilio.recordings import RecordingFetcher
from ivr.twilio.sender import Sender
from ivr.twilio.webhooks import TwilioConfig, TwilioWebhooks
from ivr.voice import PromptSource, VoiceSession, prompt_source
from observability import logs
from observability.metrics import CallMetrics, metrics
from observability.readiness import readiness_checks
from observability.web import instrument
from routing.gazetteer import Gazetteer
from routing.route import Router, unit_rows
from routing.understand import Understander, Understanding
from speech.models import INSTALL_COMMAND, ModelError, locate_model
from speech.prompts import PromptAudio, PromptCache
from speech.service import SpeechService
from speech.synthesis import EspeakSynthesizer
from speech.transcribe import installed_model, lower_thread_priority
from storage.db import make_engine, make_session_factory
from storage.spool import Spool
from storage.units import sync_units

log = logging.getLogger("hotline")
# Probes must answer quickly whatever the database does; the media stream never waits for a sync.
UNSYNCED_ENDPOINTS = frozenset({"twilio_media", "status.health", "status.ready", "metrics_page"})
_STARTING = threading.Lock()
# How long a request waits for a locked SQLite database before the webhook spools and answers: well
# inside the 15 s Twilio gives a webhook (PostgreSQL's connect and keepalive limits: storage/db.py).
DB_WAIT_MS = 8_000
HOUSEKEEPER_JOIN_S = 15.0  # the longest a housekeeping round may take to finish when the app closes


def utc_now() -> datetime:
    """The clock every component shares: timezone-aware UTC."""
    return datetime.now(UTC)


class CatalogTools(NamedTuple):
    """What the call service builds from a catalog; rebuilt whenever categories.yaml or units.yaml change."""

    understander: Understander
    router: Router


class LiveCatalog:
    """The call service's catalog callables, each looking up the live edition, so a publish needs no restart."""

    def __init__(self, registry: CatalogRegistry[CatalogTools]) -> None:
        self.registry = registry

    def understand(self, text: str) -> Understanding:
        return self.registry.current().built.understander.understand(text)

    def route(self, category: str | None, ward_code: str | None, now: datetime) -> tuple[str | None, datetime | None]:
        return self.registry.current().built.router(category, ward_code, now)

    def label(self, code: str | None) -> str | None:
        return self.registry.current().catalog.label(code)


@dataclass
class Hotline:
    """The concrete pieces of one running server, reachable from views and commands."""

    settings: Settings
    sessions: sessionmaker[Session]
    menus: MenuRegistry
    catalogs: CatalogRegistry[CatalogTools]
    service: CallService
    webhooks: TwilioWebhooks
    fetcher: RecordingFetcher
    spool: Spool
    background: ThreadPoolExecutor
    transcriber: Transcriber
    config_service: ConfigService
    stopping: threading.Event = field(default_factory=threading.Event)
    _started_in: int | None = None  # the process whose background work has been started
    _housekeeper: threading.Thread | None = None
    speech: SpeechService | None = None  # set by _attach_speech
    prompts: PromptCache | None = None
    media: MediaStreamHandler | None = None

    @property
    def catalog(self) -> Catalog:
        """The live catalog (categories and units)."""
        return self.catalogs.current().catalog

    @property
    def understander(self) -> Understander:
        """The understander built from the live catalog."""
        return self.catalogs.current().built.understander

    def start_background(self, app: Flask) -> None:
        """Start this process's background work once: load the speech model, render the menu's prompts,
        keep house (housekeeping.py). Called at the first request, never at start-up: a pre-forking
        server (gunicorn) builds an app in its arbiter too, and a worker forked while the arbiter's
        threads held a lock or a half-started espeak engine would inherit them stuck."""
        with _STARTING:
            if self._started_in == os.getpid():
                return
            self._started_in = os.getpid()
        self._housekeeper = threading.Thread(target=keep_house, args=(self, app), name="hotline-housekeeping",
                                             daemon=True)
        self._housekeeper.start()
        if self.speech is not None and self.speech.start(self.background) is not None and self.prompts is not None:
            self.background.submit(_warm_prompts, self.prompts, self.menus)

    def sync_units(self) -> None:
        """Store the units of config/units.yaml and every ward's own units."""
        with self.sessions.begin() as session:
            sync_units(session, unit_rows(self.catalog, self.understander.gazetteer))

    def close(self) -> None:
        """Finish background work and close database connections."""
        self.stopping.set()
        if self._housekeeper is not None:  # a round in progress would open a connection after the dispose below
            self._housekeeper.join(HOUSEKEEPER_JOIN_S)
        self.background.shutdown(wait=True)
        if self.transcriber.executor is not None:
            self.transcriber.executor.shutdown(wait=True)
        if self.prompts is not None:
            self.prompts.close()
        self.sessions.kw["bind"].dispose()

    def replay_spool(self, app: Flask) -> tuple[int, int]:
        """Apply callbacks spooled during a database outage; returns (applied, failed)."""
        return self.webhooks.replay_spool(app)


def create_app(settings: Settings | None = None) -> Flask:
    """Build the Flask app from settings (read from the environment when None)."""
    settings = settings or Settings.from_env()
    logs.configure(settings.log_format or "text", level=logging.DEBUG if settings.debug else logging.INFO)
    app = Flask(__name__)
    if settings.proxy_hops:  # behind a TLS proxy: the scheme, host and client address it saw
        hops = settings.proxy_hops
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)  # type: ignore[method-assign]
    app.config["MAX_CONTENT_LENGTH"] = 1024 * 1024
    # One form field may fill the body: the YAML editor refuses texts over 512 KB itself, with its own message.
    app.config["MAX_FORM_MEMORY_SIZE"] = app.config["MAX_CONTENT_LENGTH"]
    hotline = _assemble(settings)
    app.extensions["hotline"] = hotline

    @app.before_request
    def follow_publications() -> None:
        """A console page shows what was published elsewhere (one query at most every 2 s); the carrier's
        requests never wait for it: the follower thread keeps a node that serves only calls in step."""
        if request.blueprint != "twilio" and request.endpoint not in UNSYNCED_ENDPOINTS:
            hotline.config_service.sync_from_database()

    @app.before_request
    def start_background_work() -> None:
        hotline.start_background(app)

    instrument(app, metrics_token=settings.metrics_token, spool_pending=hotline.spool.pending)
    twilio = hotline.webhooks.blueprint()
    app.register_blueprint(twilio)
    register_console(app, hotline, csrf_exempt=(twilio,))
    app.register_blueprint(status_blueprint(hotline.sessions, hotline.menus, hotline.spool,
                                            hotline.settings.public_base_url,
                                            speech=lambda: hotline.speech.status() if hotline.speech else None,
                                            readiness=readiness_checks(hotline.sessions, hotline.menus.current,
                                                                       lambda: hotline.catalog,
                                                                       lambda: hotline.speech)))
    if not settings.twilio_auth_token:
        log.warning("TWILIO_AUTH_TOKEN is not set: every Twilio webhook will be refused with 403")
    _attach_speech(app, hotline, _report_speech_model(settings) if settings.speech else None)
    return app


def _attach_speech(app: Flask, hotline: Hotline, model_path: Path | None) -> None:
    """The media stream endpoint and what it needs; calls are offered a stream once the model has loaded."""
    settings = hotline.settings
    speech = SpeechService(model_path, limit=settings.max_recognizers)
    prompts = PromptCache(settings.cache_dir / "prompts", EspeakSynthesizer(settings.tts_voice, settings.tts_rate),
                          voice=settings.tts_voice, rate=settings.tts_rate)
    say = _counting_errors(prompt_source(prompts, settings.menu_dir))

    def finished(voice: VoiceSession) -> None:
        metrics().stream_backlog.observe(voice.backlog_ms_max / 1000)
        metrics().recognizers_leased.set(speech.status().in_use)

    def session(call_sid: str, stream_sid: str, parameters: dict[str, str], sender: Sender) -> VoiceSession:
        lease = speech.lease()
        if lease is None:
            raise SessionRefused("no recogniser slot free")
        metrics().recognizers_leased.set(speech.status().in_use)
        path = sender.recording_path
        return VoiceSession(call_sid=call_sid, stream_sid=stream_sid, service=hotline.service, out=sender,
                            prompts=say, ears=lease, recording_path=str(path) if path else None, on_finished=finished,
                            on_lag=lease.note_lag)

    media = MediaStreamHandler(settings.twilio_auth_token, settings.public_base_url, session,
                               recordings_dir=settings.recordings_dir)
    media.register(app, Sock(app))
    hotline.speech, hotline.prompts, hotline.media = speech, prompts, media
    hotline.transcriber.defer = speech.strained  # live calls first
    if speech.model_path is not None and speech.limit > 0:
        hotline.webhooks.speech = speech.available


def _counting_errors(say: PromptSource) -> PromptSource:
    """The prompt source, each failure to render a prompt counted as a synthesis error."""

    def audio(action: Say) -> PromptAudio:
        try:
            return say(action)
        except Exception:
            metrics().error("synthesis_error")
            raise

    return audio


def _warm_prompts(prompts: PromptCache, menus: MenuRegistry) -> None:
    """Render every fixed prompt of the live menu once, so the first callers hear no synthesis delay."""
    try:
        fresh = prompts.warm(menus.current())
    except Exception:  # a prompt that cannot be rendered now is rendered (or reported) when first played
        log.exception("prompt audio not prepared in advance")
        return
    log.info("prompt audio ready (%d rendered now)", fresh)


def _assemble(settings: Settings) -> Hotline:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    sessions = make_session_factory(make_engine(settings.database_url, sqlite_busy_timeout_ms=DB_WAIT_MS))
    gazetteer = Gazetteer.load()
    catalogs = CatalogRegistry(settings.config_dir, lambda c: CatalogTools(Understander(c, gazetteer), Router(c, gazetteer)))
    catalogs.load()  # invalid YAML refuses to start, with file, line and reason
    menus = MenuRegistry(settings.menu_dir, clock=utc_now, categories=catalogs.category_codes())
    menus.load()
    live = LiveCatalog(catalogs)
    service = CallService(sessions, menus, live.route, clock=utc_now, understand=live.understand, label=live.label,
                          observer=CallMetrics())
    spool = Spool(settings.spool_dir)
    background = ThreadPoolExecutor(max_workers=2, thread_name_prefix="hotline-background")
    # Transcribing minutes of audio must not hold up recording fetches and spool replays: its own thread.
    transcribing = ThreadPoolExecutor(max_workers=1, thread_name_prefix="hotline-transcribe",
                                      initializer=lower_thread_priority)
    transcriber = Transcriber(sessions, lambda: installed_model(settings) if settings.speech else None,
                              live.understand, utc_now, transcribing)
    fetcher = RecordingFetcher(sessions, settings.recordings_dir, settings.twilio_account_sid,
                               settings.twilio_auth_token, clock=utc_now, executor=background,
                               on_stored=transcriber.submit)
    operator = Transfer(number=settings.operator_number) if settings.operator_number else Transfer(queue="operators")
    config = TwilioConfig(auth_token=settings.twilio_auth_token, public_base_url=settings.public_base_url,
                          voice=lambda: twiml.Voice(**menus.current().voice_options()), operator=operator)
    webhooks = TwilioWebhooks(config, service, spool, fetcher, clock=utc_now, background=background,
                              on_ended=transcriber.call_ended)
    config_service = ConfigService(
        sessions, ConfigFiles(settings.menu_dir, settings.config_dir, menus.name), utc_now,
        on_change=lambda file: _reload_config(hotline, file),  # hotline is bound below, before any publish
        store_units=lambda session, catalog: sync_units(session, unit_rows(catalog, gazetteer)))
    hotline = Hotline(settings, sessions, menus, catalogs, service, webhooks, fetcher, spool, background,
                      transcriber=transcriber, config_service=config_service)
    _sync_units(hotline)
    config_service.sync_from_database(force=True)  # another node may have published while this one was down
    return hotline


def _reload_config(hotline: Hotline, file: str) -> None:
    """Run a file just written by a publish or a sync now (the registries would notice within 2 s anyway)."""
    try:
        if file == MENU_FILE:
            hotline.menus.load()
            if hotline.prompts is not None:
                hotline.background.submit(_warm_prompts, hotline.prompts, hotline.menus)
        else:
            hotline.catalogs.load()
    except ConfigError as error:
        log.error("%s does not load; the server keeps running the previous version:\n%s", file, error)


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
