"""Vosk models on disk: fetch or copy an archive, verify it against the lock file, unpack it safely, find it, describe it."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
import tempfile
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import requests

from config.settings import Settings
from speech.graph import supports_grammar, vocabulary_size
from speech.resample import model_sample_rate

Progress = Callable[[int, int | None], None]  # (bytes so far, bytes expected or None)

LOCK_NAME = "models-lock.json"
MARKER_NAME = ".archive-sha256"  # written inside an installed model: the digest of the archive it came from
CHUNK = 1 << 16


class ModelError(Exception):
    """A model cannot be installed, found or loaded; the message says why and what to do."""


@dataclass(frozen=True)
class ModelSource:
    """Where the publisher keeps a model, and what its archive weighs."""

    name: str
    url: str
    size: int | None


# The publisher gives no checksum: the first install records one in the lock file (see install_model).
MODELS = {
    "vi": ModelSource("vosk-model-small-vn-0.4", "https://alphacephei.com/vosk/models/vosk-model-small-vn-0.4.zip",
                      33_656_337),
}
INSTALL_COMMAND = "hotline models install vi"


@dataclass(frozen=True)
class Installed:
    """The outcome of an install: where the model is, the archive digest, and whether anything changed."""

    path: Path
    sha256: str
    changed: bool


@dataclass(frozen=True)
class ModelInfo:
    """What the recogniser needs to know about a loaded model."""

    path: Path
    sample_rate: int
    vocabulary_size: int
    supports_grammar: bool


def install(settings: Settings, language: str, *, archive: Path | None = None, url: str | None = None,
            sha256: str | None = None, progress: Progress | None = None) -> Installed:
    """Install the official model of a language under the data directory, from the publisher or an archive."""
    source = MODELS[language]
    target = settings.models_dir / source.name
    lock_file = settings.models_dir / LOCK_NAME
    if archive is not None:
        return install_from_file(archive, target, lock_file, expected_size=source.size, sha256=sha256,
                                 progress=progress)
    return install_model(url or source.url, target, lock_file, expected_size=source.size, sha256=sha256,
                         progress=progress)


def install_model(url: str, target_dir: Path, lock_file: Path, *, expected_size: int | None,
                  sha256: str | None = None, progress: Progress | None = None, timeout: float = 30.0) -> Installed:
    """Download a zipped model, check its size and SHA-256 (given, or pinned in the lock file) and unpack it."""
    wanted = _wanted_digest(target_dir.name, lock_file, sha256)
    if wanted is not None and _installed_digest(target_dir) == wanted:
        return Installed(target_dir, wanted, changed=False)
    target_dir.parent.mkdir(parents=True, exist_ok=True)
    with _temporary_file(target_dir.parent) as (download, handle):
        digest = _download(url, handle, expected_size, progress, timeout)
        handle.close()
        return _verify_and_unpack(download, digest, target_dir, lock_file, wanted)


def install_from_file(archive: Path, target_dir: Path, lock_file: Path, *, expected_size: int | None,
                      sha256: str | None = None, progress: Progress | None = None) -> Installed:
    """Install from an archive copied by hand, with the same checks as a download."""
    wanted = _wanted_digest(target_dir.name, lock_file, sha256)
    try:
        with archive.open("rb") as handle:
            digest = _copy_and_hash(iter(lambda: handle.read(CHUNK), b""), None, expected_size, progress)
    except OSError as error:
        raise ModelError(f"{archive}: cannot read the archive ({error.strerror or error})") from error
    _check_size(archive.stat().st_size, expected_size, str(archive))
    if digest == _installed_digest(target_dir) and (wanted is None or wanted == digest):
        return Installed(target_dir, digest, changed=False)
    target_dir.parent.mkdir(parents=True, exist_ok=True)
    return _verify_and_unpack(archive, digest, target_dir, lock_file, wanted)


def locate_model(settings: Settings) -> Path | None:
    """The model to load: VOSK_MODEL_PATH when set, else the installed Vietnamese model, else None."""
    if settings.vosk_model_path is not None:
        if not _looks_like_model(settings.vosk_model_path):
            raise ModelError(f"VOSK_MODEL_PATH={str(settings.vosk_model_path)!r}: not a Vosk model "
                             f"(no conf/mfcc.conf or am/ inside)")
        return settings.vosk_model_path
    installed = settings.models_dir / MODELS["vi"].name
    return installed if _looks_like_model(installed) else None


def load_model(path: Path) -> Any:
    """The vosk.Model at path, with Kaldi's logging silenced; ModelError when Vosk refuses it."""
    from vosk import Model, SetLogLevel

    SetLogLevel(-1)
    try:
        return Model(str(path))
    except Exception as error:  # vosk raises a bare Exception("Failed to create a model")
        raise ModelError(f"{path}: Vosk cannot load this model ({error})") from error


