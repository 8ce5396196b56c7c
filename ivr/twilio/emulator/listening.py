"""The verbs that listen to the caller: <Gather> (keys, or speech as text) and <Record> (audio).

How the caller's next step is read at each:

Gather: `press:` sends keys (up to numDigits, stopping at finishOnKey) and posts the action;
`say:` at a speech Gather posts its text as SpeechResult; `hangup` ends the call with no request;
`wait:` is consumed (slept) as silence; any other step, or none, is left in place. Silence or a
bare finish key posts the action with empty Digits only when actionOnEmptyResult is true, else
the next verb runs.

Record: `record:`/`say:` supply the audio; afterwards a `hangup` step gives Digits=hangup (and
ends the call), a one-key `press:` in finishOnKey is that key, otherwise the caller is taken to
press "#" (or the first finishOnKey key; no Digits when finishOnKey is empty). `hangup` before
any audio ends the call without a recording; `wait:` is consumed as silence; with silence
Twilio skips the action and runs the next verb.
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET

from ivr.twilio.emulator.call import SCHEMA_VALIDATION_WARNING, Call, new_sid, twilio_timestamp
from ivr.twilio.emulator.prompts import pause, play, say
from ivr.twilio.emulator.steps import AUDIO_STEPS, HangUp, Press, RecordFile, Speak, Step, Wait
from ivr.twilio.emulator.twiml import Document, attr_bool, attr_int, attr_method
from speech.audio import AudioError, truncate_wav, wav_info
from speech.synthesis import SynthesisError

GATHER_PROMPTS = {"Say": say, "Play": play, "Pause": pause}
SPEECH_CONFIDENCE = "0.9"
RECORD_FINISH_KEYS = "1234567890*#"
MAX_RECORD_S = 3600


def gather(call: Call, doc: Document, el: ET.Element) -> Document | None:
    """<Gather>: play nested prompts, then take keys or speech from the caller's next step."""
    for child in el:
        if child.tag in GATHER_PROMPTS:
            GATHER_PROMPTS[child.tag](call, doc, child)
        else:
            call.error(f"<{child.tag}> cannot be nested in <Gather>; skipped", SCHEMA_VALIDATION_WARNING)
    inputs = (el.get("input") or "dtmf").lower().split()
    action, method = doc.resolve(el.get("action")), attr_method(el)
    timeout = attr_int(el, "timeout", 5) or 0
    step = call.steps.peek()
    if isinstance(step, HangUp):
        call.steps.pop()
        call.end("caller", "hung up during Gather")
    if isinstance(step, Press) and "dtmf" in inputs:
        call.steps.pop()
        num_digits = attr_int(el, "numDigits", None)
        digits, finished_on = _keys(call, step.digits, num_digits, el.get("finishOnKey", "#"))
        if not finished_on and len(digits) != num_digits:
            call.advance(timeout)  # Twilio waits `timeout` for more keys before submitting
        if digits:
            return call.fetch(action, {"Digits": digits, "FinishedOnKey": finished_on},
                              method=method, purpose="action", callback=True)
        finished = finished_on
    elif isinstance(step, Speak) and "speech" in inputs:
        call.steps.pop()
        call.emit({"event": "speech", "text": step.text})
        return call.fetch(action, {"SpeechResult": step.text, "Confidence": SPEECH_CONFIDENCE},
                          method=method, purpose="action", callback=True)
    else:
        _silence(call, "Gather", timeout)
        finished = ""
    if attr_bool(el, "actionOnEmptyResult", False):
        return call.fetch(action, {"Digits": "", "FinishedOnKey": finished},
                          method=method, purpose="action", callback=True)
    return None


def _keys(call: Call, pressed: str, num_digits: int | None, finish_on_key: str) -> tuple[str, str]:
    """Apply numDigits and finishOnKey to pressed keys; emit what was sent."""
    digits, finished_on = "", ""
    for i, key in enumerate(pressed):
        if finish_on_key and key in finish_on_key:
            finished_on = key
        else:
            digits += key
        if finished_on or (num_digits and len(digits) >= num_digits):
            dropped = pressed[i + 1:]
            break
    else:
        dropped = ""
    event = {"event": "digits", "digits": digits, "finished_on_key": finished_on}
    if dropped:
        event["dropped"] = dropped
    call.emit(event)
    return digits, finished_on


