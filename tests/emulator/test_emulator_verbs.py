"""How the emulator plays each TwiML verb against the caller's steps."""

from __future__ import annotations

from pathlib import Path

import requests
from twilio.twiml.voice_response import VoiceResponse

ACCOUNT_SID = "AC" + "0123456789abcdef" * 2  # as in conftest
AUTH_TOKEN = "emulator-test-token-0123456789abcdef"


def test_record_is_skipped_when_the_caller_stays_silent(server, phone) -> None:
    @server.twiml("/twilio/voice")
    def voice():
        r = VoiceResponse()
        r.record(action="/twilio/recorded", timeout=2)
        r.say("Không nghe thấy gì.")
        return r

    server.empty("/twilio/recorded")
    result = phone().call(["wait:0.05"])
    assert server.to("/twilio/recorded") == []
    assert result.prompts == ["Không nghe thấy gì."]
    assert [e["event"] for e in result.events][1:5] == ["beep", "wait", "timeout", "prompt"]
    assert result.of("hangup")[0] == {"event": "hangup", "by": "server", "reason": "end of document"}


def test_gather_action_on_empty_result_posts_empty_digits(server, phone) -> None:
    @server.twiml("/twilio/voice")
    def voice():
        r = VoiceResponse()
        r.gather(action="/twilio/empty", action_on_empty_result=True, timeout=4)
        r.say("unreachable")
        return r

    @server.twiml("/twilio/empty")
    def empty():
        r = VoiceResponse()
        r.say("Bạn chưa bấm phím nào.")
        return r

    result = phone().call()
    assert server.to("/twilio/empty")[0].params["Digits"] == ""
    assert result.prompts == ["Bạn chưa bấm phím nào."]
    assert result.of("timeout") == [{"event": "timeout", "verb": "Gather", "seconds": 4}]
    assert result.duration >= 4  # Twilio's timeout counts toward the call's length


def test_gather_without_input_falls_through(server, phone) -> None:
    @server.twiml("/twilio/voice")
    def voice():
        r = VoiceResponse()
        r.gather(action="/twilio/never")
        r.say("Hết giờ.")
        return r

    result = phone().call(["press:#"])
    assert "/twilio/never" not in server.paths
    assert result.of("digits") == [{"event": "digits", "digits": "", "finished_on_key": "#"}]
    assert result.prompts == ["Hết giờ."]


def test_gather_digits_stop_at_finish_key_and_num_digits(server, phone) -> None:
    @server.twiml("/twilio/voice")
    def voice():
        r = VoiceResponse()
        r.gather(action="/twilio/case", num_digits=3)
        return r

    @server.twiml("/twilio/case")
    def case():
        r = VoiceResponse()
        r.gather(action="/twilio/phone")
        return r

    server.empty("/twilio/phone")
    result = phone().call(["press:12345", "press:0909#"])
    assert server.to("/twilio/case")[0].params["Digits"] == "123"
    assert {"Digits": "0909", "FinishedOnKey": "#"}.items() <= server.to("/twilio/phone")[0].params.items()
    assert result.of("digits")[0] == {"event": "digits", "digits": "123", "finished_on_key": "", "dropped": "45"}


def test_caller_hangup_during_gather_ends_the_call_without_action(server, phone) -> None:
    @server.twiml("/twilio/voice")
    def voice():
        r = VoiceResponse()
        r.gather(action="/twilio/never").say("Bấm phím.")
        return r

    result = phone().call(["hangup"])
    assert server.paths == ["/twilio/voice", "/twilio/status"]
    assert result.hung_up_by == "caller"
    assert server.to("/twilio/status")[0].params["CallStatus"] == "completed"


def test_caller_hangup_after_recording_in_normal_order(server, phone, voice_wav: Path) -> None:
    @server.twiml("/twilio/voice")
    def voice():
        r = VoiceResponse()
        r.record(action="/twilio/recorded", recording_status_callback="/twilio/recording-status")
        r.say("never heard")
        return r

    server.empty("/twilio/recorded", "/twilio/recording-status")
    result = phone().call([f"record:{voice_wav}", "hangup"])
    assert server.paths == ["/twilio/voice", "/twilio/recorded", "/twilio/recording-status", "/twilio/status"]
    assert result.hung_up_by == "caller"
    assert result.prompts == []


