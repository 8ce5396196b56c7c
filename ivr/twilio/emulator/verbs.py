"""TwiML verbs that move control (Redirect, Hangup, Leave), unsupported ones, and the registry of all verbs."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable

from ivr.twilio.emulator.call import Call, LeftQueue
from ivr.twilio.emulator.listening import gather, record
from ivr.twilio.emulator.media import connect
from ivr.twilio.emulator.prompts import pause, play, say
from ivr.twilio.emulator.transfers import dial, enqueue
from ivr.twilio.emulator.twiml import Document, attr_method, text_of

Verb = Callable[[Call, Document, ET.Element], Document | None]


def redirect(call: Call, doc: Document, el: ET.Element) -> Document:
    """<Redirect method>: fetch the next document; the caller may hang up first."""
    call.hang_up_if_asked("a redirect")
    url = doc.resolve(text_of(el))
    call.emit({"event": "redirect", "url": url})
    return call.fetch(url, method=attr_method(el), purpose="redirect")


def hangup(call: Call, doc: Document, el: ET.Element) -> None:
    """<Hangup>: the server ends the call."""
    call.end("server", "hangup verb")


def leave(call: Call, doc: Document, el: ET.Element) -> None:
    """<Leave>: leave the queue when waiting in one; ignored elsewhere, as Twilio does."""
    if call.in_queue:
        raise LeftQueue


def unsupported_stream(call: Call, doc: Document, el: ET.Element) -> None:
    """<Start>: listen-only Media Streams are not emulated; report and carry on with the next verb."""
    call.error(f"<{el.tag}>: listen-only media streams (<Start><Stream>) not supported yet")


VERBS: dict[str, Verb] = {
    "Say": say,
    "Play": play,
    "Pause": pause,
    "Redirect": redirect,
    "Hangup": hangup,
    "Leave": leave,
    "Gather": gather,
    "Record": record,
    "Dial": dial,
    "Enqueue": enqueue,
    "Connect": connect,
    "Start": unsupported_stream,
}
