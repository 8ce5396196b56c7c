"""The demo and `hotline call`: an emulated citizen phones the hotline and files a case."""

from __future__ import annotations

import dataclasses
import secrets
import time
from collections.abc import Callable, Sequence
from contextlib import closing
from typing import Any

from sqlalchemy import select

from config.settings import Settings
from ivr.twilio.emulator import Emulator, parse_steps
from serving import LocalServer
from speech.synthesis import EspeakSynthesizer
from storage.cases import case_to_dict
from storage.migrate import upgrade
from storage.models import Call, Recording

Out = Callable[[dict[str, Any]], None]

DEMO_ACCOUNT_SID = "AC" + "0" * 31 + "1"
DEMO_STEPS = (
    "press:1",  # report a problem
    "press:1",  # flooding
    'say:"Đường trước nhà tôi bị ngập sâu gần nửa mét sau cơn mưa chiều nay, xe máy chết máy hàng loạt."',
    'say:"Số 25 đường Nguyễn Hữu Cảnh, phường Thạnh Mỹ Tây."',
    "press:1",  # confirm
)


def place_call(hotline: Any, *, url: str, caller: str, operator: str, steps: Sequence[str],
               out: Out, recordings_timeout_s: float = 10.0, **emulator_options: Any) -> dict[str, Any] | None:
    """Call the server at url like Twilio would; print events; return the case the call left, if any.

    emulator_options go to Emulator as they are (media_pace, media_patience, bot_wav…)."""
    settings = hotline.settings
    if not settings.twilio_auth_token:
        raise SystemExit("TWILIO_AUTH_TOKEN must be set to the server's auth token to sign emulated requests")
    emulator = Emulator(url, settings.twilio_auth_token, settings.twilio_account_sid or DEMO_ACCOUNT_SID,
                        caller=caller, synthesizer=EspeakSynthesizer(), out=out, operator=operator,
                        **emulator_options)
    with emulator:
        result = emulator.call(parse_steps(steps))
        case = _case_of_call(hotline, result.sid, recordings_timeout_s)
    if case is not None:
        out({"event": "case_filed", **case})
    return case


def run_demo(base: Settings, *, once: bool, port: int, out: Out, media_pace: float = 1.0,
             media_patience: float = 2.0) -> int:
    """Migrate, serve, place the demo call, print the case; keep serving unless once."""
    settings = dataclasses.replace(
        base,
        twilio_auth_token=base.twilio_auth_token or secrets.token_hex(16),
        twilio_account_sid=base.twilio_account_sid or DEMO_ACCOUNT_SID,
        public_base_url=None,  # the emulated carrier calls the loopback address it is given
    )
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    upgrade(settings.database_url)
    from app import create_app  # the demo builds its own app, signed with the demo's token

    demo_app = create_app(settings)
    hotline = demo_app.extensions["hotline"]
    hotline.sync_units()
    voice = hotline.speech is not None and hotline.speech.model_path is not None and hotline.speech.load()
    with closing(hotline), LocalServer(demo_app, port=port) as server:
        out({"event": "server_started", "url": server.url})
        streamed: list[bool] = []

        def noting(event: dict[str, Any]) -> None:
            streamed.append(event.get("event") == "stream_started")
            out(event)
            if event.get("event") == "call_ended":  # before the case, which is printed last
                out(_path_taken(any(streamed), voice, hotline))

        case = place_call(hotline, url=server.url, caller="+84901234567", operator="answer",
                          steps=DEMO_STEPS, out=noting, media_pace=media_pace, media_patience=media_patience)
        if once:
            return 0 if case is not None and case["status"] == "new" else 1
        number = case["number"] if case else "13"
        out({"event": "serving", "url": server.url,
             "hint": f"Mở {server.url} trong trình duyệt. Gọi thử tra cứu hồ sơ: "
                     f"TWILIO_AUTH_TOKEN={settings.twilio_auth_token} hotline call --url {server.url} "
                     f"press:2 'press:{number}#'"})
        try:
            server.wait()
        except KeyboardInterrupt:
            pass
    return 0


def _path_taken(streamed: bool, voice: bool, hotline: Any) -> dict[str, Any]:
    """Which way the demo call went, and why, in words for the person watching."""
    if streamed:
        model = hotline.speech.model_path
        return {"event": "path", "path": "voice",
                "message": f"Cuộc gọi đi qua luồng âm thanh: máy chủ tự nhận dạng giọng nói (mô hình {model})."}
    if voice:
        return {"event": "path", "path": "keypad",
                "message": "Có mô hình nhận dạng nhưng cuộc gọi không mở được luồng âm thanh: đã dùng bàn phím."}
    return {"event": "path", "path": "keypad",
            "message": "Chưa có mô hình nhận dạng tiếng Việt nên cuộc gọi dùng bàn phím và ghi âm. "
                       "Cài mô hình bằng `hotline models install vi` để gọi bằng giọng nói."}


def _case_of_call(hotline: Any, call_sid: str, timeout_s: float) -> dict[str, Any] | None:
    """The case filed for a call, once its recordings are stored locally (or the wait runs out)."""
    deadline = time.monotonic() + timeout_s
    while True:
        with hotline.sessions() as session:
            call = session.scalars(select(Call).where(Call.sid == call_sid)).one_or_none()
            if call is None or call.case is None:
                return None
            pending = session.scalars(
                select(Recording).where(Recording.call_id == call.id, Recording.status != "stored")).all()
            if not pending or time.monotonic() > deadline:
                case = case_to_dict(call.case)
                case["recordings"] = [r.local_path or r.remote_url for r in call.recordings]
                return case
        time.sleep(0.1)
