"""A phone in a terminal: places calls to our server the way Twilio would, driven by caller steps."""

from __future__ import annotations

import json
import re
import sys
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import TracebackType
from typing import IO

from ivr.twilio.emulator.call import Call, CallOptions, new_sid
from ivr.twilio.emulator.recordings import RecordingServer
from ivr.twilio.emulator.steps import Step, StepQueue
from ivr.twilio.emulator.transfers import OPERATOR_OUTCOMES
from ivr.twilio.emulator.webhooks import TWILIO_TIMEOUT_S
from speech.synthesis import Synthesizer

VOICE_PATH = "/twilio/voice"
STATUS_PATH = "/twilio/status"
_ACCOUNT_SID = re.compile(r"AC[0-9A-Za-z]+")  # real ones are AC + 32 hex; test values vary


@dataclass
class CallResult:
    """What happened on one call."""

    sid: str
    status: str
    duration: int
    hung_up_by: str | None
    events: list[dict] = field(default_factory=list)
    requests: list[dict] = field(default_factory=list)

    @property
    def prompts(self) -> list[str]:
        """Texts of every <Say> the caller heard, in order."""
        return [e["text"] for e in self.events if e["event"] == "prompt"]

    @property
    def recordings(self) -> list[dict]:
        """The recording events (sid, url, duration…)."""
        return [e for e in self.events if e["event"] == "recording"]

    @property
    def errors(self) -> list[dict]:
        """The error events."""
        return [e for e in self.events if e["event"] == "error"]

    @property
    def unused_steps(self) -> list[str]:
        """Steps the call ended before using, as written."""
        ended = self.of("call_ended")
        return list(ended[-1]["unused_steps"]) if ended else []

    def of(self, kind: str) -> list[dict]:
        """Events of one kind, e.g. result.of("digits")."""
        return [e for e in self.events if e["event"] == kind]


class Emulator:
    """Twilio as our server sees it: signed webhooks, TwiML execution, recordings and callbacks.

    base_url: where the server listens (the voice URL is base_url + /twilio/voice unless voice_url
    is given; status callbacks go to base_url + /twilio/status unless status_callback_url is given,
    "" disables them). out receives every event dict; request events only when verbose.
    operator: "answer", "no-answer", "busy" or "failed" — the outcome of <Dial> and <Enqueue>.
    duplicate_callbacks: every action, status and recording callback is sent twice (same signature
    and I-Twilio-Idempotency-Token). status_callback_first: the call's status callback goes before
    the requests caused by the caller hanging up and before recording status callbacks.
    pause_scale: <Pause> sleeps length × pause_scale (0 in tests). media_pace: Media Stream frames
    (<Connect><Stream>) go out every 20 ms × media_pace and bot audio "plays" at that pace (0: as
    fast as possible, marks echoed at once). media_patience: in a stream, the caller waits until
    the bot has been quiet this many (real) seconds before its next step. bot_wav: every Media Stream
    writes what the caller heard of the bot there (8 kHz mono 16-bit WAV on the stream's timeline; a
    call's second stream goes to NAME-2.wav, and so on; each call overwrites). The recording server
    starts here; close() (or leaving the with block) stops it.
    """

    def __init__(self, base_url: str, auth_token: str, account_sid: str | None = None, *,
                 caller: str = "+84901234567", to: str = "1022", synthesizer: Synthesizer | None = None,
                 recording_host: str = "127.0.0.1", voice_url: str | None = None,
                 status_callback_url: str | None = None, out: Callable[[dict], None] | None = None,
                 verbose: bool = False, operator: str = "answer", duplicate_callbacks: bool = False,
                 status_callback_first: bool = False, pause_scale: float = 1.0,
                 timeout: float = TWILIO_TIMEOUT_S, max_requests: int = 100, media_pace: float = 1.0,
                 media_patience: float = 2.0, bot_wav: Path | str | None = None) -> None:
        if operator not in OPERATOR_OUTCOMES:
            raise ValueError(f"operator must be one of {', '.join(OPERATOR_OUTCOMES)}, not {operator!r}")
        if account_sid is not None and not _ACCOUNT_SID.fullmatch(account_sid):
            raise ValueError(f"account_sid must look like 'AC' + 32 hex digits, not {account_sid!r}")
        if media_pace < 0 or media_patience < 0:
            raise ValueError("media_pace and media_patience must not be negative")
        base = base_url.rstrip("/")
        self.options = CallOptions(
            account_sid=account_sid or new_sid("AC"), auth_token=auth_token, caller=caller, to=to,
            voice_url=voice_url or base + VOICE_PATH,
            status_callback_url=base + STATUS_PATH if status_callback_url is None else status_callback_url,
            operator=operator, duplicate_callbacks=duplicate_callbacks,
            status_callback_first=status_callback_first, pause_scale=pause_scale,
            timeout=timeout, max_requests=max_requests, media_pace=media_pace, media_patience=media_patience,
            bot_wav=None if bot_wav is None else Path(bot_wav))
        self.out = out
        self.verbose = verbose
        self._synthesizer = synthesizer
        self.recordings = RecordingServer(self.options.account_sid, auth_token, recording_host).start()

    @property
    def account_sid(self) -> str:
        """The AccountSid sent with every request."""
        return self.options.account_sid

    def close(self) -> None:
        """Stop the recording server."""
        self.recordings.stop()

    def __enter__(self) -> Emulator:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    def call(self, steps: Iterable[Step | str] = (), *, caller: str | None = None,
             duplicate_callbacks: bool | None = None, status_callback_first: bool | None = None,
             drop_stream_at: int | None = None) -> CallResult:
        """Place one call; `steps` (strings like "press:1" or Step objects) are what the caller does.

        The keyword arguments change this call only: its caller number, Twilio retrying every
        callback, the status callback first, and drop_stream_at=n: the network drops the Media
        Stream halfway through the caller's n-th utterance in it (no `stop`; Twilio then requests
        <Connect action>, as it does whenever a stream ends)."""
        queue = StepQueue(steps)
        changes: dict[str, object] = {"caller": caller, "duplicate_callbacks": duplicate_callbacks,
                                      "status_callback_first": status_callback_first,
                                      "drop_stream_at": drop_stream_at}
        options = replace(self.options, **{k: v for k, v in changes.items() if v is not None})
        events: list[dict] = []
        requests: list[dict] = []

        def emit(event: dict) -> None:
            events.append(event)
            if self.out is not None:
                self.out(event)

        def on_request(event: dict) -> None:
            requests.append(event)
            if self.verbose:
                emit(event)

        call = Call(options, queue, self.recordings, self._synthesize, emit, on_request)
        call.run()
        return CallResult(call.sid, call.status, call.duration, call.hung_up_by, events, requests)

    def _synthesize(self, text: str) -> bytes:
        """WAV bytes of `text` spoken by the synthesiser (espeak-ng unless one was given)."""
        if self._synthesizer is None:
            from speech.synthesis import EspeakSynthesizer

            self._synthesizer = EspeakSynthesizer()
        with tempfile.TemporaryDirectory(prefix="hotline-say-") as tmp:
            return self._synthesizer.synthesize(text, Path(tmp) / "say.wav").read_bytes()


def json_lines(stream: IO[str] | None = None) -> Callable[[dict], None]:
    """An `out` for the CLI: one JSON object per line, Vietnamese kept readable, flushed."""
    target = stream or sys.stdout

    def write(event: dict) -> None:
        target.write(json.dumps(event, ensure_ascii=False) + "\n")
        target.flush()

    return write