def check_model(path: Path, model: Any = None) -> ModelInfo:
    """Load a model with Vosk (unless given loaded) and report its sample rate, vocabulary and grammar support."""
    if model is None:
        model = load_model(path)
    try:
        return ModelInfo(path, model_sample_rate(path), vocabulary_size(path), supports_grammar(path))
    except ValueError as error:  # an unreadable mfcc.conf or graph header (DamagedGraph)
        raise ModelError(str(error)) from error


# -- download and verification ----------------------------------------------------------------


def _download(url: str, handle: IO[bytes], expected_size: int | None, progress: Progress | None,
              timeout: float) -> str:
    try:
        with requests.get(url, stream=True, timeout=timeout) as response:
            response.raise_for_status()
            announced = response.headers.get("Content-Length")
            total = expected_size if expected_size is not None else (int(announced) if announced else None)
            chunks = response.iter_content(CHUNK)
            return _copy_and_hash(chunks, handle, total, progress, limit=expected_size, source=url)
    except requests.RequestException as error:
        raise ModelError(f"download of {url} failed: {error}") from error


def _copy_and_hash(chunks: Iterable[bytes], handle: IO[bytes] | None, total: int | None,
                   progress: Progress | None, *, limit: int | None = None, source: str = "") -> str:
    digest, done = hashlib.sha256(), 0
    for chunk in chunks:
        done += len(chunk)
        if limit is not None and done > limit:  # stop early rather than fill the disk
            raise ModelError(f"{source}: more than the expected {limit:,} bytes; not the official archive")
        digest.update(chunk)
        if handle is not None:
            handle.write(chunk)
        if progress is not None:
            progress(done, total)
    if limit is not None:
        _check_size(done, limit, source)
    return digest.hexdigest()


def _check_size(size: int, expected: int | None, source: str) -> None:
    if expected is not None and size != expected:
        raise ModelError(f"{source}: {size:,} bytes, expected {expected:,}; incomplete or not the official archive")


def _wanted_digest(name: str, lock_file: Path, sha256: str | None) -> str | None:
    """The digest the archive must have: the operator's, else the one pinned in the lock file, else any."""
    locked = _locked_digest(lock_file, name)
    given = sha256.strip().lower() if sha256 else None
    if given is not None and locked is not None and given != locked:
        raise ModelError(f"--sha256 {given} disagrees with {locked} pinned for {name} in {lock_file}; "
                         f"remove that entry only if the new archive is known to be right")
    return given or locked


def _locked_digest(lock_file: Path, name: str) -> str | None:
    entry = _read_lock(lock_file).get(name)
    return str(entry["sha256"]) if isinstance(entry, dict) and "sha256" in entry else None


def _verify_and_unpack(archive: Path, digest: str, target_dir: Path, lock_file: Path, wanted: str | None) -> Installed:
    locked = _locked_digest(lock_file, target_dir.name)
    if wanted is not None and digest != wanted:
        origin = f"the lock file {lock_file}" if wanted == locked else f"--sha256 (lock file: {lock_file})"
        raise ModelError(f"checksum mismatch for {target_dir.name}: the archive has SHA-256 {digest}, "
                         f"{origin} requires {wanted}")
    unpack(archive, target_dir)
    (target_dir / MARKER_NAME).write_text(digest + "\n", encoding="ascii")
    if locked is None:
        _write_lock(lock_file, target_dir.name, digest, archive.stat().st_size)
    return Installed(target_dir, digest, changed=True)


def _installed_digest(target_dir: Path) -> str | None:
    marker = target_dir / MARKER_NAME
    return marker.read_text(encoding="ascii").strip() if marker.is_file() and _looks_like_model(target_dir) else None


