"""The verbs that hand the caller to a person: <Dial> and <Enqueue>.

The emulator's `operator` option decides who picks up: "answer" bridges the call; "no-answer",
"busy" and "failed" do not (for a queue they all mean nobody dequeues the caller).

A bridged conversation lasts as long as the caller's next `wait:` step (slept; none means 0 s).
Then, if the caller's next step is `hangup` or there are no steps left, the caller hangs up: the
action is still requested (CallStatus completed) but its TwiML is ignored. Otherwise the operator
hung up: the action is requested and its TwiML runs, or without an action the next verb runs.

<Enqueue> is reported like a dial: {"event": "dial", "kind": "enqueue", "to": queue name}, and
its dial_ended status is the QueueResult (leave, bridged, hangup).

In a queue, the waitUrl document (if any) is fetched and run once per round (a <Leave> there
leaves the queue); with nobody answering, the caller stays on the line round after round
(sleeping through `wait:` steps) and hangs up when the next step is `hangup` or none is left
(QueueResult "hangup").
"""

from __future__ import annotations

import math
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable

from ivr.twilio.emulator.call import Call, LeftQueue, new_sid
from ivr.twilio.emulator.steps import HangUp, Wait
from ivr.twilio.emulator.twiml import Document, attr_int, attr_method, text_of

DIAL_NOUNS = ("Number", "Queue", "Client", "Sip", "Conference")
OPERATOR_OUTCOMES = ("answer", "no-answer", "busy", "failed")
MAX_QUEUE_ROUNDS = 60


def dial(call: Call, doc: Document, el: ET.Element) -> Document | None:
    """<Dial>: ring a number (or a <Queue>, <Client>…), bridge or not, then post DialCallStatus."""
    kind, to = _dial_target(el)
    call.emit({"event": "dial", "kind": kind, "to": to})
    outcome = call.options.operator
    extra = {"DialCallSid": new_sid("CA")}
    if outcome == "answer":
        talk = _talk(call)
        extra.update(DialCallStatus="completed", DialCallDuration=str(talk))
    else:
        if outcome == "no-answer":
            call.advance(attr_int(el, "timeout", 30) or 30)  # it rang out
        talk = 0
        extra["DialCallStatus"] = outcome
    call.emit({"event": "dial_ended", "status": extra["DialCallStatus"], "duration": talk})
    return _after_transfer(call, doc, el, extra, bridged=outcome == "answer")


def _dial_target(el: ET.Element) -> tuple[str, str]:
    """("number", "+84…") from the Dial body, or the first noun child: ("queue", "operators")…"""
    for child in el:
        if child.tag in DIAL_NOUNS:
            return child.tag.lower(), text_of(child)
    return "number", text_of(el)


def enqueue(call: Call, doc: Document, el: ET.Element) -> Document | None:
    """<Enqueue>: wait in a named queue (running waitUrl), then post QueueResult."""
    queue_sid, entered = new_sid("QU"), call.clock()
    call.emit({"event": "dial", "kind": "enqueue", "to": text_of(el)})
    result = _wait_in_queue(call, doc, el, queue_sid, entered)
    extra = {"QueueResult": result, "QueueSid": queue_sid, "QueueTime": str(round(call.clock() - entered))}
    talk = _talk(call) if result == "bridged" else 0
    call.emit({"event": "dial_ended", "status": result, "duration": talk})
    if result == "hangup":
        call.steps.pop_if(HangUp)
        call.end("caller", "hung up in the queue", after=_action_callback(call, doc, el, extra))
    return _after_transfer(call, doc, el, extra, bridged=result == "bridged")


def _wait_in_queue(call: Call, doc: Document, el: ET.Element, queue_sid: str, entered: float) -> str:
    """Run waitUrl rounds until the caller leaves, is bridged, or gives up: the QueueResult.

    With nobody answering, a `wait:` step is slept between rounds; a caller whose next step
    is something else (a message to leave later) stays on the line while the wait document
    plays, as a real caller would, for at most MAX_QUEUE_ROUNDS rounds.
    """
    wait_url = el.get("waitUrl")
    for _ in range(MAX_QUEUE_ROUNDS):
        if wait_url:
            try:
                _wait_round(call, doc.resolve(wait_url), attr_method(el, "waitUrlMethod"), queue_sid, entered)
            except LeftQueue:
                return "leave"
        if call.options.operator == "answer":
            return "bridged"
        step = call.steps.peek()
        if isinstance(step, Wait):
            call.wait(call.steps.pop())
        elif step is None or isinstance(step, HangUp) or not wait_url:
            return "hangup"
    return "hangup"  # gave up waiting


def _wait_round(call: Call, url: str, method: str, queue_sid: str, entered: float) -> None:
    """Fetch the waitUrl TwiML with Twilio's queue parameters and run it."""
    document = call.fetch(url, {
        "QueueSid": queue_sid, "QueuePosition": "1", "QueueTime": str(round(call.clock() - entered)),
        "AvgQueueTime": "0", "CurrentQueueSize": "1", "MaxQueueSize": "100",
    }, method=method, purpose="wait")
    call.in_queue = True
    try:
        call.execute(document)
    finally:
        call.in_queue = False


def _talk(call: Call) -> int:
    """A bridged conversation: as long as the caller's next `wait:` step, slept for real."""
    step = call.steps.pop_if(Wait)
    if not isinstance(step, Wait):
        return 0
    time.sleep(step.seconds)
    return math.floor(step.seconds + 0.5)


def _after_transfer(call: Call, doc: Document, el: ET.Element, extra: dict[str, str], *,
                    bridged: bool) -> Document | None:
    """After a transfer: the caller may hang up; else follow the action, or the next verb."""
    if bridged and (call.steps.pop_if(HangUp) or call.steps.peek() is None):
        call.end("caller", "hung up after the transfer", after=_action_callback(call, doc, el, extra))
    action = el.get("action")
    if not action:
        return None
    return call.fetch(doc.resolve(action), extra, method=attr_method(el), purpose="action", callback=True)


def _action_callback(call: Call, doc: Document, el: ET.Element, extra: dict[str, str]) -> list[Callable[[], None]]:
    """The action request made after the caller hung up (its TwiML is ignored), if there is an action."""
    action = el.get("action")
    if not action:
        return []
    return [lambda: call.callback(doc.resolve(action), call.params(**extra), method=attr_method(el), purpose="action")]
