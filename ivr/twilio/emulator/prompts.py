"""TwiML verbs the caller hears: Say, Play, Pause (also nested inside Gather)."""

from __future__ import annotations

import time
import xml.etree.ElementTree as ET

from ivr.twilio.emulator.call import Call
from ivr.twilio.emulator.twiml import Document, attr_int, text_of


def say(call: Call, doc: Document, el: ET.Element) -> None:
    """<Say>: the caller hears text."""
    call.emit({"event": "prompt", "text": text_of(el), "language": el.get("language"), "voice": el.get("voice")})


def play(call: Call, doc: Document, el: ET.Element) -> None:
    """<Play>: the caller hears an audio URL (not fetched), or DTMF tones with digits=."""
    if el.get("digits") is not None:
        call.emit({"event": "play", "digits": el.get("digits")})
    else:
        call.emit({"event": "play", "url": doc.resolve(text_of(el))})


def pause(call: Call, doc: Document, el: ET.Element) -> None:
    """<Pause length>: silence, slept for real scaled by pause_scale; the caller may hang up here."""
    call.hang_up_if_asked("a pause")
    seconds = max(0, attr_int(el, "length", 1) or 0)
    call.emit({"event": "pause", "seconds": seconds})
    scale = call.options.pause_scale
    time.sleep(seconds * scale)
    call.advance(seconds * (1 - scale))
