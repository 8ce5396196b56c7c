"""Log lines for operators: one JSON object (or one readable line) per record, the call's id on each, no caller data.

The call being handled is held in context variables: a webhook sets them for its request, a media
stream for its reader and worker threads, background work for its task. Every record a handler of
ours writes carries them, and phone-number-like digit runs are masked in whatever reaches a handler
(defence in depth: the code logs masked numbers and lengths of what callers said, never the text).
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import IO, Any

FORMATS = ("json", "text")
CALL_SID: ContextVar[str | None] = ContextVar("call_sid", default=None)
STREAM_SID: ContextVar[str | None] = ContextVar("stream_sid", default=None)

# +84 or 84 then 9-10 digits, 0 then 9-10 digits (Vietnamese numbers), or any + then 8-15 digits (E.164).
PHONE_NUMBER = re.compile(r"(?<![\w+])(?:\+?84\d{9,10}|0\d{9,10}|\+\d{8,15})(?!\d)")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s%(call)s: %(message)s"


def mask_number(number: str | None) -> str:
    """A caller's number for logs: country code and last 3 digits kept (+84*******567); '' for none."""
    if not number:
        return ""
    head = "+84" if number.startswith("+84") else "+" if number.startswith("+") else ""
    body = number[len(head):]
    keep = 3 if len(body) > 4 else 0
    return head + re.sub(r"\w", "*", body[:len(body) - keep]) + body[len(body) - keep:]


def mask_text(text: str) -> str:
    """Text with every phone-number-like digit run masked."""
    return PHONE_NUMBER.sub(lambda match: mask_number(match.group()), text)


@contextmanager
def call_context(call_sid: str | None, stream_sid: str | None = None) -> Iterator[None]:
    """Log records made inside carry this call's (and stream's) id."""
    tokens = CALL_SID.set(call_sid or None), STREAM_SID.set(stream_sid or None)
    try:
        yield
    finally:
        STREAM_SID.reset(tokens[1])
        CALL_SID.reset(tokens[0])


class CallContextFilter(logging.Filter):
    """Adds call_sid and stream_sid (None when unknown) to every record, and masks numbers in its message."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "call_sid", None) is None:
            record.call_sid = CALL_SID.get()
        if getattr(record, "stream_sid", None) is None:
            record.stream_sid = STREAM_SID.get()
        try:
            message = record.getMessage()
        except Exception:  # a malformed call: the handler reports it when formatting, the caller goes on
            return True
        masked = mask_text(message)
        if masked != message or record.args:
            record.msg, record.args = masked, None
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, call_sid, stream_sid, pid, thread, exc."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname, "logger": record.name, "message": record.getMessage(),
        }
        for key in ("call_sid", "stream_sid"):
            if getattr(record, key, None):
                line[key] = getattr(record, key)
        line["pid"], line["thread"] = record.process or os.getpid(), record.threadName
        if record.exc_info:
            line["exc"] = "".join(traceback.format_exception(*record.exc_info)).rstrip()
        elif record.exc_text:
            line["exc"] = record.exc_text
        if record.stack_info:
            line["stack"] = record.stack_info
        return mask_text(json.dumps(line, ensure_ascii=False, default=str))


class TextFormatter(logging.Formatter):
    """A readable line: time, level, logger, [call/stream], message; masked like the JSON one."""

    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        ids = [value for value in (getattr(record, "call_sid", None), getattr(record, "stream_sid", None)) if value]
        record.call = f" [{' '.join(ids)}]" if ids else ""
        return mask_text(super().format(record))


def dress(handler: logging.Handler, log_format: str) -> logging.Handler:
    """Give a handler our formatter and the call-context filter (also used on gunicorn's handlers)."""
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    if not any(isinstance(f, CallContextFilter) for f in handler.filters):
        handler.addFilter(CallContextFilter())
    return handler


class _HotlineHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """The handler configure() installs, so that configuring again replaces it instead of adding another."""


def configure(log_format: str, *, level: int = logging.INFO, stream: IO[str] | None = None,
              replace: bool = False) -> logging.Handler | None:
    """Send the root logger's records to stderr (or stream) in log_format.

    Leaves a root logger that someone else already gave handlers alone (a test runner's) unless
    replace; our own handler from an earlier call is always replaced.
    """
    if log_format not in FORMATS:
        raise ValueError(f"log format {log_format!r}: expected one of {', '.join(FORMATS)}")
    root = logging.getLogger()
    ours = [h for h in root.handlers if isinstance(h, _HotlineHandler)]
    if len(ours) < len(root.handlers) and not replace:
        return None
    for handler in ours:
        root.removeHandler(handler)
    handler = dress(_HotlineHandler(stream or sys.stderr), log_format)
    root.addHandler(handler)
    root.setLevel(level)
    return handler
