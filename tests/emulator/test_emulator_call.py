"""The emulator against a scripted Flask app: signatures, verbs, recordings and callbacks."""

from __future__ import annotations

import re
from pathlib import Path

import requests
from twilio.twiml.voice_response import Gather, VoiceResponse

from ivr.twilio.emulator import CallResult, Emulator

ACCOUNT_SID = "AC" + "0123456789abcdef" * 2  # as in conftest
AUTH_TOKEN = "emulator-test-token-0123456789abcdef"


def scripted_flow(server) -> None:
    """Gather (relative action) → Record → Redirect (relative) → Hangup."""

    @server.twiml("/twilio/voice")
    def voice():
        r = VoiceResponse()
        g = Gather(action="gather", num_digits=1, timeout=3)
        g.say("Xin chào, đây là đường dây nóng 1022. Bấm 1 để phản ánh.", language="vi-VN")
        r.append(g)
        r.say("Không nhận được phím nào.", language="vi-VN")
        r.hangup()
        return r

    @server.twiml("/twilio/gather")
    def gathered():
        r = VoiceResponse()
        r.say("Mời nói sau tiếng bíp.", language="vi-VN")
        r.record(action="/twilio/recorded", max_length=30, recording_status_callback="recording-status")
        r.say("Không có ghi âm.", language="vi-VN")
        return r

    @server.twiml("/twilio/recorded")
    def recorded():
        r = VoiceResponse()
        r.redirect("bye")
        return r

    @server.twiml("/twilio/bye")
    def bye():
        r = VoiceResponse()
        r.say("Cảm ơn, tạm biệt.", language="vi-VN")
        r.hangup()
        return r

    server.empty("/twilio/recording-status")


def test_scripted_flow_is_signed_and_follows_twiml(server, phone, voice_wav: Path) -> None:
    scripted_flow(server)
    result = phone().call(["press:1", f"record:{voice_wav}"])

    assert result.unused_steps == []
    assert server.paths == ["/twilio/voice", "/twilio/gather", "/twilio/recorded",
                            "/twilio/recording-status", "/twilio/bye", "/twilio/status"]
    assert all(hit.valid for hit in server.hits)
    assert re.fullmatch(r"CA[0-9a-f]{32}", result.sid)
    for hit in server.hits:
        assert hit.params["CallSid"] == result.sid
        assert hit.params["AccountSid"] == ACCOUNT_SID
    first = server.to("/twilio/voice")[0].params
    assert first | {"CallSid": "x"} == {
        "CallSid": "x", "AccountSid": ACCOUNT_SID, "From": "+84901234567", "To": "1022",
        "Caller": "+84901234567", "Called": "1022", "CallStatus": "ringing",
        "ApiVersion": "2010-04-01", "Direction": "inbound"}
    gather = server.to("/twilio/gather")[0].params
    assert (gather["Digits"], gather["FinishedOnKey"], gather["CallStatus"]) == ("1", "", "in-progress")
    assert result.prompts == ["Xin chào, đây là đường dây nóng 1022. Bấm 1 để phản ánh.",
                              "Mời nói sau tiếng bíp.", "Cảm ơn, tạm biệt."]
    assert result.of("prompt")[0]["language"] == "vi-VN"
    assert (result.status, result.hung_up_by) == ("completed", "server")
    assert [e["event"] for e in result.events] == [
        "call_started", "prompt", "digits", "prompt", "beep", "recording", "redirect", "prompt",
        "hangup", "call_ended"]
    assert result.of("redirect")[0]["url"] == server.base_url + "/twilio/bye"