def test_dial_answered_then_operator_hangs_up(server, phone) -> None:
    @server.twiml("/twilio/voice")
    def voice():
        r = VoiceResponse()
        r.dial("+842838221022", action="/twilio/dialled")
        return r

    @server.twiml("/twilio/dialled")
    def dialled():
        r = VoiceResponse()
        r.say("Cuộc gọi đã kết thúc.")
        return r

    result = phone().call(["wait:0.05", "press:1"])
    params = server.to("/twilio/dialled")[0].params
    assert (params["DialCallStatus"], params["DialCallDuration"]) == ("completed", "0")
    assert result.of("dial") == [{"event": "dial", "kind": "number", "to": "+842838221022"}]
    assert result.prompts == ["Cuộc gọi đã kết thúc."]
    assert result.of("call_ended")[0]["unused_steps"] == ["press:1"]


def test_dial_no_answer_posts_status_and_follows_the_action(server, phone) -> None:
    @server.twiml("/twilio/voice")
    def voice():
        r = VoiceResponse()
        r.dial(action="/twilio/dialled", timeout=20).queue("operators")
        return r

    @server.twiml("/twilio/dialled")
    def dialled():
        r = VoiceResponse()
        r.say("Tổng đài viên đang bận.")
        r.hangup()
        return r

    result = phone(operator="no-answer").call()
    assert server.to("/twilio/dialled")[0].params["DialCallStatus"] == "no-answer"
    assert result.of("dial")[0] == {"event": "dial", "kind": "queue", "to": "operators"}
    assert result.prompts == ["Tổng đài viên đang bận."]
    assert result.duration >= 20


def test_dial_answered_and_caller_hangs_up_ignores_the_action_twiml(server, phone) -> None:
    @server.twiml("/twilio/voice")
    def voice():
        r = VoiceResponse()
        r.dial("+842838221022", action="/twilio/dialled")
        return r

    @server.twiml("/twilio/dialled")
    def dialled():
        r = VoiceResponse()
        r.say("never heard")
        return r

    result = phone().call()
    assert server.to("/twilio/dialled")[0].params["CallStatus"] == "completed"
    assert result.prompts == []
    assert result.hung_up_by == "caller"


def test_enqueue_runs_wait_url_until_leave(server, phone) -> None:
    @server.twiml("/twilio/voice")
    def voice():
        r = VoiceResponse()
        r.enqueue("support", wait_url="/twilio/hold", action="/twilio/queued")
        return r

    @server.twiml("/twilio/hold")
    def hold():
        r = VoiceResponse()
        r.say("Xin vui lòng chờ.")
        r.leave()
        return r

    @server.twiml("/twilio/queued")
    def queued():
        r = VoiceResponse()
        r.say("Đã rời hàng chờ.")
        r.hangup()
        return r

    result = phone(operator="no-answer").call()
    assert server.to("/twilio/hold")[0].params["QueuePosition"] == "1"
    assert server.to("/twilio/queued")[0].params["QueueResult"] == "leave"
    assert result.prompts == ["Xin vui lòng chờ.", "Đã rời hàng chờ."]
    assert result.of("dial") == [{"event": "dial", "kind": "enqueue", "to": "support"}]
    assert result.of("dial_ended")[0]["status"] == "leave"


def test_enqueue_nobody_answers_caller_gives_up(server, phone) -> None:
    @server.twiml("/twilio/voice")
    def voice():
        r = VoiceResponse()
        r.enqueue("support", wait_url="/twilio/hold", action="/twilio/queued")
        return r

    @server.twiml("/twilio/hold")
    def hold():
        r = VoiceResponse()
        r.play("/static/hold.mp3")
        return r

    server.empty("/twilio/queued")
    result = phone(operator="no-answer").call(["wait:0.01", "wait:0.01"])
    assert len(server.to("/twilio/hold")) == 3
    assert server.to("/twilio/queued")[0].params["QueueResult"] == "hangup"
    assert result.of("play")[0]["url"] == server.base_url + "/static/hold.mp3"
    assert result.hung_up_by == "caller"


