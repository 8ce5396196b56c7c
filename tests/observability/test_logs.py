"""Log lines: JSON or text, the call's id from the context, phone numbers masked whoever logs them."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from ivr.worker import QueueWorker
from observability import logs


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    """Our handler on the root logger, writing JSON lines to a buffer; removed afterwards."""
    buffer = io.StringIO()
    handler = logs.configure("json", level=logging.DEBUG, stream=buffer, replace=True)
    yield buffer
    logging.getLogger().removeHandler(handler)


def lines(buffer: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in buffer.getvalue().splitlines()]


@pytest.mark.parametrize(("number", "masked"), [
    ("+84901234567", "+84******567"),
    ("+842812345678", "+84*******678"),
    ("0901234567", "*******567"),
    ("+14155550123", "+********123"),
    ("", ""),
    ("anonymous", "******ous"),
])
def test_a_number_keeps_its_country_code_and_last_three_digits(number: str, masked: str) -> None:
    assert logs.mask_number(number) == masked


def test_number_like_digit_runs_are_masked_and_other_digits_left_alone() -> None:
    text = ("from +84901234567, 0987654321 or 84912345678 (call CA0933334444abcdef0933334444abcdef01, "
            "at 20260715T101112 for 12345 ms, ward 26734)")
    masked = logs.mask_text(text)
    for number in ("901234567", "0987654321", "912345678"):
        assert number not in masked
    assert "+84******567" in masked and "*******321" in masked
    assert "CA0933334444abcdef0933334444abcdef01" in masked
    assert "20260715T101112" in masked and "12345 ms" in masked and "26734" in masked


def test_a_json_line_has_the_fields_and_the_call_context(captured: io.StringIO) -> None:
    log = logging.getLogger("hotline.test")
    log.info("outside any call")
    with logs.call_context("CA" + "1" * 32, "MZ" + "2" * 32):
        log.warning("a call from %s", "+84901234567")
    [outside, inside] = lines(captured)
    assert set(outside) == {"time", "level", "logger", "message", "pid", "thread"}
    assert outside["time"].endswith("+00:00") and outside["logger"] == "hotline.test"
    assert inside["call_sid"] == "CA" + "1" * 32 and inside["stream_sid"] == "MZ" + "2" * 32
    assert inside["level"] == "WARNING" and inside["message"] == "a call from +84******567"
    assert "901234567" not in captured.getvalue()


def test_exception_text_is_kept_and_masked(captured: io.StringIO) -> None:
    try:
        raise ValueError("no case for 0912345678")
    except ValueError:
        logging.getLogger("hotline.test").exception("filing failed")
    [line] = lines(captured)
    assert "ValueError: no case for *******678" in line["exc"] and "0912345678" not in captured.getvalue()


def test_a_queue_worker_logs_in_its_creators_call_context(captured: io.StringIO) -> None:
    log = logging.getLogger("hotline.test")
    with logs.call_context("CA" + "3" * 32):
        worker = QueueWorker(lambda item: log.info("handled %s", item), name="test-worker")
    worker.put("frame")
    assert worker.stop(timeout=5)
    [line] = lines(captured)
    assert line["call_sid"] == "CA" + "3" * 32 and line["thread"] == "test-worker"


def test_the_text_format_is_readable_and_masked() -> None:
    buffer = io.StringIO()
    handler = logs.configure("text", stream=buffer, replace=True)
    try:
        with logs.call_context("CA" + "4" * 32):
            logging.getLogger("hotline.test").info("caller %s", "0901234567")
    finally:
        logging.getLogger().removeHandler(handler)
    assert buffer.getvalue().rstrip().endswith(f"INFO hotline.test [CA{'4' * 32}]: caller *******567")


def test_configuring_again_replaces_our_handler_and_leaves_others() -> None:
    root = logging.getLogger()
    before = list(root.handlers)
    first = logs.configure("json", stream=io.StringIO(), replace=True)
    second = logs.configure("text", stream=io.StringIO(), replace=True)
    try:
        assert first not in root.handlers and second in root.handlers
        assert [h for h in root.handlers if h is not second] == before
    finally:
        root.removeHandler(second)
    with pytest.raises(ValueError, match="xml"):
        logs.configure("xml")
