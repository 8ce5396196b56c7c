"""What the fuzz targets share: catching the errors an app logs while an example runs."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager


class ErrorLog(logging.Handler):
    """Errors and exceptions the app logged: the outage path or a swallowed failure with the database up."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@contextmanager
def logged_errors() -> Iterator[ErrorLog]:
    """The errors logged (by any logger) inside the block."""
    handler = ErrorLog()
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
