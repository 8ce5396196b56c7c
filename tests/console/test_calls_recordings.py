"""/recordings/<id>: the audio with range requests, only from the recordings directory, audited once."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

import console.calls
from config.settings import Settings
from storage.models import AuditEvent, Recording
from tests.console.conftest import LogIn
from tests.console.test_calls import StoredCall, store_keypad_call, store_voice_call


@pytest.fixture
def voice_call(console_app: Flask, console_settings: Settings) -> StoredCall:
    return store_voice_call(console_app, console_settings)


def fetch(client: FlaskClient, path: str, **headers: str) -> tuple[int, dict[str, str], bytes]:
    """Status, headers and body of a GET, the response closed (its file too)."""
    with client.get(path, headers=headers) as reply:
        return reply.status_code, dict(reply.headers), reply.get_data()


def opens(app: Flask) -> list[tuple[str, str | None, dict[str, str] | None]]:
    with app.extensions["hotline"].sessions() as db:
        events = db.scalars(select(AuditEvent).where(AuditEvent.action == "recording.open").order_by(AuditEvent.id))
        return [(event.actor, event.target_id, event.detail) for event in events]


def stream(call: StoredCall) -> tuple[str, bytes]:
    [(recording_id, path)] = call.recordings.items()
    assert path is not None
    return f"/recordings/{recording_id}", path.read_bytes()


def test_the_whole_file_without_a_range(log_in: LogIn, voice_call: StoredCall) -> None:
    url, audio = stream(voice_call)
    status, headers, body = fetch(log_in("admin"), url)
    assert (status, headers["Content-Type"], body) == (200, "audio/wav", audio)
    assert headers["Accept-Ranges"] == "bytes" and headers["Content-Length"] == str(len(audio))
    assert body[:4] == b"RIFF" and body[8:12] == b"WAVE"


@pytest.mark.parametrize(("header", "first", "last"), [
    ("bytes=0-99", 0, 99), ("bytes=100-", 100, None), ("bytes=-100", -100, None), ("bytes=500-9999999", 500, None)])
def test_range_requests_get_partial_content(log_in: LogIn, voice_call: StoredCall, header: str, first: int,
                                            last: int | None) -> None:
    url, audio = stream(voice_call)
    status, headers, body = fetch(log_in("admin"), url, Range=header)
    start = first if first >= 0 else len(audio) + first
    end = last if last is not None else len(audio) - 1
    assert status == 206 and body == audio[start:end + 1]
    assert headers["Content-Range"] == f"bytes {start}-{end}/{len(audio)}"
    assert headers["Content-Type"] == "audio/wav"


@pytest.mark.parametrize("header", ["bytes={size}-", "bytes={size}-{beyond}"])
def test_a_range_beyond_the_end_is_not_satisfiable(log_in: LogIn, voice_call: StoredCall, header: str) -> None:
    url, audio = stream(voice_call)
    status, headers, _ = fetch(log_in("admin"), url, Range=header.format(size=len(audio), beyond=len(audio) + 50))
    assert status == 416 and headers["Content-Range"] == f"bytes */{len(audio)}"


def test_an_open_is_audited_once_not_every_range(console_app: Flask, log_in: LogIn, voice_call: StoredCall,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    url, _ = stream(voice_call)
    recording_id = url.rsplit("/", 1)[1]
    supervisor, window = log_in("giamsat"), console.calls.OPEN_AUDIT_WINDOW
    monkeypatch.setattr(console.calls, "OPEN_AUDIT_WINDOW", timedelta(0))
    assert fetch(supervisor, url, Range="bytes=0-")[0] == 206
    for header in ("bytes=1000-", "bytes=-44", "bytes=2000-2999"):  # seeks and continuations
        assert fetch(supervisor, url, Range=header)[0] == 206
    expected = ("giamsat", recording_id, {"call": voice_call.sid})
    assert opens(console_app) == [expected]
    monkeypatch.setattr(console.calls, "OPEN_AUDIT_WINDOW", window)
    assert fetch(supervisor, url)[0] == 200  # the page reloaded within the window
    assert opens(console_app) == [expected]
    assert fetch(log_in("admin"), url, Range="bytes=0-99")[0] == 206
    assert opens(console_app) == [expected, ("admin", recording_id, {"call": voice_call.sid})]
    monkeypatch.setattr(console.calls, "OPEN_AUDIT_WINDOW", timedelta(0))
    assert fetch(supervisor, url)[0] == 200
    assert [actor for actor, _, _ in opens(console_app)] == ["giamsat", "admin", "giamsat"]


def _point(app: Flask, recording_id: int, local_path: str) -> None:
    with app.extensions["hotline"].sessions.begin() as db:
        rec = db.get(Recording, recording_id)
        assert rec is not None
        rec.local_path = local_path


@pytest.mark.parametrize("trick", ["/etc/passwd", "../../x.wav", "{recordings}/../secret_key", "{data}/secret_key",
                                   "{recordings}/{sid}/../{sid}/stream.wav", "{recordings}/{sid}/link.wav",
                                   "{recordings}/{sid}/dirlink/outside.wav", "{recordings}", "x/../../../etc/hosts"])
def test_paths_outside_the_recordings_directory_are_not_served(
        console_app: Flask, console_settings: Settings, log_in: LogIn, voice_call: StoredCall, tmp_path: Path,
        trick: str) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "outside.wav").write_bytes(b"RIFF secret")
    directory = console_settings.recordings_dir / voice_call.sid
    os.symlink(outside / "outside.wav", directory / "link.wav")
    os.symlink(outside, directory / "dirlink")
    [recording_id] = voice_call.recordings
    _point(console_app, recording_id, trick.format(recordings=console_settings.recordings_dir, sid=voice_call.sid,
                                                   data=console_settings.data_dir))
    status, _, body = fetch(log_in("admin"), f"/recordings/{recording_id}")
    assert status == 404 and b"secret" not in body and "Không tìm thấy".encode() in body
    assert opens(console_app) == []


def test_a_link_inside_the_directory_to_a_file_inside_is_served(
        console_app: Flask, console_settings: Settings, log_in: LogIn, voice_call: StoredCall) -> None:
    url, audio = stream(voice_call)
    link = console_settings.recordings_dir / "alias.wav"
    os.symlink(console_settings.recordings_dir / voice_call.sid / "stream.wav", link)
    _point(console_app, int(url.rsplit("/", 1)[1]), str(link))
    assert fetch(log_in("admin"), url)[::2] == (200, audio)


def test_unknown_missing_and_pending_recordings_are_not_found(
        console_app: Flask, console_settings: Settings, log_in: LogIn) -> None:
    keypad_call = store_keypad_call(console_app, console_settings)
    client = log_in("admin")
    status, _, body = fetch(client, "/recordings/987654")
    assert status == 404 and "Không có trang hoặc hồ sơ này." in body.decode()
    stored, pending = keypad_call.recordings
    status, _, body = fetch(client, f"/recordings/{pending}")
    assert status == 404 and "chưa tải về" in body.decode()
    path = keypad_call.recordings[stored]
    assert path is not None
    path.unlink()
    status, _, body = fetch(client, f"/recordings/{stored}")
    assert status == 404 and "Tệp ghi âm không còn trên máy chủ." in body.decode()
    assert fetch(client, "/recordings/abc")[0] == 404
    assert opens(console_app) == []
