"""Turn the dialogue engine's actions into TwiML, with twilio.twiml.voice_response only."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from twilio.twiml.voice_response import Gather, VoiceResponse

from ivr.actions import Action, Hangup, Listen, Say, Transfer

# Builds an absolute URL for one of our Twilio endpoints, with query parameters.
UrlFor = Callable[..., str]


@dataclass(frozen=True)
class Voice:
    """How <Say> speaks: Twilio language code and an optional voice name."""

    language: str = "vi-VN"
    name: str | None = None


def render(actions: Sequence[Action], *, seq: int, url_for: UrlFor, voice: Voice) -> str:
    """Render one turn of actions as a TwiML document; action URLs carry seq for idempotency."""
    response = VoiceResponse()
    pending: list[Say] = []
    for action in actions:
        if isinstance(action, Say):
            pending.append(action)
        elif isinstance(action, Listen):
            _listen(response, action, pending, seq=seq, url_for=url_for, voice=voice)
            pending = []
            return str(response)  # a Listen always ends the document: the caller answers next
        else:
            _say_all(response, pending, voice)
            pending = []
            if isinstance(action, Transfer):
                _transfer(response, action, seq=seq, url_for=url_for)
                return str(response)
            if isinstance(action, Hangup):
                response.hangup()
                return str(response)
    _say_all(response, pending, voice)
    response.hangup()  # the engine always ends a turn with Listen, Transfer or Hangup; be safe anyway
    return str(response)


def connect_stream(*, stream_url: str, action_url: str, parameters: dict[str, str]) -> str:
    """Hand the call to our media stream; when the stream ends Twilio asks action_url what next."""
    response = VoiceResponse()
    stream = response.connect(action=action_url, method="POST").stream(url=stream_url)
    for name, value in parameters.items():
        stream.parameter(name=name, value=value)
    return str(response)


def after_stream(actions: Sequence[Action], *, seq: int, url_for: UrlFor, voice: Voice) -> str:
    """The TwiML that carries on a streamed call from its last step once the stream has ended.

    A transfer or hang-up: its prompts were played in the stream, so only the verb itself. Still
    waiting for the caller (the stream broke or speech was refused): the whole step, by keypad.
    """
    if actions and not isinstance(actions[-1], Listen):
        actions = [action for action in actions if not isinstance(action, Say)]
    return render(actions, seq=seq, url_for=url_for, voice=voice)


def apology(text: str, *, voice: Voice, operator: Transfer, dial_url: str, wait_url: str) -> str:
    """The degraded-mode answer: apologise and offer an operator; needs no database.

    The dial's action URL decides what follows (take a message when nobody answers).
    """
    response = VoiceResponse()
    _say(response, text, voice)
    _transfer_to(response, operator, action=dial_url, wait_url=wait_url)
    return str(response)


def take_message(*, voice: Voice, message_url: str, message_prompt: str, goodbye: str) -> str:
    """A document that records a message for an operator and says goodbye."""
    return _append_message(VoiceResponse(), voice, message_url, message_prompt, goodbye)


def _append_message(response: VoiceResponse, voice: Voice, message_url: str, prompt: str, goodbye: str) -> str:
    _say(response, prompt, voice)
    response.record(action=message_url, method="POST", max_length=180, timeout=5, finish_on_key="#",
                    play_beep=True)
    _say(response, goodbye, voice)
    response.hangup()
    return str(response)


def hang_up(text: str | None, *, voice: Voice) -> str:
    """A document that optionally speaks, then ends the call."""
    response = VoiceResponse()
    if text:
        _say(response, text, voice)
    response.hangup()
    return str(response)


def _listen(response: VoiceResponse, listen: Listen, prompts: list[Say], *, seq: int,
            url_for: UrlFor, voice: Voice) -> None:
    if listen.mode == "record":
        _say_all(response, prompts, voice)
        response.record(
            action=url_for("record", seq=seq), method="POST",
            max_length=listen.max_seconds or 120, timeout=listen.timeout_s,
            finish_on_key=listen.finish_on_key or "#", play_beep=True,
            recording_status_callback=url_for("recording_status"),
            recording_status_callback_method="POST",
        )
        # Twilio skips the action when nothing was recorded and falls through to the next verb.
        response.redirect(url_for("record", seq=seq, empty=1), method="POST")
        return
    gather = Gather(
        input="dtmf", action=url_for("gather", seq=seq), method="POST", timeout=listen.timeout_s,
        action_on_empty_result=True,
        **({"num_digits": listen.max_digits} if listen.max_digits else {}),
        **({"finish_on_key": listen.finish_on_key} if listen.finish_on_key else {}),
    )
    if listen.barge_in:
        _say_all(gather, prompts, voice)
    else:
        _say_all(response, prompts, voice)
    response.append(gather)
    # Reached only if Twilio ignores actionOnEmptyResult: treat it as no input.
    response.redirect(url_for("gather", seq=seq, empty=1), method="POST")


def _transfer(response: VoiceResponse, transfer: Transfer, *, seq: int, url_for: UrlFor) -> None:
    _transfer_to(response, transfer, action=url_for("dial", seq=seq),
                 wait_url=url_for("queue_wait", limit=transfer.timeout_s))


def _transfer_to(response: VoiceResponse, transfer: Transfer, *, action: str, wait_url: str) -> None:
    if transfer.number:
        dial = response.dial(action=action, method="POST", timeout=transfer.timeout_s)
        dial.number(transfer.number)
    else:
        # A queue has no ring timeout: the wait document leaves the queue once the limit has passed.
        response.enqueue(transfer.queue or "operators", action=action, method="POST",
                         wait_url=wait_url, wait_url_method="POST")


def queue_wait(*, queue_time_s: int, limit_s: int, hold_text: str, voice: Voice) -> str:
    """The document Twilio plays while the caller waits in a queue; it leaves after limit_s."""
    response = VoiceResponse()
    if queue_time_s >= limit_s:
        response.leave()
        return str(response)
    if queue_time_s == 0:
        _say(response, hold_text, voice)
    response.pause(length=max(1, min(10, limit_s - queue_time_s)))
    return str(response)


def _say_all(verb: VoiceResponse | Gather, prompts: Sequence[Say], voice: Voice) -> None:
    for prompt in prompts:
        _say(verb, prompt.text, voice)


def _say(verb: VoiceResponse | Gather, text: str, voice: Voice) -> None:
    if voice.name:
        verb.say(text, language=voice.language, voice=voice.name)
    else:
        verb.say(text, language=voice.language)