def test_record_action_and_recording_download(server, phone, voice_wav: Path) -> None:
    scripted_flow(server)
    result = phone().call(["press:1", f"record:{voice_wav}"])

    action = server.to("/twilio/recorded")[0].params
    assert re.fullmatch(r"RE[0-9a-f]{32}", action["RecordingSid"])
    assert action["RecordingDuration"] == "2"
    assert action["Digits"] == "#"
    url = action["RecordingUrl"]
    assert url.endswith(f"/2010-04-01/Accounts/{ACCOUNT_SID}/Recordings/{action['RecordingSid']}")
    assert result.recordings == [{"event": "recording", "sid": action["RecordingSid"], "url": url,
                                  "duration": 2, "source": f"record:{voice_wav}", "ended_by": "#"}]
    status = server.to("/twilio/recording-status")[0].params
    assert (status["RecordingSid"], status["RecordingUrl"], status["RecordingStatus"],
            status["RecordingDuration"]) == (action["RecordingSid"], url, "completed", "2")

    with requests.Session() as http:
        wav = http.get(url + ".wav", auth=(ACCOUNT_SID, AUTH_TOKEN), timeout=5)
        bare = http.get(url, auth=(ACCOUNT_SID, AUTH_TOKEN), timeout=5)
        anonymous = http.get(url + ".wav", timeout=5)
        wrong = http.get(url + ".wav", auth=(ACCOUNT_SID, "not-the-token"), timeout=5)
        mp3 = http.get(url + ".mp3", auth=(ACCOUNT_SID, AUTH_TOKEN), timeout=5)
    assert wav.status_code == 200
    assert wav.headers["Content-Type"] == "audio/x-wav"
    assert wav.content == voice_wav.read_bytes() == bare.content
    assert (anonymous.status_code, wrong.status_code, mp3.status_code) == (401, 401, 404)


def test_the_apps_signature_check_is_real(server, phone) -> None:
    server.twiml("/twilio/voice")(VoiceResponse)
    phone().call()
    good = server.to("/twilio/voice")[0]
    signature = server.validator.compute_signature(good.url, good.params)
    assert server.validator.validate(good.url, good.params, signature)
    assert not server.validator.validate(good.url, good.params | {"From": "+84999999999"}, signature)

    tampered = requests.post(good.url, data=good.params | {"Digits": "9"},
                             headers={"X-Twilio-Signature": signature}, timeout=5)
    tampered.close()
    assert tampered.status_code == 403
    assert server.hits[-1].valid is False


def test_wrong_auth_token_is_rejected_and_reported(server) -> None:
    server.twiml("/twilio/voice")(VoiceResponse)
    with Emulator(server.base_url, "wrong-token", ACCOUNT_SID) as emulator:
        result = emulator.call()
    assert not any(hit.valid for hit in server.hits)
    assert result.errors[0]["code"] == 11200
    assert "403" in result.errors[0]["message"]
    assert [e["purpose"] for e in result.requests] == ["voice", "status"]


def test_status_callback_arrives_once(server, phone) -> None:
    server.twiml("/twilio/voice")(VoiceResponse)
    result = phone().call()
    [status] = server.to("/twilio/status")
    assert status.params["CallStatus"] == "completed"
    assert status.params["StatusCallbackEvent"] == "completed"
    assert status.params["CallDuration"] == str(result.duration)
    assert "Timestamp" in status.params


def test_duplicate_callbacks_send_actions_and_status_twice(server, phone) -> None:
    @server.twiml("/twilio/voice")
    def voice():
        r = VoiceResponse()
        r.gather(action="/twilio/menu", num_digits=1)
        return r

    @server.twiml("/twilio/menu")
    def menu():
        r = VoiceResponse()
        r.hangup()
        return r

    result = phone(duplicate_callbacks=True).call(["press:2"])
    assert server.paths == ["/twilio/voice", "/twilio/menu", "/twilio/menu", "/twilio/status", "/twilio/status"]
    menu_hits, status_hits = server.to("/twilio/menu"), server.to("/twilio/status")
    assert menu_hits[0].params == menu_hits[1].params
    assert menu_hits[0].idempotency_token == menu_hits[1].idempotency_token
    assert status_hits[0].params == status_hits[1].params
    assert all(hit.valid for hit in server.hits)
    assert [r.get("duplicate", False) for r in result.requests] == [False, False, True, False, True]


