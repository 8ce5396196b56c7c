"""A Twilio emulator: a phone in a terminal that calls our server as Twilio would.

    with Emulator("http://127.0.0.1:5000", auth_token, out=json_lines()) as phone:
        result = phone.call(["press:1", 'say:"cây ngã trên đường"', "hangup"])

Steps (what the caller does): press:DIGITS (0-9 and *, optional trailing #), record:PATH.wav,
say:"văn bản" (synthesised when audio is needed; a speech <Gather> gets it as SpeechResult),
wait:SECONDS (really slept: silence at Gather/Record, talk time on a bridged Dial/Enqueue, another
waitUrl round in a queue nobody answers), hangup. Steps are consumed only where the caller is
listened to (Gather, Record, Dial, Enqueue); `hangup` is also honoured at Pause and Redirect.
listening.py and transfers.py describe each verb's rules; media.py describes <Connect><Stream>
(a Media Stream over a signed WebSocket, where every step becomes audio, DTMF or silence).

Events (dicts passed to `out`, one JSON object per line from json_lines):
    call_started {sid, from, to, url}     prompt {text, language, voice}     play {url | digits}
    pause {seconds}    digits {digits, finished_on_key[, dropped]}    speech {text}
    timeout {verb, seconds}    wait {seconds}    beep {}
    recording {sid, url, duration, source, ended_by}    redirect {url}
    dial {kind: number|queue|client|sip|conference|enqueue, to}    dial_ended {status, duration}
    error {code, message}    hangup {by: caller|server, reason}
    call_ended {sid, status, duration, unused_steps}
    request {purpose, method, url, status, ms[, duplicate]}   (only with verbose=True)
    Media Streams: stream_started {url, stream_sid, parameters}    stream_audio {source, seconds}
    dtmf {digits}    prompt_audio {seconds}    mark {name}    clear {}    stream_ended {stream_sid, by: caller|server|network}
    turn {input: say|record|press, caller_end_s, bot_start_s, latency_ms}  (null bot_start_s and
    latency_ms when the bot never answered)    stream_turns {stream_sid, latency_ms: [...]}
    bot_wav {stream_sid, path, seconds}   (with Emulator(bot_wav=PATH); see media.py)
"""

from ivr.twilio.emulator.emulator import CallResult, Emulator, json_lines
from ivr.twilio.emulator.recordings import RecordingServer
from ivr.twilio.emulator.steps import (
    HangUp,
    Press,
    RecordFile,
    Speak,
    Step,
    StepError,
    Wait,
    parse_step,
    parse_steps,
)

__all__ = [
    "CallResult",
    "Emulator",
    "HangUp",
    "Press",
    "RecordFile",
    "RecordingServer",
    "Speak",
    "Step",
    "StepError",
    "Wait",
    "json_lines",
    "parse_step",
    "parse_steps",
]