def _read_lock(lock_file: Path) -> dict[str, dict[str, object]]:
    if not lock_file.is_file():
        return {}
    try:
        data = json.loads(lock_file.read_text(encoding="utf-8"))
    except ValueError as error:
        raise ModelError(f"{lock_file}: not valid JSON ({error}); fix or remove it") from error
    if not isinstance(data, dict):
        raise ModelError(f"{lock_file}: expected a JSON object keyed by model name")
    return data


def _write_lock(lock_file: Path, name: str, digest: str, size: int) -> None:
    data = _read_lock(lock_file)
    data[name] = {"sha256": digest, "size": size}
    with _temporary_file(lock_file.parent, suffix=".json") as (path, handle):
        handle.write(json.dumps(data, indent=2, sort_keys=True).encode("utf-8") + b"\n")
        handle.close()
        os.replace(path, lock_file)


# -- safe unpacking ---------------------------------------------------------------------------


def unpack(archive: Path, target_dir: Path) -> None:
    """Unpack a zip into target_dir, replacing it whole; refuses members that would land outside it."""
    try:
        with zipfile.ZipFile(archive) as bundle:
            members = _safe_members(bundle, archive)
            staging = Path(tempfile.mkdtemp(prefix=".unpack-", dir=target_dir.parent))
            try:
                for member in members:
                    _extract(bundle, member, staging)
                _replace(_model_root(staging), target_dir)
            finally:
                shutil.rmtree(staging, ignore_errors=True)
    except zipfile.BadZipFile as error:
        raise ModelError(f"{archive}: not a zip archive ({error})") from error


def _safe_members(bundle: zipfile.ZipFile, archive: Path) -> list[zipfile.ZipInfo]:
    members = bundle.infolist()
    for member in members:
        name = member.filename.replace("\\", "/")
        if name.startswith("/") or (len(name) > 1 and name[1] == ":") or ".." in name.split("/"):
            raise ModelError(f"{archive}: unsafe archive, member {member.filename!r} points outside the model")
        if stat.S_ISLNK(member.external_attr >> 16):
            raise ModelError(f"{archive}: unsafe archive, member {member.filename!r} is a symbolic link")
    return members


def _extract(bundle: zipfile.ZipFile, member: zipfile.ZipInfo, staging: Path) -> None:
    destination = (staging / member.filename).resolve()
    if not destination.is_relative_to(staging.resolve()):
        raise ModelError(f"unsafe archive, member {member.filename!r} points outside the model")
    if member.is_dir():
        destination.mkdir(parents=True, exist_ok=True)
        return
    destination.parent.mkdir(parents=True, exist_ok=True)
    with bundle.open(member) as source, destination.open("wb") as sink:
        shutil.copyfileobj(source, sink, CHUNK)


def _model_root(staging: Path) -> Path:
    """The publisher's archives hold one top-level directory named after the model; accept a bare layout too."""
    entries = list(staging.iterdir())
    root = entries[0] if len(entries) == 1 and entries[0].is_dir() else staging
    if not _looks_like_model(root):
        raise ModelError("the archive holds no Vosk model (no conf/mfcc.conf or am/ at its top)")
    return root


def _replace(new: Path, target_dir: Path) -> None:
    """Move the unpacked model into place; an older copy is moved aside first and removed after."""
    moved = Path(tempfile.mkdtemp(prefix=".staged-", dir=target_dir.parent)) / "model"
    new.rename(moved)
    old = target_dir.with_name(f".old-{target_dir.name}-{os.getpid()}")
    if target_dir.exists():
        target_dir.rename(old)
    moved.rename(target_dir)
    moved.parent.rmdir()
    shutil.rmtree(old, ignore_errors=True)


def _looks_like_model(path: Path) -> bool:
    return path.is_dir() and ((path / "conf" / "mfcc.conf").is_file() or (path / "am").is_dir())


class _temporary_file:  # noqa: N801  (used as a context manager, like tempfile's helpers)
    """A named file beside its destination, so that the final rename stays on one filesystem; removed on exit."""

    def __init__(self, directory: Path, suffix: str = ".zip") -> None:
        directory.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=".download-", suffix=suffix, dir=directory)
        self.path, self.handle = Path(name), os.fdopen(fd, "wb")

    def __enter__(self) -> tuple[Path, IO[bytes]]:
        return self.path, self.handle

    def __exit__(self, *exc: object) -> None:
        self.handle.close()
        self.path.unlink(missing_ok=True)