def test_status_callback_can_come_before_the_final_action(server, phone, voice_wav: Path) -> None:
    @server.twiml("/twilio/voice")
    def voice():
        r = VoiceResponse()
        r.record(action="/twilio/recorded", recording_status_callback="/twilio/recording-status")
        return r

    server.empty("/twilio/recorded", "/twilio/recording-status")
    phone(status_callback_first=True).call([f"record:{voice_wav}", "hangup"])
    assert server.paths == ["/twilio/voice", "/twilio/status", "/twilio/recorded", "/twilio/recording-status"]
    recorded = server.to("/twilio/recorded")[0].params
    assert (recorded["Digits"], recorded["CallStatus"]) == ("hangup", "completed")


def test_relative_urls_resolve_against_the_document_url(server, phone) -> None:
    @server.twiml("/twilio/menu/start")
    def start():
        r = VoiceResponse()
        r.redirect("../next?step=2", method="GET")
        return r

    @server.twiml("/twilio/next", methods=("GET",))
    def nxt():
        r = VoiceResponse()
        r.gather(action="", num_digits=1, method="GET")  # empty action: the current document
        return r

    result = phone(voice_url=server.base_url + "/twilio/menu/start").call(["press:5", "hangup"])
    assert server.paths == ["/twilio/menu/start", "/twilio/next", "/twilio/next", "/twilio/status"]
    redirected, gathered = server.to("/twilio/next")
    assert redirected.params["step"] == "2" and redirected.method == "GET"
    assert gathered.params["step"] == "2" and gathered.params["Digits"] == "5"
    assert all(hit.valid for hit in server.hits)
    assert result.hung_up_by == "caller"


def test_server_error_ends_the_call_with_an_error_event(server, phone) -> None:
    server.twiml("/twilio/voice")(lambda: ("boom", 500))
    result = phone().call(["press:1"])
    assert result.errors == [{"event": "error", "code": 11200,
                              "message": f"HTTP 500 from {server.base_url}/twilio/voice"}]
    assert result.of("hangup") == [{"event": "hangup", "by": "server", "reason": "application error"}]
    assert len(server.to("/twilio/status")) == 1
    assert result.of("call_ended")[0]["unused_steps"] == ["press:1"]


def test_non_twiml_reply_is_a_document_parse_failure(server, phone) -> None:
    server.twiml("/twilio/voice")(lambda: ("xin chào", 200, {"Content-Type": "text/plain"}))
    result = phone().call()
    assert result.errors[0]["code"] == 12100
    assert len(server.to("/twilio/status")) == 1


def test_slow_server_times_out_like_twilio(server, phone) -> None:
    import threading

    release = threading.Event()

    @server.twiml("/twilio/voice")
    def slow():
        release.wait(5)
        return VoiceResponse()

    try:
        result = phone(timeout=0.3).call()
    finally:
        release.set()
    assert result.errors[0]["code"] == 11205
    assert result.of("hangup")[0]["reason"] == "application error"


def test_unreachable_server_is_reported(phone) -> None:
    emulator = phone(voice_url="http://127.0.0.1:9/twilio/voice", status_callback_url="")
    result = emulator.call()
    assert result.errors[0]["code"] == 11205
    assert result.status == "completed"


def test_redirect_loop_is_cut_off(server, phone) -> None:
    @server.twiml("/twilio/voice")
    def voice():
        r = VoiceResponse()
        r.pause(length=1)
        r.redirect("/twilio/voice")
        return r

    result = phone(max_requests=5).call()
    assert len(server.to("/twilio/voice")) == 5
    assert "looping" in result.errors[0]["message"]
    assert result.hung_up_by == "caller"


def test_events_reach_out_and_requests_only_when_verbose(server, phone) -> None:
    server.twiml("/twilio/voice")(VoiceResponse)
    seen: list[dict] = []
    quiet: CallResult = phone(out=seen.append).call()
    assert seen == quiet.events
    assert "request" not in {e["event"] for e in seen}
    loud = phone(verbose=True).call()
    requests_seen = loud.of("request")
    assert [r["purpose"] for r in requests_seen] == ["voice", "status"]
    assert requests_seen[0]["status"] == 200 and requests_seen[0]["method"] == "POST"
