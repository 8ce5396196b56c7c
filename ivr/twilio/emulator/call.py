"""One emulated inbound call: fetch TwiML, run its verbs, end with a status callback, as Twilio does."""

from __future__ import annotations

import math
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path
from typing import NoReturn

from ivr.twilio.emulator.recordings import RecordingServer
from ivr.twilio.emulator.steps import HangUp, StepQueue, Wait
from ivr.twilio.emulator.twiml import Document, TwimlError, parse_document
from ivr.twilio.emulator.webhooks import Webhooks

API_VERSION = "2010-04-01"
SCHEMA_VALIDATION_WARNING = 12200

Emit = Callable[[dict], None]


def new_sid(prefix: str) -> str:
    """A Twilio-shaped SID: two-letter prefix and 32 lowercase hex digits."""
    return prefix + secrets.token_hex(16)


def twilio_timestamp() -> str:
    """Now, in the RFC 2822 form Twilio uses in callbacks."""
    return format_datetime(datetime.now(UTC))


@dataclass(frozen=True)
class CallOptions:
    """How the emulated carrier and caller behave; see Emulator for the meaning of each."""

    account_sid: str
    auth_token: str
    caller: str
    to: str
    voice_url: str
    status_callback_url: str | None
    operator: str = "answer"
    duplicate_callbacks: bool = False
    status_callback_first: bool = False
    pause_scale: float = 1.0
    timeout: float = 15.0
    max_requests: int = 100
    media_pace: float = 1.0
    media_patience: float = 2.0
    bot_wav: Path | None = None
    drop_stream_at: int | None = None  # the n-th utterance in a Media Stream is cut halfway by a network drop


class CallEnded(Exception):
    """Raised by Call.end to unwind verb handlers once the call is over."""


class LeftQueue(Exception):
    """Raised by <Leave> while the caller waits in an <Enqueue> queue."""


