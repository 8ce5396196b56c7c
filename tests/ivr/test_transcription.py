"""Background transcription and suggestions on a real database, with a scripted transcriber in place of Vosk."""

from __future__ import annotations

import logging
import threading
import wave
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from config.catalog import load_catalog
from config.settings import PACKAGE_DIR, Settings
from ivr.transcription import Transcriber
from ivr.twilio.emulator import RecordingServer
from ivr.twilio.recordings import RecordingFetcher
from routing.gazetteer import Gazetteer
from routing.understand import Understander, Understanding
from speech.recognition import Word
from speech.transcribe import Transcript, transcribe_wav
from storage import cases as case_store
from storage import recordings as recording_store
from storage.calls import open_call
from storage.db import make_engine, make_session_factory
from storage.models import Call, Recording

START = datetime(2026, 3, 1, 2, 30, tzinfo=UTC)
MODEL = (object(), 16000)  # what a model source gives; the scripted transcriber never looks inside
DESCRIPTION = "cống bị tắc nước ngập"
LOCATION = "ở phường Bến Thành"
BEN_THANH = "26743"


@pytest.fixture(scope="module")
def understand() -> Callable[[str], Understanding]:
    return Understander(load_catalog(PACKAGE_DIR), Gazetteer.load()).understand


class Clock:
    """A clock that moves a second each time it is read."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now


class Scripted:
    """Stands in for transcribe_wav: what each file "says", keyed by file name; None for silence."""

    def __init__(self, said: dict[str, str | None]) -> None:
        self.said = said
        self.heard: list[str] = []
        self._lock = threading.Lock()

    def __call__(self, path: Path, model: Any, rate: int) -> Transcript | None:
        assert (model, rate) == MODEL
        with self._lock:
            self.heard.append(path.name)
        text = self.said[path.name]
        if text is None:
            return None
        words = tuple(Word(word, i * 0.5, i * 0.5 + 0.4, 0.75) for i, word in enumerate(text.split()))
        return Transcript(text, 0.75, words)


@pytest.fixture
def call_id(session_factory: sessionmaker[Session]) -> int:
    with session_factory.begin() as session:
        call, _ = open_call(session, sid="CA" + "1" * 32, from_number="+84901234567", to_number="1022", now=START,
                            menu_version_id=None, state={})
        return call.id


def add_stored(sessions: sessionmaker[Session], call_id: int, directory: Path, name: str, purpose: str | None,
               *, status: str = "stored", minute: int = 0) -> int:
    """A recording of the call whose local copy is directory/name (a short silent WAV unless it exists)."""
    path = directory / name
    if not path.exists():
        with wave.open(str(path), "wb") as wav:
            wav.setnchannels(1)
            wav.setsampwidth(2)
            wav.setframerate(8000)
            wav.writeframes(bytes(1600))
    with sessions.begin() as session:
        call = session.get_one(Call, call_id)
        rec = recording_store.add_recording(session, call=call, sid=f"RE{name}", remote_url=None, duration_s=1.0,
                                            purpose=purpose, now=START + timedelta(minutes=minute))
        if status == "stored":
            recording_store.mark_stored(session, rec, str(path), START + timedelta(minutes=minute))
        return rec.id


def file_case(sessions: sessionmaker[Session], call_id: int) -> str:
    """The case the call leaves: "other", no place, as the keypad flow files it."""
    with sessions.begin() as session:
        case = case_store.file_case(session, call_id=call_id, caller_number="+84901234567", status="new",
                                    category="KHAC", description="(bản ghi)", address_text=None, unit_code=None,
                                    deadline=None, now=START)
        return str(case.number)


def stored_case(sessions: sessionmaker[Session], call_id: int) -> Any:
    with sessions() as session:
        case = case_store.case_for_call(session, call_id)
        assert case is not None
        return case


def recording(sessions: sessionmaker[Session], rec_id: int) -> Recording:
    with sessions() as session:
        return session.get_one(Recording, rec_id)


@pytest.fixture
def make_transcriber(session_factory: sessionmaker[Session],
                     understand: Callable[[str], Understanding]) -> Callable[..., Transcriber]:
    def make(transcribe: Any, *, model: tuple[Any, int] | None = MODEL, executor: Any = None,
             sessions: sessionmaker[Session] | None = None) -> Transcriber:
        return Transcriber(sessions or session_factory, lambda: model, understand, Clock(), executor,
                           transcribe=transcribe)

    return make


def test_description_and_location_suggest_a_category_and_ward(
        session_factory: sessionmaker[Session], call_id: int, tmp_path: Path,
        make_transcriber: Callable[..., Transcriber]) -> None:
    number = file_case(session_factory, call_id)
    # The location was recorded first (a caller may be asked again); the suggestion still reads what, then where.
    location = add_stored(session_factory, call_id, tmp_path, "loc.wav", "location", minute=0)
    description = add_stored(session_factory, call_id, tmp_path, "desc.wav", "description", minute=1)
    transcriber = make_transcriber(Scripted({"desc.wav": DESCRIPTION, "loc.wav": LOCATION}))
    assert transcriber.submit(location) is None  # no executor: at once
    assert transcriber.submit(description) is None

    heard = recording(session_factory, description)
    assert (heard.transcript, heard.transcript_confidence) == (DESCRIPTION, 0.75)
    case = stored_case(session_factory, call_id)
    assert case.suggestion == {
        "category": "HT_NGAP", "category_confidence": pytest.approx(0.94, abs=0.05), "ward_code": BEN_THANH,
        "ward": "Phường Bến Thành", "address": None, "transcript": f"{DESCRIPTION} {LOCATION}",
        "recording_ids": [description, location], "source": "transcript"}
    # A suggestion is for an operator to confirm: the case's own fields are as the call filed them.
    assert (case.number, case.category, case.ward_code, case.ward, case.address_text) == (number, "KHAC", None, None, None)
    with session_factory() as session:
        found = case_store.find_case(session, number)
        assert found is not None
        shown = case_store.case_to_dict(found)
    assert shown["suggestion"] == case.suggestion and shown["category"] == "KHAC"


def test_a_case_filed_after_the_transcripts_gets_the_suggestion_once(
        session_factory: sessionmaker[Session], call_id: int, tmp_path: Path,
        make_transcriber: Callable[..., Transcriber]) -> None:
    rec_id = add_stored(session_factory, call_id, tmp_path, "desc.wav", "description")
    transcriber = make_transcriber(Scripted({"desc.wav": f"{DESCRIPTION} {LOCATION}"}))
    assert transcriber.transcribe(rec_id) is True  # no case yet: the transcript waits on the recording
    assert transcriber.suggest_for_call(call_id) is None

    file_case(session_factory, call_id)  # the call ends and files its case
    suggestion = transcriber.suggest_for_call(call_id)
    assert suggestion is not None and suggestion["category"] == "HT_NGAP" and suggestion["ward_code"] == BEN_THANH
    first = stored_case(session_factory, call_id)
    assert first.suggestion == suggestion and first.updated_at > START

    assert transcriber.suggest_for_call(call_id) == suggestion  # idempotent: nothing changes the second time
    again = stored_case(session_factory, call_id)
    assert (again.suggestion, again.updated_at) == (suggestion, first.updated_at)
    assert transcriber.transcribe(rec_id) is False  # already transcribed
    assert recording(session_factory, rec_id).transcript == f"{DESCRIPTION} {LOCATION}"


def test_without_a_model_nothing_happens(session_factory: sessionmaker[Session], call_id: int, tmp_path: Path,
                                         understand: Callable[[str], Understanding],
                                         caplog: pytest.LogCaptureFixture) -> None:
    file_case(session_factory, call_id)
    rec_id = add_stored(session_factory, call_id, tmp_path, "desc.wav", "description")
    asked: list[int] = []
    scripted = Scripted({"desc.wav": DESCRIPTION})

    def no_model() -> None:
        asked.append(1)
        return None

    with caplog.at_level(logging.DEBUG, logger="ivr.transcription"), ThreadPoolExecutor(1) as executor:
        transcriber = Transcriber(session_factory, no_model, understand, Clock(), executor, transcribe=scripted)
        assert transcriber.transcribe(rec_id) is False
        assert [transcriber.submit(rec_id) for _ in range(3)] == [None, None, None]  # nothing queued
        assert transcriber.transcribe_stored() == (0, 1)
    assert asked == [1] and scripted.heard == []
    assert [r.getMessage() for r in caplog.records] == ["no usable speech model: recordings are not transcribed"]
    assert recording(session_factory, rec_id).transcript is None
    assert stored_case(session_factory, call_id).suggestion is None


@pytest.mark.parametrize("contents", [b"", b"ID3\x04 not a wav at all", bytes(range(256)) * 8])
def test_a_garbage_file_is_logged_and_left_untranscribed(
        session_factory: sessionmaker[Session], call_id: int, tmp_path: Path, contents: bytes,
        make_transcriber: Callable[..., Transcriber], caplog: pytest.LogCaptureFixture) -> None:
    file_case(session_factory, call_id)
    (tmp_path / "desc.wav").write_bytes(contents)
    garbage = add_stored(session_factory, call_id, tmp_path, "desc.wav", "description")
    location = add_stored(session_factory, call_id, tmp_path, "loc.wav", "location", minute=1)
    scripted = Scripted({"loc.wav": LOCATION})

    def transcribe(path: Path, model: Any, rate: int) -> Transcript | None:
        # The real reader refuses the file before it would build a recogniser on the (fake) model.
        return transcribe_wav(path, model, rate) if path.name == "desc.wav" else scripted(path, model, rate)

    transcriber = make_transcriber(transcribe)
    with caplog.at_level(logging.ERROR, logger="ivr.transcription"):
        assert transcriber.transcribe_stored() == (1, 1)
    assert [(r.levelno, f"recording {garbage}: cannot transcribe" in r.getMessage()) for r in caplog.records] == [
        (logging.ERROR, True)]
    assert recording(session_factory, garbage).transcript is None
    suggestion = stored_case(session_factory, call_id).suggestion
    assert suggestion is not None and suggestion["recording_ids"] == [location]
    assert suggestion["ward_code"] == BEN_THANH and suggestion["transcript"] == LOCATION


def test_only_stored_untranscribed_recordings_of_the_caller_are_taken(
        session_factory: sessionmaker[Session], call_id: int, tmp_path: Path,
        make_transcriber: Callable[..., Transcriber]) -> None:
    file_case(session_factory, call_id)
    pending = add_stored(session_factory, call_id, tmp_path, "pending.wav", "description", status="pending")
    stream = add_stored(session_factory, call_id, tmp_path, "stream.wav", "call", minute=1)
    silent = add_stored(session_factory, call_id, tmp_path, "silent.wav", "location", minute=2)
    spoken = add_stored(session_factory, call_id, tmp_path, "spoken.wav", None, minute=3)
    scripted = Scripted({"silent.wav": None, "spoken.wav": DESCRIPTION, "stream.wav": "bot and caller"})
    transcriber = make_transcriber(scripted)

    assert transcriber.transcribe_stored() == (2, 0)
    assert sorted(scripted.heard) == ["silent.wav", "spoken.wav"]
    assert [recording(session_factory, i).transcript for i in (pending, stream, silent, spoken)] == [
        None, None, "", DESCRIPTION]  # "": transcribed, nothing heard (so not tried again)
    assert transcriber.transcribe(pending) is False and transcriber.transcribe(stream) is False
    assert transcriber.transcribe_stored() == (0, 0)
    suggestion = stored_case(session_factory, call_id).suggestion
    assert suggestion is not None and suggestion["recording_ids"] == [spoken]

    scripted.said["spoken.wav"] = "đèn đường tắt"  # --all: a better model hears something else
    assert transcriber.transcribe_stored(again=True) == (2, 0)
    suggestion = stored_case(session_factory, call_id).suggestion
    assert suggestion is not None and suggestion["category"] == "HT_CHIEUSANG"


def test_background_work_is_logged_not_lost(session_factory: sessionmaker[Session], call_id: int, tmp_path: Path,
                                            make_transcriber: Callable[..., Transcriber],
                                            caplog: pytest.LogCaptureFixture) -> None:
    file_case(session_factory, call_id)
    ids = [add_stored(session_factory, call_id, tmp_path, name, purpose, minute=i)
           for i, (name, purpose) in enumerate([("desc.wav", "description"), ("loc.wav", "location")])]
    with ThreadPoolExecutor(2) as executor:
        transcriber = make_transcriber(Scripted({"desc.wav": DESCRIPTION, "loc.wav": LOCATION}), executor=executor)
        futures = [transcriber.submit(rec_id) for rec_id in ids]
        assert [future.result(timeout=30) for future in futures if future is not None] == [True, True]
    # Both transcripts were written concurrently; whichever suggested last saw both.
    suggestion = stored_case(session_factory, call_id).suggestion
    assert suggestion is not None and suggestion["recording_ids"] == ids and suggestion["ward_code"] == BEN_THANH

    def broken(path: Path, model: Any, rate: int) -> Transcript | None:
        raise RuntimeError("decoder crashed")

    later = add_stored(session_factory, call_id, tmp_path, "later.wav", None, minute=2)
    with caplog.at_level(logging.ERROR, logger="ivr.transcription"), ThreadPoolExecutor(1) as executor:
        future = make_transcriber(broken, executor=executor).submit(later)
        assert future is not None and future.result(timeout=30) is False
    assert caplog.records and caplog.records[-1].exc_info is not None
    assert "decoder crashed" in str(caplog.records[-1].exc_info[1])
    assert recording(session_factory, later).transcript is None


def test_database_errors_are_one_line_each_and_the_transcript_is_made_once_the_database_answers(
        session_factory: sessionmaker[Session], call_id: int, tmp_path: Path,
        understand: Callable[[str], Understanding], caplog: pytest.LogCaptureFixture) -> None:
    rec_id = add_stored(session_factory, call_id, tmp_path, "desc.wav", "description")
    down = make_engine(f"sqlite:///{tmp_path / 'missing' / 'hotline.db'}")  # its directory does not exist
    sessions = make_session_factory(down)
    transcriber = Transcriber(sessions, lambda: MODEL, understand, Clock(), transcribe=Scripted({"desc.wav": DESCRIPTION}))
    try:
        with caplog.at_level(logging.WARNING, logger="ivr.transcription"):
            assert transcriber.transcribe(rec_id) is False
            assert transcriber.suggest_for_call(call_id) is None
    finally:
        down.dispose()
    assert [r.getMessage() for r in caplog.records] == [
        f"recording {rec_id}: transcript not stored, database error (OperationalError); retried once it answers",
        f"call {call_id}: suggestion not stored, database error (OperationalError)"]
    assert all(r.levelno == logging.WARNING and r.exc_info is None for r in caplog.records)
    assert transcriber.has_failed and recording(session_factory, rec_id).transcript is None

    sessions.configure(bind=session_factory.kw["bind"])  # the database is back
    assert transcriber.retry_failed() == 1 and not transcriber.has_failed
    assert recording(session_factory, rec_id).transcript == DESCRIPTION
    assert transcriber.retry_failed() == 0


# -- the hook in the recording fetcher, and the wiring in app.py ------------------------------------

ACCOUNT_SID, AUTH_TOKEN = "AC" + "ab" * 16, "fetch-token"


@pytest.fixture
def recordings_server() -> Iterator[RecordingServer]:
    with RecordingServer(ACCOUNT_SID, AUTH_TOKEN) as server:
        yield server


def test_the_fetcher_reports_each_newly_stored_recording_after_its_commit(
        session_factory: sessionmaker[Session], call_id: int, tmp_path: Path,
        recordings_server: RecordingServer) -> None:
    seen: list[tuple[int, str, str | None]] = []

    def on_stored(rec_id: int) -> None:
        rec = recording(session_factory, rec_id)  # another session: the row must be committed already
        seen.append((rec_id, rec.status, rec.local_path))

    served, absent = "RE" + "a" * 32, "RE" + "b" * 32
    urls = {served: recordings_server.add(served, b"RIFF....WAVE"),
            absent: f"{recordings_server.base_url}/2010-04-01/Accounts/{ACCOUNT_SID}/Recordings/{absent}"}
    with session_factory.begin() as session:
        call = session.get_one(Call, call_id)
        ok, missing = (recording_store.add_recording(session, call=call, sid=sid, remote_url=url, duration_s=1.0,
                                                     purpose="description", now=START).id
                       for sid, url in urls.items())
    fetcher = RecordingFetcher(session_factory, tmp_path / "recordings", ACCOUNT_SID, AUTH_TOKEN, clock=Clock(),
                               on_stored=on_stored)
    assert fetcher.fetch(ok) is True and fetcher.fetch(missing) is False
    assert fetcher.fetch(ok) is True  # already stored: not reported again
    path = str(tmp_path / "recordings" / ("CA" + "1" * 32) / f"{served}.wav")
    assert seen == [(ok, "stored", path)]


def test_the_app_hands_stored_recordings_to_its_transcriber(db_url: str, tmp_path: Path) -> None:
    from app import create_app

    app = create_app(Settings(data_dir=tmp_path / "var", database_url=db_url))
    hotline = app.extensions["hotline"]
    try:
        assert hotline.fetcher.on_stored == hotline.transcriber.submit
        assert hotline.transcriber.model() is None  # no model installed under this data directory
    finally:
        hotline.close()


def test_asking_for_work_never_waits_for_a_model_still_loading(session_factory: sessionmaker[Session], call_id: int,
                                                              understand: Callable[[str], Understanding]) -> None:
    # Regression (found by the soak test): a status webhook's call_ended waited 11 s on the lock held
    # while a freshly restarted worker loaded the model for its first transcription.
    loading, release = threading.Event(), threading.Event()

    def slow_model() -> tuple[Any, int]:
        loading.set()
        release.wait(10)
        return MODEL

    with ThreadPoolExecutor(max_workers=2) as executor:
        transcriber = Transcriber(session_factory, slow_model, understand, Clock(), executor,
                                  transcribe=Scripted({}))
        executor.submit(transcriber.model)
        assert loading.wait(5)
        asked = threading.Thread(target=lambda: (transcriber.call_ended(call_id), transcriber.submit(12345)))
        asked.start()
        asked.join(2)
        stuck = asked.is_alive()
        release.set()
        asked.join()
    assert not stuck, "call_ended and submit returned while the model was still loading"


def test_transcription_waits_while_live_calls_are_strained(session_factory: sessionmaker[Session], call_id: int,
                                                          tmp_path: Path, understand: Callable[[str], Understanding],
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    # Found by the soak test: background decoding on the same cores made streamed calls answer seconds late.
    monkeypatch.setattr("ivr.transcription.DEFER_POLL_S", 0.01)
    rec_id = add_stored(session_factory, call_id, tmp_path, "desc.wav", "description")
    asked: list[bool] = []
    strained = iter([True, True, True, False])

    def defer() -> bool:
        asked.append(next(strained))
        return asked[-1]

    scripted = Scripted({"desc.wav": DESCRIPTION})
    transcriber = Transcriber(session_factory, lambda: MODEL, understand, Clock(), transcribe=scripted, defer=defer)
    assert transcriber.transcribe(rec_id)
    assert asked == [True, True, True, False] and scripted.heard == ["desc.wav"]