def test_a_stream_that_cannot_open_is_an_error_and_the_call_goes_on(server, phone) -> None:
    @server.twiml("/twilio/voice")
    def voice():
        r = VoiceResponse()
        r.connect().stream(url="ws://127.0.0.1:9/stream")  # nothing listens on the discard port
        r.say("Sau luồng âm thanh.")
        return r

    result = phone().call()
    assert [error["code"] for error in result.errors] == [31902]
    assert result.prompts == ["Sau luồng âm thanh."]


def test_speech_gather_takes_said_text(server, phone) -> None:
    @server.twiml("/twilio/voice")
    def voice():
        r = VoiceResponse()
        r.gather(input="speech dtmf", action="/twilio/heard", language="vi-VN")
        return r

    server.empty("/twilio/heard")
    phone().call(['say:"cây ngã trên đường Lê Lợi"'])
    assert server.to("/twilio/heard")[0].params["SpeechResult"] == "cây ngã trên đường Lê Lợi"


def test_say_step_is_synthesised_for_record(server, phone, tone_wav) -> None:
    class FakeSynth:
        def __init__(self) -> None:
            self.texts: list[str] = []

        def synthesize(self, text: str, path: Path) -> Path:
            self.texts.append(text)
            path.write_bytes(tone_wav(1.4))
            return path

    @server.twiml("/twilio/voice")
    def voice():
        r = VoiceResponse()
        r.record(action="/twilio/recorded", finish_on_key="*")
        return r

    server.empty("/twilio/recorded")
    synth = FakeSynth()
    phone(synthesizer=synth).call(['say:"ngập nước ở phường Bến Thành"', "press:*"])
    params = server.to("/twilio/recorded")[0].params
    assert synth.texts == ["ngập nước ở phường Bến Thành"]
    assert (params["RecordingDuration"], params["Digits"]) == ("1", "*")


def test_record_max_length_truncates_the_audio(server, phone, voice_wav: Path) -> None:
    @server.twiml("/twilio/voice")
    def voice():
        r = VoiceResponse()
        r.record(action="/twilio/recorded", max_length=1)
        return r

    server.empty("/twilio/recorded")
    phone().call([f"record:{voice_wav}"])
    params = server.to("/twilio/recorded")[0].params
    assert params["RecordingDuration"] == "1"
    assert "Digits" not in params
    audio = requests.get(params["RecordingUrl"], auth=(ACCOUNT_SID, AUTH_TOKEN), timeout=5)
    audio.close()
    assert len(audio.content) == 44 + 8000 * 2


def test_enqueue_answered_is_bridged(server, phone) -> None:
    @server.twiml("/twilio/voice")
    def voice():
        r = VoiceResponse()
        r.enqueue("operators", action="/twilio/queued")
        return r

    @server.twiml("/twilio/queued")
    def queued():
        r = VoiceResponse()
        r.say("Cảm ơn quý vị.")
        return r

    result = phone().call(["wait:0.05", "press:1"])
    params = server.to("/twilio/queued")[0].params
    assert (params["QueueResult"], params["CallStatus"]) == ("bridged", "in-progress")
    assert result.of("dial_ended") == [{"event": "dial_ended", "status": "bridged", "duration": 0}]
    assert result.prompts == ["Cảm ơn quý vị."]


def test_enqueue_without_wait_url_never_times_out(server, phone) -> None:
    """As on Twilio: nobody answering does not end the wait; only the caller (or a <Leave>) does."""

    @server.twiml("/twilio/voice")
    def voice():
        r = VoiceResponse()
        r.enqueue("operators", action="/twilio/queued")
        return r

    @server.twiml("/twilio/queued")
    def queued():
        r = VoiceResponse()
        r.say("never heard")
        return r

    result = phone(operator="no-answer").call(["wait:0.05", 'say:"không ai nghe"'])
    params = server.to("/twilio/queued")[0].params
    assert (params["QueueResult"], params["CallStatus"]) == ("hangup", "completed")
    assert result.prompts == []
    assert result.hung_up_by == "caller"
    assert result.unused_steps == ['say:"không ai nghe"']
