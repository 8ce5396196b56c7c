"""The call replay page: header, recordings, transcript, links to the case, who may see it."""

from __future__ import annotations

import wave
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from config.settings import Settings
from storage import calls as call_store
from storage import cases as case_store
from storage import recordings as recording_store
from storage.models import User
from tests.console.conftest import LogIn

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


STARTED = datetime(2026, 3, 2, 1, 30, tzinfo=UTC)  # 08:30 in Hồ Chí Minh City


@dataclass(frozen=True)
class StoredCall:
    """What a call fixture stored: the call, its case and its recordings (id → file, None when not fetched)."""

    sid: str
    case_number: str | None
    recordings: dict[int, Path | None]


def write_stereo_wav(path: Path, seconds: float = 0.5, rate: int = 8000) -> None:
    """A small 16-bit stereo WAV (caller left, bot right) at path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(2)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(b"".join(((i * 37) % 65536).to_bytes(2, "little") * 2 for i in range(int(seconds * rate))))


def store_voice_call(app: Flask, settings: Settings) -> StoredCall:
    """A finished voice call whose case is donvi's unit's: the stream recording and a timed transcript."""
    sid = "CA" + "7" * 32
    path = settings.recordings_dir / sid / "stream.wav"
    write_stereo_wav(path)
    words = [{"word": "cây", "start_s": 4.1, "end_s": 4.4, "confidence": 0.95},
             {"word": "đổ", "start_s": 4.4, "end_s": 4.7, "confidence": 0.42},
             {"word": "<b>chắn</b>", "start_s": 4.7, "end_s": 5.0, "confidence": 0.88}]
    turns = [
        {"speaker": "bot", "node": "start", "text": "Tổng đài 1022 xin nghe.", "start_s": 0.0, "end_s": 3.2},
        {"speaker": "caller", "node": "start", "text": "cây đổ <b>chắn</b>", "confidence": 0.8125,
         "start_s": 4.1, "end_s": 5.0, "words": words},
        {"speaker": "bot", "node": "ask_location", "text": "Xin cho biết <script>alert(1)</script> địa chỉ.",
         "start_s": 65.5, "end_s": 68.0},
        {"speaker": "caller", "node": "confirm", "digits": "1", "start_s": 70.0, "end_s": 70.2},
    ]
    with app.extensions["hotline"].sessions.begin() as db:
        unit = db.scalars(select(User.unit_code).where(User.username == "donvi")).one()
        call, _ = call_store.open_call(db, sid=sid, from_number="+84901234567", to_number="1022", now=STARTED,
                                       menu_version_id=None, state={})
        rec = recording_store.add_stream_recording(db, call=call, sid="MZ" + "7" * 32, path=str(path), now=STARTED)
        call_store.add_turns(db, call, turns, now=STARTED)
        call.outcome = "case_filed"
        call_store.end_call(db, call, status="completed", duration_s=95, now=STARTED)
        case = case_store.file_case(db, call_id=call.id, caller_number=call.from_number, status="new",
                                    category="HT_NGAP", description="cây đổ", address_text="12 Lê Lợi",
                                    unit_code=unit, deadline=None, now=STARTED)
        return StoredCall(sid, case.number, {rec.id: path})


def store_keypad_call(app: Flask, settings: Settings) -> StoredCall:
    """A keypad call without a case: a stored description recording and a location one not fetched yet."""
    sid = "CA" + "8" * 32
    path = settings.recordings_dir / sid / ("RE" + "1" * 32 + ".wav")
    write_stereo_wav(path, seconds=0.2)
    with app.extensions["hotline"].sessions.begin() as db:
        call, _ = call_store.open_call(db, sid=sid, from_number="+84907654321", to_number="1022", now=STARTED,
                                       menu_version_id=None, state={})
        described = recording_store.add_recording(db, call=call, sid="RE" + "1" * 32, remote_url=None,
                                                  duration_s=12.0, purpose="description", now=STARTED)
        recording_store.mark_stored(db, described, str(path), STARTED)
        located = recording_store.add_recording(db, call=call, sid="RE" + "2" * 32, remote_url=None,
                                                duration_s=4.0, purpose="location", now=STARTED)
        call_store.add_turns(db, call, [
            {"speaker": "bot", "node": "start", "text": "Bấm phím 1 để phản ánh."},
            {"speaker": "caller", "node": "start", "digits": "1"},
            {"speaker": "caller", "node": "description", "recording_id": described.id},
            {"speaker": "caller", "node": "location", "recording_id": located.id},
            {"speaker": "caller", "node": "confirm"},
        ], now=STARTED)
        return StoredCall(sid, None, {described.id: path, located.id: None})


@pytest.fixture
def voice_call(console_app: Flask, console_settings: Settings) -> StoredCall:
    return store_voice_call(console_app, console_settings)


@pytest.fixture
def keypad_call(console_app: Flask, console_settings: Settings) -> StoredCall:
    return store_keypad_call(console_app, console_settings)


@dataclass
class Element:
    """An element of a parsed page: enough of a DOM to assert on structure instead of substrings."""

    tag: str
    attrs: dict[str, str]
    children: list[Element | str] = field(default_factory=list)

    @property
    def classes(self) -> set[str]:
        return set(self.attrs.get("class", "").split())

    @property
    def text(self) -> str:
        parts = (child if isinstance(child, str) else child.text for child in self.children)
        return " ".join("".join(parts).split())

    def walk(self) -> Iterator[Element]:
        yield self
        for child in self.children:
            if isinstance(child, Element):
                yield from child.walk()

    def all(self, tag: str | None = None, cls: str | None = None) -> list[Element]:
        return [e for e in self.walk() if (tag is None or e.tag == tag) and (cls is None or cls in e.classes)]

    def by_id(self, element_id: str) -> Element:
        [found] = [e for e in self.walk() if e.attrs.get("id") == element_id]
        return found


class _Builder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Element("#document", {})
        self.stack = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = Element(tag, {name: value or "" for name, value in attrs})
        self.stack[-1].children.append(element)
        if tag not in VOID:
            self.stack.append(element)

    def handle_endtag(self, tag: str) -> None:
        while len(self.stack) > 1 and self.stack.pop().tag != tag:
            pass

    def handle_data(self, data: str) -> None:
        self.stack[-1].children.append(data)


def page(client: FlaskClient, path: str) -> Element:
    reply = client.get(path)
    assert reply.status_code == 200, (path, reply.status_code)
    builder = _Builder()
    builder.feed(reply.get_data(as_text=True))
    return builder.root


def turns(document: Element) -> list[Element]:
    return document.by_id("transcript").all("li", "turn")


def test_the_page_shows_the_call_and_its_turns_in_order_with_times(log_in: LogIn, voice_call: StoredCall) -> None:
    document = page(log_in("giamsat"), f"/calls/{voice_call.sid}")
    fields = document.all("dl", "fields")[0].text
    for expected in ("+84901234567", "02/03/2026 08:30:00", "01:35", "Đã lập hồ sơ", voice_call.sid):
        assert expected in fields
    rows = turns(document)
    assert [(t.all(cls="time")[0].text, t.all(cls="who")[0].text, t.all(cls="node")[0].text) for t in rows] == [
        ("00:00", "Tổng đài", "start"), ("00:04", "Người gọi", "start"),
        ("01:05", "Tổng đài", "ask_location"), ("01:10", "Người gọi", "confirm")]
    assert [t.attrs["data-start"] for t in rows] == ["0.0", "4.1", "65.5", "70.0"]
    assert all(t.attrs["tabindex"] == "0" for t in rows)
    assert [t.all(cls="confidence")[0].text if t.all(cls="confidence") else None for t in rows] == [
        None, "81%", None, None]
    assert rows[3].all(cls="digits")[0].text == "Bấm phím 1"


def test_low_confidence_words_are_marked_with_their_confidence(log_in: LogIn, voice_call: StoredCall) -> None:
    caller = turns(page(log_in("admin"), f"/calls/{voice_call.sid}"))[1]
    words = [(w.text, "low" in w.classes, w.attrs["title"], w.attrs["data-start"]) for w in caller.all("span", "word")]
    assert words == [("cây", False, "Độ tin cậy 95%", "4.1"), ("đổ", True, "Độ tin cậy 42%", "4.4"),
                     ("<b>chắn</b>", False, "Độ tin cậy 88%", "4.7")]


def test_user_text_is_escaped(log_in: LogIn, voice_call: StoredCall) -> None:
    reply = log_in("admin").get(f"/calls/{voice_call.sid}")
    html = reply.get_data(as_text=True)
    assert "<script>alert(1)</script>" not in html and "<b>chắn</b>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    document = page(log_in("admin"), f"/calls/{voice_call.sid}")
    transcript = document.by_id("transcript")
    assert transcript.all("script") == [] and transcript.all("b") == []
    assert turns(document)[2].all(cls="said")[0].text == "Xin cho biết <script>alert(1)</script> địa chỉ."


def test_the_stream_recording_is_the_player_and_the_script_is_ours(log_in: LogIn, voice_call: StoredCall) -> None:
    document = page(log_in("admin"), f"/calls/{voice_call.sid}")
    [recording_id] = voice_call.recordings
    player = document.by_id("player")
    assert player.tag == "audio" and "controls" in player.attrs and player.attrs["preload"] == "metadata"
    assert player.attrs["src"] == f"/recordings/{recording_id}" and "data-timeline" in player.attrs
    assert "trái: người gọi" in document.by_id(f"recording-{recording_id}").text
    assert [s.attrs["src"] for s in document.all("script")] == ["/console/static/replay.js"]


def test_the_call_and_its_case_link_to_each_other(log_in: LogIn, voice_call: StoredCall) -> None:
    client = log_in("lanhdao")
    link = page(client, f"/calls/{voice_call.sid}").by_id("case-link")
    assert link.attrs["href"] == f"/cases/{voice_call.case_number}" and link.text == voice_call.case_number
    case = page(client, link.attrs["href"])
    assert f"/calls/{voice_call.sid}" in [a.attrs.get("href") for a in case.all("a")]


def test_a_keypad_call_plays_each_recording_with_its_label(log_in: LogIn, keypad_call: StoredCall) -> None:
    document = page(log_in("admin"), f"/calls/{keypad_call.sid}")
    stored, pending = keypad_call.recordings
    audios = document.all("audio")
    assert [(a.attrs["src"], a.attrs.get("id"), "data-timeline" in a.attrs) for a in audios] == [
        (f"/recordings/{stored}", "player", False)]
    assert document.by_id(f"recording-{stored}").all("figcaption")[0].text == "Nội dung phản ánh · 00:12"
    assert document.by_id(f"recording-{pending}").all(cls="not-stored")[0].text == "chưa tải về"
    rows = turns(document)
    assert ["data-start" in t.attrs for t in rows] == [False] * 5 and rows[0].all(cls="time") == []
    assert rows[1].all(cls="digits")[0].text == "Bấm phím 1"
    assert rows[2].attrs["data-recording-id"] == str(stored)
    assert rows[2].all(cls="from-recording")[0].text == "Ghi âm: Nội dung phản ánh"
    assert "data-recording-id" not in rows[3].attrs
    assert rows[3].all(cls="from-recording")[0].text == "Ghi âm: Địa điểm (chưa tải về)"
    assert rows[4].all(cls="said")[0].text == "—"
    assert not [a for a in document.walk() if a.attrs.get("id") == "case-link"]


def test_signing_in_is_needed(console_app: Flask, voice_call: StoredCall) -> None:
    for path in (f"/calls/{voice_call.sid}", f"/recordings/{next(iter(voice_call.recordings))}"):
        with console_app.test_client().get(path) as reply:
            assert reply.status_code == 302 and reply.headers["Location"].startswith("/login"), path


@pytest.mark.parametrize(("username", "status"), [
    ("admin", 200), ("giamsat", 200), ("lanhdao", 200), ("donvi", 200), ("donvi2", 404)])
def test_unit_users_see_only_their_units_calls(log_in: LogIn, voice_call: StoredCall, username: str,
                                               status: int) -> None:
    client = log_in(username)
    [recording_id] = voice_call.recordings
    assert client.get(f"/calls/{voice_call.sid}").status_code == status
    with client.get(f"/recordings/{recording_id}") as audio:
        assert audio.status_code == status


def test_a_call_without_a_case_is_hidden_from_unit_users(log_in: LogIn, keypad_call: StoredCall) -> None:
    reply = log_in("donvi").get(f"/calls/{keypad_call.sid}")
    assert reply.status_code == 404 and "Không tìm thấy" in reply.get_data(as_text=True)


@pytest.mark.parametrize("path", ["/calls/CA-khong-co", "/calls/" + "CA" + "9" * 32])
def test_an_unknown_call_is_not_found(log_in: LogIn, path: str) -> None:
    reply = log_in("admin").get(path)
    assert reply.status_code == 404 and "Không tìm thấy" in reply.get_data(as_text=True)
