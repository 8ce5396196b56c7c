"""What the emulated caller does, written as short strings: press:1, record:x.wav, say:"…", wait:2, hangup."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from speech.audio import AudioError, wav_info

_DIGITS = re.compile(r"[0-9*]*#?")
MAX_WAIT_S = 3600.0


class StepError(ValueError):
    """A step string could not be understood; the message quotes it."""


@dataclass(frozen=True)
class Press:
    """The caller keys DTMF digits (0-9, *, and an optional trailing #)."""

    digits: str

    def __str__(self) -> str:
        return f"press:{self.digits}"


@dataclass(frozen=True)
class RecordFile:
    """The caller speaks: the audio is this WAV file."""

    path: Path

    def __str__(self) -> str:
        return f"record:{self.path}"


@dataclass(frozen=True)
class Speak:
    """The caller speaks this text; it is synthesised to a WAV when audio is needed."""

    text: str

    def __str__(self) -> str:
        return f'say:"{self.text}"'


@dataclass(frozen=True)
class Wait:
    """The caller stays silent for this many seconds (the emulator really sleeps)."""

    seconds: float

    def __str__(self) -> str:
        return f"wait:{self.seconds:g}"


@dataclass(frozen=True)
class HangUp:
    """The caller hangs up."""

    def __str__(self) -> str:
        return "hangup"


Step = Press | RecordFile | Speak | Wait | HangUp
AUDIO_STEPS = (RecordFile, Speak)


def parse_step(text: str) -> Step:
    """Parse one step string; raise StepError naming the step when it is malformed."""
    raw = text
    text = unicodedata.normalize("NFC", text.strip())
    if text == "hangup":
        return HangUp()
    kind, sep, arg = text.partition(":")
    if not sep:
        raise StepError(f"bad step {raw!r}: expected KIND:VALUE or 'hangup' (kinds: press, record, say, wait)")
    if kind == "press":
        if not arg or not _DIGITS.fullmatch(arg):
            raise StepError(f"bad step {raw!r}: press takes keys 0-9 and *, optionally ending with #")
        return Press(arg)
    if kind == "record":
        return RecordFile(_wav_path(raw, arg))
    if kind == "say":
        spoken = _unquote(arg).strip()
        if not spoken:
            raise StepError(f"bad step {raw!r}: say needs some text, e.g. say:\"xin chào\"")
        return Speak(spoken)
    if kind == "wait":
        try:
            seconds = float(arg)
        except ValueError:
            raise StepError(f"bad step {raw!r}: wait takes a number of seconds") from None
        if not 0 <= seconds <= MAX_WAIT_S:
            raise StepError(f"bad step {raw!r}: wait must be between 0 and {MAX_WAIT_S:g} seconds")
        return Wait(seconds)
    raise StepError(f"bad step {raw!r}: unknown kind {kind!r} (expected press, record, say, wait or hangup)")


def parse_steps(texts: Iterable[str]) -> list[Step]:
    """Parse step strings in order."""
    return [parse_step(t) for t in texts]


def _unquote(arg: str) -> str:
    """Drop one pair of matching surrounding quotes, as left by a shell."""
    if len(arg) >= 2 and arg[0] == arg[-1] and arg[0] in "\"'":
        return arg[1:-1]
    return arg


def _wav_path(raw: str, arg: str) -> Path:
    """Check that `arg` names a readable PCM WAV file."""
    path = Path(_unquote(arg))
    if path.suffix.lower() != ".wav":
        raise StepError(f"bad step {raw!r}: record takes a .wav file")
    try:
        wav_info(path.read_bytes())
    except OSError as exc:
        raise StepError(f"bad step {raw!r}: cannot read {path}: {exc.strerror}") from None
    except AudioError as exc:
        raise StepError(f"bad step {raw!r}: {exc}") from None
    return path


class StepQueue:
    """The caller's remaining steps, consumed in order by the verbs that listen."""

    def __init__(self, steps: Iterable[Step | str]) -> None:
        self._steps = [parse_step(s) if isinstance(s, str) else s for s in steps]

    def peek(self) -> Step | None:
        """The next step, left in place; None when the caller has nothing more to do."""
        return self._steps[0] if self._steps else None

    def pop(self) -> Step:
        """Consume the next step."""
        return self._steps.pop(0)

    def pop_if(self, *kinds: type) -> Step | None:
        """Consume and return the next step when it is one of `kinds`."""
        step = self.peek()
        if step is not None and isinstance(step, kinds):
            return self.pop()
        return None

    def remaining(self) -> list[Step]:
        """Steps not consumed."""
        return list(self._steps)
