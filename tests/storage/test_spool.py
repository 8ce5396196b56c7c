"""The on-disk spool keeps webhook payloads durably and replays them in order, once."""

from __future__ import annotations

import logging
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from storage.spool import ABANDONED_AFTER_S, Spool, SpoolEntry

NOW = datetime(2026, 11, 28, 8, tzinfo=UTC)


def test_entries_replay_oldest_first_and_are_removed(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool")
    for i in range(3):
        spool.append("gather", {"CallSid": "CA1", "Digits": str(i)}, {"seq": str(i)}, NOW + timedelta(seconds=i))
    assert spool.pending() == 3
    seen: list[SpoolEntry] = []
    assert spool.replay(seen.append) == (3, 0)
    assert [e.params["Digits"] for e in seen] == ["0", "1", "2"]
    assert [e.query["seq"] for e in seen] == ["0", "1", "2"]
    assert spool.pending() == 0 and list((tmp_path / "spool").iterdir()) == []


def test_an_entry_counts_as_pending_until_its_replay_has_applied_it(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    spool.append("voice", {"CallSid": "CA1"}, {}, NOW)
    spool.append("status", {"CallSid": "CA1"}, {}, NOW + timedelta(seconds=1))
    seen: list[int] = []
    assert spool.replay(lambda entry: seen.append(spool.pending())) == (2, 0)
    assert seen == [2, 1], "the entry being applied (claimed) still counts"
    assert spool.pending() == 0


def test_a_failing_entry_stops_the_replay_and_stays(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    spool.append("voice", {"CallSid": "CA1"}, {}, NOW)
    spool.append("status", {"CallSid": "CA1"}, {}, NOW + timedelta(seconds=1))

    def fail_on_status(entry: SpoolEntry) -> None:
        if entry.kind == "status":
            raise RuntimeError("database still down")

    assert spool.replay(fail_on_status) == (1, 1)
    assert spool.pending() == 1
    kinds: list[str] = []
    assert spool.replay(lambda entry: kinds.append(entry.kind)) == (1, 0)
    assert kinds == ["status"]


def test_an_expected_failure_is_one_warning_line_and_the_entry_stays(tmp_path: Path,
                                                                     caplog: pytest.LogCaptureFixture) -> None:
    spool = Spool(tmp_path)
    spool.append("voice", {"CallSid": "CA1"}, {}, NOW)

    def down(entry: SpoolEntry) -> None:
        raise ConnectionError("database still down")

    with caplog.at_level(logging.WARNING, logger="storage.spool"):
        assert spool.replay(down, expected=(ConnectionError,)) == (0, 1)
    [record] = caplog.records
    assert record.levelno == logging.WARNING and record.exc_info is None and "ConnectionError" in record.getMessage()
    assert spool.pending() == 1


def test_vietnamese_text_survives(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    spool.append("gather", {"SpeechResult": "đường ngập nước"}, {}, NOW)
    texts: list[str] = []
    spool.replay(lambda entry: texts.append(entry.params["SpeechResult"]))
    assert texts == ["đường ngập nước"]


def test_claims_abandoned_by_a_dead_process_are_recovered(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    path = spool.append("voice", {"CallSid": "CA1"}, {}, NOW)
    claimed = path.with_name(path.name + ".claimed")
    os.replace(path, claimed)
    assert spool.replay(lambda entry: None) == (0, 0), "a fresh claim belongs to a live process"
    old = claimed.stat().st_mtime - ABANDONED_AFTER_S - 1
    os.utime(claimed, (old, old))
    assert spool.replay(lambda entry: None) == (1, 0)
    assert list(tmp_path.iterdir()) == []
