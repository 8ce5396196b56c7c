"""Where the dialogue has text (speech now through the carrier-neutral service; transcripts later),
the understanding module fills in the ward, the address and the ward's own unit."""

from __future__ import annotations

from collections.abc import Sequence

from flask import Flask

from ivr.actions import Action
from ivr.events import DigitsPressed, SpeechHeard
from tests.e2e.support import all_cases

SID = "CA" + "e" * 32


def render(actions: Sequence[Action], seq: int) -> str:
    """A carrier-neutral stand-in for TwiML: the test only follows the step numbers."""
    return f"step {seq}: {[type(a).__name__ for a in actions]}"


def test_spoken_answers_give_the_case_its_ward_address_and_unit(app: Flask) -> None:
    service = app.extensions["hotline"].service
    service.begin(sid=SID, caller="+84903333444", to="1022", render=render)
    seq = 1
    for event in (DigitsPressed("1"), DigitsPressed("8"),
                  SpeechHeard("karaoke nhà bên cạnh hát tới hai giờ sáng", 0.8),
                  SpeechHeard("số mười hai hẻm một trăm năm đường số tư phường mười một quận gò vấp", 0.7),
                  DigitsPressed("1")):
        assert service.handle(sid=SID, seq=seq, event=event, render=render) is not None
        seq += 1
    service.end(sid=SID, status="completed", duration_s=60, caller="+84903333444", to="1022")

    [case] = all_cases(app)
    gazetteer = app.extensions["hotline"].understander.gazetteer
    thong_tay_hoi = next(w for w in gazetteer.wards if w.full_name == "Phường Thông Tây Hội")
    assert case.status == "new" and case.category == "TIENGON"
    assert (case.ward, case.ward_code) == ("Phường Thông Tây Hội", thong_tay_hoi.code)
    assert (case.legacy_ward, case.legacy_district) == ("Phường 11", "Quận Gò Vấp")
    assert case.address_text == "số 12 hẻm 150 đường số 4"
    assert case.unit_code == f"UBND_{thong_tay_hoi.code}"
    assert case.description == "karaoke nhà bên cạnh hát tới hai giờ sáng"


def test_a_spoken_complaint_without_a_keypad_category_is_classified(app: Flask) -> None:
    service = app.extensions["hotline"].service
    service.begin(sid=SID, caller="+84903333444", to="1022", render=render)
    service.handle(sid=SID, seq=1, event=DigitsPressed("1"), render=render)
    service.handle(sid=SID, seq=2, event=DigitsPressed("9"), render=render)   # "other fields"
    service.handle(sid=SID, seq=3, event=DigitsPressed("8"), render=render)   # "other / suggestion"
    service.handle(sid=SID, seq=4, event=SpeechHeard("trụ đèn đầu hẻm tắt cả tuần rồi tối thui", 0.9),
                   render=render)
    service.handle(sid=SID, seq=5, event=SpeechHeard("phường bến thành", 0.9), render=render)
    service.end(sid=SID, status="completed", duration_s=40, caller="+84903333444", to="1022")
    [case] = all_cases(app)
    assert case.category == "HT_CHIEUSANG", "the caller chose 'other' but described a dark street light"
    assert case.ward == "Phường Bến Thành"
    assert case.status == "incomplete"
