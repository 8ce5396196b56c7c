"""The dialogue over a media stream, with a recogniser double that returns scripted transcripts.

The app (database, menus, understanding, CallService) is real; the stream transport and the
recogniser are doubles, so these tests are about what the caller hears and what is stored.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
from flask import Flask

from config.settings import DEFAULT_MENU_DIR, Settings
from ivr.actions import Hangup, Transfer, actions_from_json, actions_to_json
from ivr.voice import VoiceSession
from speech.audio import is_quiet
from speech.mulaw import SILENCE, mulaw_encode
from speech.prompts import PromptAudio
from speech.recognition import Final, Partial, Word
from tests.e2e.support import MakeApp, call_row

LOUD = mulaw_encode(np.full(160, 6000, dtype=np.int16))
QUIET = bytes([SILENCE]) * 160
FRAME_S = 0.02


@dataclass
class FakeOut:
    """Twilio's side of the stream: what was played, marked, cleared, and whether it was closed."""

    played: list[tuple[int, str]] = field(default_factory=list)
    cleared: int = 0
    closed: bool = False

    def play(self, audio_frames: Sequence[bytes], mark: str) -> bool:
        if self.closed:
            return False
        self.played.append((len(audio_frames), mark))
        return True

    def clear(self) -> bool:
        self.cleared += 1
        return True

    def close(self) -> None:
        self.closed = True


class ScriptedRecognizer:
    """Hears "speech" in loud frames and, when asked to finish, says the next scripted transcript."""

    def __init__(self, script: list[str], offset_s: float) -> None:
        self.script = script
        self.now = offset_s
        self.heard_since: float | None = None

    def accept(self, samples: np.ndarray) -> Partial | Final | None:
        self.now += samples.size / 8000
        if is_quiet(samples):
            return None
        first = self.heard_since is None
        if first:
            self.heard_since = self.now
        return Partial("…") if first else None

    def finish(self) -> Final | None:
        if self.heard_since is None or not self.script:
            return None
        text = self.script.pop(0)
        words = tuple(Word(w, self.heard_since, self.now, 0.9) for w in text.split())
        start, self.heard_since = self.heard_since, None
        return Final(text, 0.9, words, start, self.now)

    def reset(self) -> None:
        self.heard_since = None


@dataclass
class ScriptedEars:
    script: list[str]
    grammars: list[list[str] | None] = field(default_factory=list)
    closed: bool = False

    def recognizer(self, grammar: Sequence[str] | None = None, *, offset_s: float = 0.0) -> ScriptedRecognizer:
        self.grammars.append(list(grammar) if grammar is not None else None)
        return ScriptedRecognizer(self.script, offset_s)

    def warm_up(self) -> None:
        pass

    def close(self) -> None:
        self.closed = True


