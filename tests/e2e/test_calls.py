"""Complete calls through the Twilio emulator against the real app and database."""

from __future__ import annotations

import wave
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy.exc import NoResultFound

from ivr.prompts import spell_digits
from ivr.twilio.emulator import Emulator, parse_steps
from serving import LocalServer
from speech.synthesis import EspeakSynthesizer
from storage.numbers import is_valid_case_number
from tests.e2e.support import ACCOUNT_SID, Phone, all_cases, call_row, wait_for_recordings

DESCRIPTION = 'say:"Đường trước nhà tôi ngập sâu nửa mét sau cơn mưa."'
LOCATION = 'say:"Số 25 đường Nguyễn Hữu Cảnh, phường Thạnh Mỹ Tây."'


def test_report_by_keypad_files_a_case_and_reads_the_number_back(app: Flask, phone: Phone) -> None:
    result = phone("press:1", "press:1", DESCRIPTION, LOCATION, "press:1")

    [case] = all_cases(app)
    assert case.status == "new"
    assert case.category == "HT_NGAP"
    assert case.unit_code == "CTY_THOATNUOC"
    assert case.deadline is not None and case.deadline > case.created_at
    assert is_valid_case_number(case.number)
    assert any(spell_digits(case.number) in prompt for prompt in result.prompts[-3:])
    assert result.status == "completed"

    recordings = wait_for_recordings(app, result.sid)
    assert len(recordings) == 2
    for recording in recordings:
        assert recording.status == "stored"
        with wave.open(str(Path(recording.local_path)), "rb") as audio:
            assert audio.getnframes() / audio.getframerate() > 1.0
    call = call_row(app, result.sid)
    assert call.ended_at is not None and call.case.id == case.id
    assert [t.digits for t in call.turns if t.speaker == "caller" and t.digits] == ["1", "1", "1"]
    assert sum(1 for t in call.turns if t.recording_id is not None) == 2


def test_hang_up_mid_flow_leaves_an_incomplete_case_with_the_recording(app: Flask, phone: Phone) -> None:
    result = phone("press:1", "press:4", DESCRIPTION, "hangup")

    [case] = all_cases(app)
    assert case.status == "incomplete"
    assert case.category == "CAYXANH"
    assert [r.status for r in wait_for_recordings(app, result.sid)] == ["stored"]
    assert call_row(app, result.sid).case.id == case.id


def test_hang_up_at_the_greeting_still_leaves_a_case_to_call_back(app: Flask, phone: Phone) -> None:
    result = phone("hangup")
    [case] = all_cases(app)
    assert case.status == "incomplete"
    assert case.caller_number == "+84901234567"
    assert call_row(app, result.sid).status == "completed"


def test_case_lookup_reads_the_status_back(app: Flask, phone: Phone) -> None:
    filed = phone("press:1", "press:2", DESCRIPTION, LOCATION, "press:1")
    [case] = all_cases(app)

    result = phone("press:2", f"press:{case.number}#")

    assert any("Mới tiếp nhận" in prompt for prompt in result.prompts)
    assert len(all_cases(app)) == 1, "a lookup files nothing"
    assert filed.sid != result.sid


def test_lookup_of_an_unknown_number_asks_again(app: Flask, phone: Phone) -> None:
    result = phone("press:2", "press:12345#", "hangup")
    lookups = [t for t in call_row(app, result.sid).turns if t.digits == "12345"]
    assert len(lookups) == 1
    assert len(result.prompts) >= 3


def test_an_answered_transfer_leaves_an_incomplete_case_for_the_operator(app: Flask, phone: Phone) -> None:
    result = phone("press:0", "wait:0.1", operator="answer")
    assert any(event["event"] == "dial" for event in result.events)
    call = call_row(app, result.sid)
    assert call.ended_at is not None and call.outcome == "incomplete_case"
    assert call.case is not None and call.case.status == "incomplete" and call.case.unit_code
    assert "Tổng đài viên đã tiếp nhận" in (call.case.events[0].reason or "")


def test_operator_transfer_unanswered_takes_a_message(app: Flask, phone: Phone) -> None:
    result = phone("press:0", DESCRIPTION, operator="no-answer")
    [case] = all_cases(app)
    assert case.status in ("new", "incomplete")
    assert [r.status for r in wait_for_recordings(app, result.sid)] == ["stored"]


def test_duplicate_callbacks_file_nothing_twice(app: Flask, phone: Phone) -> None:
    result = phone("press:1", "press:1", DESCRIPTION, LOCATION, "press:1", duplicate_callbacks=True)
    [case] = all_cases(app)
    assert case.status == "new"
    call = call_row(app, result.sid)
    assert [t.digits for t in call.turns if t.speaker == "caller" and t.digits] == ["1", "1", "1"]
    assert len(wait_for_recordings(app, result.sid)) == 2
    assert len(case_events := call.case.events) == 1, case_events


def test_digits_outside_the_menu_reprompt_then_fall_back(app: Flask, phone: Phone) -> None:
    result = phone("press:7", "press:8", "press:9", "wait:0.1")
    prompts = result.prompts
    assert len(prompts) >= 4, prompts
    call = call_row(app, result.sid)
    assert [t.digits for t in call.turns if t.digits] == ["7", "8", "9"]


def test_empty_gathers_reprompt(app: Flask, phone: Phone) -> None:
    result = phone("wait:0.1", "press:0", operator="answer")
    assert result.prompts[0] != result.prompts[1] or len(result.prompts) > 2
    assert any(event["event"] == "dial" for event in result.events)


def test_a_caller_signed_with_the_wrong_token_is_refused_and_leaves_nothing(app: Flask, server: LocalServer,
                                                                             synthesizer: EspeakSynthesizer) -> None:
    with Emulator(server.url, "a-forged-auth-token", ACCOUNT_SID, synthesizer=synthesizer, pause_scale=0.0) as forger:
        result = forger.call(parse_steps(["press:1"]))
    assert result.errors and {e["code"] for e in result.errors} == {11200}
    assert {r["status"] for r in result.requests} == {403}
    assert all_cases(app) == []
    with pytest.raises(NoResultFound):
        call_row(app, result.sid)


def test_recordings_say_what_they_hold_and_calls_say_how_they_ended(app: Flask, phone: Phone) -> None:
    filed = phone("press:1", "press:1", DESCRIPTION, LOCATION, "press:1")
    dropped = phone("press:1", "press:1", DESCRIPTION, "hangup")
    looked_up = phone("press:2", "hangup")
    assert [r.purpose for r in call_row(app, filed.sid).recordings] == ["description", "location"]
    assert [r.purpose for r in call_row(app, dropped.sid).recordings] == ["description"]
    assert call_row(app, filed.sid).outcome == "case_filed"
    assert call_row(app, dropped.sid).outcome == "incomplete_case"
    assert call_row(app, looked_up.sid).outcome == "incomplete_case"  # hung up before giving a number
