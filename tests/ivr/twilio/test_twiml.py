"""Actions become TwiML built by twilio.twiml.voice_response; assertions on the parsed XML."""

from __future__ import annotations

from urllib.parse import urlencode
from xml.etree import ElementTree

from ivr.actions import Hangup, Listen, Say, Transfer
from ivr.twilio import twiml

VOICE = twiml.Voice(language="vi-VN")


def url_for(name: str, **query: object) -> str:
    return f"https://hotline.example.vn/twilio/{name.replace('_', '-')}" + (f"?{urlencode(query)}" if query else "")


def parse(actions: list) -> ElementTree.Element:  # type: ignore[type-arg]
    return ElementTree.fromstring(twiml.render(actions, seq=4, url_for=url_for, voice=VOICE))


def test_keypad_listen_nests_its_prompts_in_a_gather() -> None:
    doc = parse([Say("Xin chào"), Say("Bấm phím 1"), Listen(mode="keypad", max_digits=1, timeout_s=6)])
    gather, redirect = list(doc)
    assert gather.tag == "Gather" and redirect.tag == "Redirect"
    assert gather.attrib == {"input": "dtmf", "action": url_for("gather", seq=4), "method": "POST",
                             "timeout": "6", "actionOnEmptyResult": "true", "numDigits": "1",
                             "finishOnKey": "#"}
    assert [(s.text, s.get("language")) for s in gather] == [("Xin chào", "vi-VN"), ("Bấm phím 1", "vi-VN")]
    assert redirect.text == url_for("gather", seq=4, empty=1)


def test_without_barge_in_prompts_play_before_the_gather() -> None:
    doc = parse([Say("Nghe hết"), Listen(mode="keypad", barge_in=False, finish_on_key=None)])
    assert [el.tag for el in doc] == ["Say", "Gather", "Redirect"]
    assert "finishOnKey" not in doc[1].attrib and len(doc[1]) == 0


def test_record_listen_has_a_status_callback_and_an_empty_fallback() -> None:
    doc = parse([Say("Sau tiếng bíp"), Listen(mode="record", max_seconds=90, timeout_s=4)])
    say, record, redirect = list(doc)
    assert record.get("action") == url_for("record", seq=4)
    assert record.get("maxLength") == "90" and record.get("timeout") == "4" and record.get("playBeep") == "true"
    assert record.get("recordingStatusCallback") == url_for("recording_status")
    assert redirect.text == url_for("record", seq=4, empty=1)


def test_transfer_to_a_number_dials_with_a_timeout() -> None:
    doc = parse([Say("Xin chờ"), Transfer(number="+842838221022", timeout_s=25)])
    dial = doc.find("Dial")
    assert dial.get("timeout") == "25" and dial.get("action") == url_for("dial", seq=4)
    assert dial.find("Number").text == "+842838221022"


def test_transfer_to_a_queue_waits_with_a_limit() -> None:
    doc = parse([Transfer(queue="operators", timeout_s=40)])
    enqueue = doc.find("Enqueue")
    assert enqueue.text == "operators"
    assert enqueue.get("waitUrl") == url_for("queue_wait", limit=40)


def test_queue_wait_leaves_after_the_limit() -> None:
    first = ElementTree.fromstring(twiml.queue_wait(queue_time_s=0, limit_s=30, hold_text="Giữ máy", voice=VOICE))
    assert [el.tag for el in first] == ["Say", "Pause"] and first[1].get("length") == "10"
    later = ElementTree.fromstring(twiml.queue_wait(queue_time_s=25, limit_s=30, hold_text="Giữ máy", voice=VOICE))
    assert [el.tag for el in later] == ["Pause"] and later[0].get("length") == "5"
    done = ElementTree.fromstring(twiml.queue_wait(queue_time_s=31, limit_s=30, hold_text="Giữ máy", voice=VOICE))
    assert [el.tag for el in done] == ["Leave"]


def test_hangup_ends_the_document_and_a_missing_end_is_closed() -> None:
    assert [el.tag for el in parse([Say("Tạm biệt"), Hangup()])] == ["Say", "Hangup"]
    assert [el.tag for el in parse([Say("Tạm biệt")])] == ["Say", "Hangup"]