def _silence(call: Call, verb: str, timeout: int) -> None:
    """The caller gives nothing: a `wait:` step is slept, otherwise Twilio's timeout passes."""
    step = call.steps.pop_if(Wait)
    if isinstance(step, Wait):
        call.wait(step)
    else:
        call.advance(timeout)
    call.emit({"event": "timeout", "verb": verb, "seconds": timeout})


def record(call: Call, doc: Document, el: ET.Element) -> Document | None:
    """<Record>: store the caller's audio, post the action and the recording status callback."""
    if attr_bool(el, "playBeep", True):
        call.emit({"event": "beep"})
    timeout = attr_int(el, "timeout", 5) or 0
    call.hang_up_if_asked("Record, before speaking")
    step = call.steps.peek()
    if not isinstance(step, AUDIO_STEPS):
        _silence(call, "Record", timeout)
        return None  # nothing recorded: Twilio skips the action
    call.steps.pop()
    max_length = attr_int(el, "maxLength", MAX_RECORD_S) or MAX_RECORD_S
    wav = _audio(call, step)
    truncated = wav_info(wav).duration > max_length
    if truncated:
        wav = truncate_wav(wav, max_length)
    seconds = wav_info(wav).duration
    duration = max(1, math.floor(seconds + 0.5))
    sid = new_sid("RE")
    url = call.recordings.add(sid, wav)
    call.advance(seconds)
    ended_by, digits = _record_end(call, truncated, el.get("finishOnKey", RECORD_FINISH_KEYS), timeout)
    call.emit({"event": "recording", "sid": sid, "url": url, "duration": duration, "source": str(step),
               "ended_by": ended_by})
    action, method = doc.resolve(el.get("action")), attr_method(el)
    extra = {"RecordingUrl": url, "RecordingSid": sid, "RecordingDuration": str(duration)}
    if digits is not None:
        extra["Digits"] = digits

    def status_callback() -> None:
        _recording_status(call, doc, el, sid, url, duration)

    if digits == "hangup":
        call.end("caller", "hung up after recording", after=[
            lambda: call.callback(action, call.params(**extra), method=method, purpose="action"),
            status_callback])
    next_doc = call.fetch(action, extra, method=method, purpose="action", callback=True)
    call.hold_until_end(status_callback)
    return next_doc


def _audio(call: Call, step: Step) -> bytes:
    """WAV bytes for an audio step; a failure here is the emulator's, so the caller gives up."""
    try:
        if isinstance(step, RecordFile):
            wav = step.path.read_bytes()
        else:
            assert isinstance(step, Speak)
            wav = call.synthesize(step.text)
        wav_info(wav)
        return wav
    except (OSError, AudioError, SynthesisError) as exc:
        call.error(f"cannot produce audio for {step}: {exc}")
        call.end("caller", "emulator could not produce audio")


def _record_end(call: Call, truncated: bool, finish: str, timeout: int) -> tuple[str, str | None]:
    """How the recording stopped, and the Digits Twilio reports for it."""
    if truncated:
        return "maxLength", None
    if call.steps.pop_if(HangUp):
        return "hangup", "hangup"
    step = call.steps.peek()
    if isinstance(step, Press) and len(step.digits) == 1 and step.digits in finish:
        call.steps.pop()
        return step.digits, step.digits
    if finish:
        key = "#" if "#" in finish else finish[0]
        return key, key
    call.advance(timeout)
    return "silence", None


def _recording_status(call: Call, doc: Document, el: ET.Element, sid: str, url: str, duration: int) -> None:
    """POST recordingStatusCallback (when given and asked for "completed") as Twilio does."""
    target = el.get("recordingStatusCallback")
    events = (el.get("recordingStatusCallbackEvent") or "completed").replace(",", " ").split()
    if not target or "completed" not in events:
        return
    call.callback(doc.resolve(target), {
        "AccountSid": call.options.account_sid, "CallSid": call.sid, "RecordingSid": sid,
        "RecordingUrl": url, "RecordingStatus": "completed", "RecordingDuration": str(duration),
        "RecordingChannels": "1", "RecordingSource": "RecordVerb",
        "RecordingStartTime": twilio_timestamp(), "ErrorCode": "0",
    }, method=attr_method(el, "recordingStatusCallbackMethod"), purpose="recording_status")
