"""`hotline call` with the Media Streams options, run as a user runs it, against a scripted stream server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from app import cli
from tests.emulator.streams import AUTH_TOKEN, StreamApp, read_wav

HOTLINE = str(Path(sys.executable).with_name("hotline"))


def test_help_names_the_stream_options_and_the_turn_events() -> None:
    run = CliRunner().invoke(cli, ["call", "--help"], terminal_width=200)
    assert run.exit_code == 0, run.output
    for words in ("--bot-wav FILE", "--media-pace FLOAT RANGE", "--media-patience FLOAT RANGE", "`turn`",
                  "latency_ms", "`stream_turns`"):
        assert words in run.output


def test_call_saves_the_bot_audio_and_prints_the_turns(stream_app: StreamApp, db_url: str, tmp_path: Path) -> None:
    env = {**os.environ, "DATABASE_URL": db_url, "HOTLINE_DATA_DIR": str(tmp_path / "var"),
           "TWILIO_AUTH_TOKEN": AUTH_TOKEN, "PUBLIC_BASE_URL": ""}
    wav = tmp_path / "bot.wav"
    run = subprocess.run([HOTLINE, "call", "--url", stream_app.base_url, "--bot-wav", str(wav), "--media-pace", "0",
                          "--media-patience", "0.3", "press:1#"], env=env, capture_output=True, text=True,
                         timeout=60, check=False)

    assert run.returncode == 1, run.stderr  # as before: the scripted server files no case
    assert "Traceback" not in run.stderr
    events = [json.loads(line) for line in run.stdout.splitlines()]
    [turn] = [e for e in events if e["event"] == "turn"]
    assert turn["input"] == "press" and turn["latency_ms"] > 0
    [summary] = [e for e in events if e["event"] == "stream_turns"]
    assert summary["latency_ms"] == [turn["latency_ms"]]
    [saved] = [e for e in events if e["event"] == "bot_wav"]
    assert saved["path"] == str(wav)
    assert round(len(read_wav(wav)) / 8000, 3) == saved["seconds"] >= 0.5  # the script's 0.5 s reply


def test_call_refuses_a_negative_pace() -> None:
    run = CliRunner().invoke(cli, ["call", "--url", "http://127.0.0.1:9", "--media-pace", "-1", "press:1"])
    assert run.exit_code == 2 and "--media-pace" in run.output