class Call:
    """The state of one call; verb handlers (this module, listening, transfers) drive it."""

    def __init__(self, options: CallOptions, steps: StepQueue, recordings: RecordingServer,
                 synthesize: Callable[[str], bytes], emit: Emit, on_request: Emit) -> None:
        self.options = options
        self.steps = steps
        self.recordings = recordings
        self.synthesize = synthesize
        self.emit = emit
        self.sid = new_sid("CA")
        self.status = "ringing"
        self.hung_up_by: str | None = None
        self.in_queue = False
        self.webhooks = Webhooks(options.auth_token, on_request, timeout=options.timeout,
                                 duplicate=options.duplicate_callbacks)
        self._started = time.monotonic()
        self._virtual_s = 0.0
        self._requests = 0
        self._final: list[Callable[[], None]] = []  # callbacks caused by the caller hanging up
        self._held: list[Callable[[], None]] = []  # recording callbacks held until after the status callback
        self.streams = 0  # Media Streams opened so far (numbers their bot_wav files)
        self.utterances = 0  # utterances spoken into Media Streams so far (drop_stream_at counts them)
        self.duration = 0

    # -- lifecycle -----------------------------------------------------------------

    def run(self) -> None:
        """Place the call and run it to the end, status callback included."""
        self.emit({"event": "call_started", "sid": self.sid, "from": self.options.caller,
                   "to": self.options.to, "url": self.options.voice_url})
        try:
            try:
                document = self.fetch(self.options.voice_url, purpose="voice")
                self.status = "in-progress"
                self.execute(document)
                self.end("server", "end of document")
            except CallEnded:
                pass
            self._finish()
        finally:
            self.webhooks.close()

    def execute(self, document: Document | None) -> None:
        """Run documents until one ends without handing control to another."""
        from ivr.twilio.emulator.verbs import VERBS

        while document is not None:
            current, document = document, None
            for element in current.verbs:
                handler = VERBS.get(element.tag)
                if handler is None:
                    self.error(f"<{element.tag}> is not a TwiML verb the emulator knows; skipped",
                               SCHEMA_VALIDATION_WARNING)
                    continue
                document = handler(self, current, element)
                if document is not None:
                    break

    def end(self, by: str, reason: str, *, after: list[Callable[[], None]] | None = None) -> NoReturn:
        """Hang up (by "caller" or "server"); `after` are requests the hangup itself causes."""
        self.emit({"event": "hangup", "by": by, "reason": reason})
        self.hung_up_by = by
        self.status = "completed"
        self.duration = math.ceil(self.clock())
        self._final.extend(after or [])
        raise CallEnded

    def _finish(self) -> None:
        """Send the end-of-call callbacks in the configured order, then report the end."""
        if self.options.status_callback_first:
            self._status_callback()
            for send in self._final + self._held:
                send()
        else:
            for send in self._final + self._held:
                send()
            self._status_callback()
        self.emit({"event": "call_ended", "sid": self.sid, "status": self.status, "duration": self.duration,
                   "unused_steps": [str(s) for s in self.steps.remaining()]})

    def _status_callback(self) -> None:
        url = self.options.status_callback_url
        if not url:
            return
        self.callback(url, self.params(
            CallDuration=str(self.duration), Duration=str(max(1, math.ceil(self.duration / 60))),
            Timestamp=twilio_timestamp(), CallbackSource="call-progress-events", SequenceNumber="0",
            StatusCallbackEvent="completed"), purpose="status")

    # -- time ----------------------------------------------------------------------

    def clock(self) -> float:
        """Seconds since the call started: real time plus time Twilio would have waited."""
        return time.monotonic() - self._started + self._virtual_s

    def advance(self, seconds: float) -> None:
        """Account for time Twilio would spend (timeouts, recorded audio) without sleeping."""
        self._virtual_s += max(0.0, seconds)

    def wait(self, step: Wait) -> None:
        """The caller stays silent: really sleep."""
        self.emit({"event": "wait", "seconds": step.seconds})
        time.sleep(step.seconds)

    def hang_up_if_asked(self, where: str) -> None:
        """End the call (raising CallEnded) when the caller's next step is `hangup`."""
        if self.steps.pop_if(HangUp):
            self.end("caller", f"hung up during {where}")

    # -- requests ------------------------------------------------------------------

    def params(self, **extra: str) -> dict[str, str]:
        """The parameters Twilio sends with every voice request, plus `extra`."""
        o = self.options
        base = {"CallSid": self.sid, "AccountSid": o.account_sid, "From": o.caller, "To": o.to,
                "Caller": o.caller, "Called": o.to, "CallStatus": self.status,
                "ApiVersion": API_VERSION, "Direction": "inbound"}
        base.update(extra)
        return base

    def fetch(self, url: str, extra: Mapping[str, str] | None = None, *, method: str = "POST",
              purpose: str, callback: bool = False) -> Document:
        """Request TwiML and parse it; on failure emit an error and end the call, as Twilio would."""
        self._requests += 1
        if self._requests > self.options.max_requests:
            self.error(f"more than {self.options.max_requests} requests in one call: is the TwiML looping?")
            self.end("caller", "gave up: too many requests")
        reply = self.webhooks.send(url, self.params(**(extra or {})), method=method,
                                   purpose=purpose, callback=callback)
        if reply.error:
            self.fail(reply.error, reply.code)
        try:
            return parse_document(reply.body, url)
        except TwimlError as exc:
            self.fail(str(exc), exc.code)

    def callback(self, url: str, params: Mapping[str, str], *, method: str = "POST", purpose: str) -> None:
        """Send a request whose reply Twilio ignores; report failures without ending anything."""
        reply = self.webhooks.send(url, params, method=method, purpose=purpose, callback=True)
        if reply.error:
            self.error(f"{purpose} callback failed: {reply.error}", reply.code)

    def hold_until_end(self, send: Callable[[], None]) -> None:
        """Send now, or after the status callback when it is configured to come first."""
        if self.options.status_callback_first:
            self._held.append(send)
        else:
            send()

    def error(self, message: str, code: int | None = None) -> None:
        """Report a problem Twilio would log in its debugger."""
        self.emit({"event": "error", "code": code, "message": message})

    def fail(self, message: str, code: int | None) -> NoReturn:
        """An application error: Twilio apologises and hangs up."""
        self.error(message, code)
        self.end("server", "application error")