def prompt_audio(say: object) -> PromptAudio:
    """One 20 ms frame per four characters: prompts take time to play, as real ones do."""
    frames = max(1, len(getattr(say, "text", "")) // 4)
    return PromptAudio((QUIET,) * frames, frames * FRAME_S)


class Caller:
    """Drives a VoiceSession as Twilio and a caller would."""

    def __init__(self, app: Flask, sid: str, script: Sequence[str] = ()) -> None:
        hotline = app.extensions["hotline"]
        self.app, self.sid, self.service = app, sid, hotline.service
        self.service.begin(sid=sid, caller="+84901234567", to="1022", render=actions_to_json)
        self.out = FakeOut()
        self.ears = ScriptedEars(list(script))
        self.session = VoiceSession(call_sid=sid, stream_sid="MZ" + sid[2:], service=self.service, out=self.out,
                                    prompts=prompt_audio, ears=self.ears)
        self.echoed = 0

    def hear_prompts(self) -> None:
        """Twilio plays the queued prompts while the caller listens, echoing each mark once it has played."""
        self.session.on_audio(QUIET, -1)  # the stream starts
        while self.echoed < len(self.out.played) and not self.out.closed:
            frames, mark = self.out.played[self.echoed]
            for _ in range(frames):
                self.session.on_audio(QUIET, -1)
            self.session.on_mark(mark)
            self.echoed += 1

    def silence(self, seconds: float) -> None:
        for _ in range(round(seconds / FRAME_S)):
            if self.out.closed:
                return
            self.session.on_audio(QUIET, -1)

    def speak(self, seconds: float = 1.0, then_quiet: float = 1.0) -> None:
        for _ in range(round(seconds / FRAME_S)):
            self.session.on_audio(LOUD, -1)
        self.silence(then_quiet)
        self.hear_prompts()

    def press(self, digits: str) -> None:
        for digit in digits:
            self.session.on_dtmf(digit)
        self.hear_prompts()

    def stored_actions(self) -> list[object]:
        position = self.service.position(self.sid)
        assert position is not None
        stored = actions_from_json(position.response)
        assert stored is not None
        return stored[1]


def test_a_report_by_voice_from_greeting_to_case_number(app: Flask) -> None:
    caller = Caller(app, "CA" + "a1" * 16, script=[
        "phản ánh", "ngập nước", "nước ngập tới đầu gối ở đường Nguyễn Hữu Cảnh", "phường Bến Thành", "đúng rồi"])
    caller.hear_prompts()
    for _ in range(5):
        caller.speak()
    assert caller.out.closed, "the goodbye hangs up: the stream is handed back once its prompts have played"
    assert isinstance(caller.stored_actions()[-1], Hangup)

    call = call_row(app, caller.sid)
    assert call.case is not None and call.case.status == "new" and call.case.category == "HT_NGAP"
    assert call.case.ward_code is not None and "Bến Thành" in (call.case.ward or "")
    assert call.case.description == "nước ngập tới đầu gối ở đường Nguyễn Hữu Cảnh"
    said = [t for t in call.turns if t.speaker == "caller"]
    assert [t.text for t in said] == ["phản ánh", "ngập nước", "nước ngập tới đầu gối ở đường Nguyễn Hữu Cảnh",
                                      "phường Bến Thành", "đúng rồi"]
    assert all(t.start_s is not None and t.end_s is not None and t.start_s < t.end_s for t in said)
    assert all(t.words and t.words[0]["confidence"] == 0.9 for t in said)
    bot = [t for t in call.turns if t.speaker == "bot"]
    assert all(t.start_s is not None and t.end_s is not None for t in bot), "every prompt is placed in the recording"
    starts = [t.start_s for t in call.turns if t.start_s is not None]
    assert starts == sorted(starts), "turns follow the call's timeline"

    menu, category, describe, location, confirm = caller.ears.grammars[:5]
    assert menu is not None and "phản ánh" in menu and category is not None and "ngập nước" in category
    assert describe is None and location is None, "free answers are recognised without a grammar"
    assert confirm is not None and "đúng" in confirm


def test_keys_work_inside_the_stream_and_hash_ends_a_spoken_answer(app: Flask) -> None:
    caller = Caller(app, "CA" + "b2" * 16, script=["cây đổ chắn ngang đường", "phường Sài Gòn"])
    caller.hear_prompts()
    caller.press("1")
    caller.press("4")
    caller.speak(seconds=1.0, then_quiet=0.1)
    caller.press("#")
    caller.speak()
    caller.press("1")
    call = call_row(app, caller.sid)
    assert call.case is not None and call.case.category == "CAYXANH" and call.case.status == "new"
    assert [t.digits for t in call.turns if t.speaker == "caller"][:2] == ["1", "4"]


def test_speaking_over_a_prompt_clears_it_and_is_heard(app: Flask) -> None:
    caller = Caller(app, "CA" + "c3" * 16, script=["phản ánh"])
    caller.session.on_audio(QUIET, -1)  # the greeting is queued; no mark has come back
    assert caller.out.played and caller.out.cleared == 0
    for _ in range(10):
        caller.session.on_audio(LOUD, -1)
    assert caller.out.cleared == 1, "barge-in sends clear once"
    caller.silence(1.0)
    assert call_row(app, caller.sid).state["node"] == "report_category"


def test_silence_reprompts_then_hands_over_to_an_operator(app: Flask) -> None:
    caller = Caller(app, "CA" + "d4" * 16)
    caller.hear_prompts()
    for _ in range(3):
        caller.silence(7.0)  # the menu waits 6 s each time
        caller.hear_prompts()
    assert caller.out.closed and isinstance(caller.stored_actions()[-1], Transfer)
    turns = call_row(app, caller.sid).turns
    reprompts = [t for t in turns if t.speaker == "bot" and t.text and t.text.startswith("Xin lỗi")]
    assert len(reprompts) == 2


def test_ten_minutes_of_silence_do_not_keep_the_call_waiting(app: Flask) -> None:
    caller = Caller(app, "CA" + "e5" * 16)
    caller.hear_prompts()
    caller.silence(600.0)
    assert caller.out.closed, "the caller was handed to the operator long before ten minutes"
    assert caller.session.now_s < 60


def test_hanging_up_mid_description_keeps_the_words_in_an_incomplete_case(app: Flask) -> None:
    caller = Caller(app, "CA" + "f6" * 16, script=["đèn đường ở hẻm nhà tôi tắt"])
    caller.hear_prompts()
    caller.press("1")
    caller.press("3")
    for _ in range(40):
        caller.session.on_audio(LOUD, -1)
    caller.session.on_stop()  # the socket dropped mid-utterance
    assert caller.ears.closed
    caller.service.end(sid=caller.sid, status="completed", duration_s=30, caller="+84901234567", to="1022")
    case = call_row(app, caller.sid).case
    assert case is not None and case.status == "incomplete" and case.category == "HT_CHIEUSANG"
    assert case.description == "đèn đường ở hẻm nhà tôi tắt"


def test_a_stream_for_an_unknown_or_keypad_call_is_handed_back(app: Flask) -> None:
    service = app.extensions["hotline"].service
    out = FakeOut()
    ears = ScriptedEars([])
    VoiceSession(call_sid="CA" + "0" * 32, stream_sid="MZ1", service=service, out=out, prompts=prompt_audio,
                 ears=ears).on_audio(QUIET, -1)
    assert out.closed and not out.played


def test_a_menu_that_refuses_barge_in_plays_its_prompts_to_the_end(settings: Settings, make_app: MakeApp,
                                                                     tmp_path: Path) -> None:
    menus = tmp_path / "menus"
    menus.mkdir()
    text = (DEFAULT_MENU_DIR / "main.yaml").read_text(encoding="utf-8")
    assert "  barge_in: true\n" in text
    (menus / "main.yaml").write_text(text.replace("  barge_in: true\n", "  barge_in: false\n", 1), encoding="utf-8")
    app = make_app(replace(settings, menu_dir=menus))
    caller = Caller(app, "CA" + "7b" * 16, script=["phản ánh"])
    caller.session.on_audio(QUIET, -1)
    for _ in range(10):
        caller.session.on_audio(LOUD, -1)
    assert caller.out.cleared == 0 and caller.ears.grammars == [], "nobody listens while the prompt plays"
    caller.hear_prompts()
    caller.silence(FRAME_S)
    assert caller.ears.grammars, "listening starts once the prompt has played"
    caller.speak()
    assert call_row(app, caller.sid).state["node"] == "report_category"
