"""PromptCache: real espeak-ng through EspeakSynthesizer, files on disk, threads."""

from __future__ import annotations

import io
import threading
import time
import unicodedata
import wave
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from config.menu import load_menu
from config.settings import DEFAULT_MENU_DIR
from speech.audio import FRAME_SAMPLES
from speech.mulaw import SILENCE, mulaw_decode
from speech.prompts import PromptAudio, PromptCache, PromptError
from speech.synthesis import EspeakSynthesizer, SynthesisError

VOICE = "vi-vn-x-south"
TEXT = "Xin chào, đây là đường dây nóng 1022."


class CountingSynthesizer:
    """Our EspeakSynthesizer, counting what it is asked to say."""

    def __init__(self, voice: str = VOICE, rate: int | None = None) -> None:
        self.inner = EspeakSynthesizer(voice, rate)
        self.texts: list[str] = []
        self._lock = threading.Lock()

    def synthesize(self, text: str, path: Path) -> Path:
        with self._lock:
            self.texts.append(text)
        return self.inner.synthesize(text, path)


@pytest.fixture
def synth() -> CountingSynthesizer:
    return CountingSynthesizer()


@pytest.fixture
def cache(tmp_path: Path, synth: CountingSynthesizer) -> Iterator[PromptCache]:
    cache = PromptCache(tmp_path / "cache", synth, voice=VOICE, rate=None)
    yield cache
    cache.close()


def files(directory: Path) -> list[Path]:
    return sorted(p for p in directory.rglob("*") if p.is_file())


def make_wav(samples: np.ndarray, rate: int, width: int = 2) -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as wav:
        wav.setnchannels(1 if samples.ndim == 1 else samples.shape[1])
        wav.setsampwidth(width)
        wav.setframerate(rate)
        wav.writeframes(samples.tobytes())
    return out.getvalue()


def test_a_miss_synthesises_and_writes_the_file(cache: PromptCache, synth: CountingSynthesizer) -> None:
    audio = cache.get(TEXT)
    key = cache.key(TEXT)
    stored = cache.directory / key[:2] / f"{key}.ulaw"
    assert synth.texts == [TEXT]
    assert files(cache.directory) == [stored]
    assert stored.read_bytes() == b"".join(audio.frames)
    assert all(len(frame) == FRAME_SAMPLES for frame in audio.frames)
    assert audio.duration_s == pytest.approx(len(audio.frames) * 0.02)
    assert audio.duration_s > 1.0
    assert np.abs(mulaw_decode(stored.read_bytes())).max() > 1000  # speech, not silence


def test_a_hit_reads_the_file_without_synthesising(tmp_path: Path, cache: PromptCache, synth: CountingSynthesizer) -> None:
    first = cache.get(TEXT)
    again = cache.get(TEXT)
    other = CountingSynthesizer()
    another_process = PromptCache(tmp_path / "cache", other, voice=VOICE, rate=None)
    assert another_process.get(TEXT) == first == again
    assert synth.texts == [TEXT] and other.texts == []


def test_the_key_depends_on_text_voice_and_rate(tmp_path: Path, synth: CountingSynthesizer) -> None:
    def key(text: str = TEXT, voice: str = VOICE, rate: int | None = None) -> str:
        return PromptCache(tmp_path, synth, voice=voice, rate=rate).key(text)

    keys = {key(), key(text="Xin chào"), key(voice="vi"), key(rate=150), key(rate=200)}
    assert len(keys) == 5
    assert key() == key()


def test_nfc_and_nfd_texts_share_a_key(cache: PromptCache, synth: CountingSynthesizer) -> None:
    nfd = unicodedata.normalize("NFD", TEXT)
    assert nfd != TEXT
    assert cache.key(nfd) == cache.key(TEXT)
    assert cache.get(TEXT) == cache.get(nfd)
    assert synth.texts == [TEXT]


def test_empty_text_is_empty_audio_without_synthesis(cache: PromptCache, synth: CountingSynthesizer) -> None:
    assert cache.get("") == cache.get("  \n") == PromptAudio((), 0.0)
    assert synth.texts == [] and not cache.directory.exists()


def test_writes_leave_no_temporary_files_and_replace_damaged_ones(cache: PromptCache, synth: CountingSynthesizer) -> None:
    stored = cache.path(cache.key(TEXT))
    stored.parent.mkdir(parents=True)
    stored.write_bytes(b"\xff" * 100)  # half a frame: a file some other tool truncated
    audio = cache.get(TEXT)
    cache.get("Một hai ba")
    assert synth.texts == [TEXT, "Một hai ba"]
    assert stored.read_bytes() == b"".join(audio.frames)
    assert [p.suffix for p in files(cache.directory)] == [".ulaw", ".ulaw"]


def test_a_failed_synthesis_stores_nothing(tmp_path: Path) -> None:
    class Failing:
        def synthesize(self, text: str, path: Path) -> Path:
            path.write_bytes(b"RIFF")  # half-written output, then failure
            raise SynthesisError("espeak-ng failed")

    cache = PromptCache(tmp_path / "cache", Failing(), voice=VOICE, rate=None)
    with pytest.raises(SynthesisError):
        cache.get(TEXT)
    assert files(tmp_path) == []


def test_concurrent_gets_of_one_text_synthesise_once(cache: PromptCache, synth: CountingSynthesizer) -> None:
    start = threading.Barrier(8)

    def get(_: int) -> PromptAudio:
        start.wait()
        return cache.get(TEXT)

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(get, range(8)))
    assert synth.texts == [TEXT]
    assert all(result == results[0] for result in results)
    assert len(files(cache.directory)) == 1
    assert cache._locks == {}  # per-key locks are dropped after use


def test_concurrent_gets_of_different_texts_all_arrive(cache: PromptCache, synth: CountingSynthesizer) -> None:
    texts = [f"Mã số phản ánh là {n}" for n in range(6)]
    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(cache.get, texts * 2))
    assert sorted(synth.texts) == sorted(texts)
    assert results[:6] == results[6:]
    assert len(files(cache.directory)) == 6


def test_render_async_runs_on_the_given_executor(tmp_path: Path, synth: CountingSynthesizer) -> None:
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="calls") as pool:
        cache = PromptCache(tmp_path, synth, voice=VOICE, rate=None, executor=pool)
        names: list[str] = []
        pool.submit(lambda: names.append(threading.current_thread().name)).result()
        future = cache.render_async("Mã số là: một, không, hai, hai")
        assert future.result(timeout=10).duration_s > 1.0
        cache.close()  # leaves an executor it did not create running
        assert pool.submit(lambda: 1).result() == 1
    assert names[0].startswith("calls")


def test_render_async_without_an_executor_uses_its_own(cache: PromptCache) -> None:
    futures = [cache.render_async(text) for text in ("Phường Gò Vấp", "Phường Bảy Hiền", "")]
    results = [future.result(timeout=10) for future in futures]
    assert [bool(result.frames) for result in results] == [True, True, False]


def test_warm_renders_the_shipped_menus_fixed_prompts(cache: PromptCache, synth: CountingSynthesizer) -> None:
    menu = load_menu(DEFAULT_MENU_DIR / "main.yaml")
    started = time.perf_counter()
    fresh = cache.warm(menu)
    cold = time.perf_counter() - started
    started = time.perf_counter()
    assert cache.warm(menu) == 0
    warm = time.perf_counter() - started
    print(f"warming main.yaml: {fresh} prompts, cold {cold:.2f} s, warm {warm * 1000:.1f} ms")

    fixed = {
        menu.nodes["welcome"].prompt,
        menu.nodes["main_menu"].prompt,
        menu.defaults.no_input,
        menu.nodes["describe"].no_input,
        menu.nodes["lookup_number"].no_match,
        menu.nodes["goodbye"].prompt,
    }
    assert fixed <= set(synth.texts)
    assert fresh == len(synth.texts) == len(set(synth.texts)) == len(files(cache.directory))
    assert not any("{" in text for text in synth.texts)  # {case_number} and friends are dynamic
    for node_id in ("report_filed", "confirm_report", "lookup_result", "lookup_missing", "message_filed"):
        assert menu.nodes[node_id].prompt not in synth.texts
    # every fixed prompt the engine can say is now a hit
    before = len(synth.texts)
    for text in fixed:
        cache.get(text)
    assert len(synth.texts) == before


def stereo_wav(seconds: float = 1.0, rate: int = 44100) -> bytes:
    t = np.arange(int(seconds * rate)) / rate
    left = np.rint(16000 * np.sin(2 * np.pi * 440 * t)).astype("<i2")
    right = np.zeros_like(left)
    return make_wav(np.stack([left, right], axis=1), rate)


def test_a_recorded_stereo_prompt_becomes_8_khz_frames(tmp_path: Path, cache: PromptCache, synth: CountingSynthesizer) -> None:
    recording = tmp_path / "welcome.wav"
    recording.write_bytes(stereo_wav(1.0))
    audio = cache.get_recorded(recording)
    assert len(audio.frames) == 50 and audio.duration_s == pytest.approx(1.0)
    assert all(len(frame) == FRAME_SAMPLES for frame in audio.frames)
    samples = mulaw_decode(b"".join(audio.frames))
    assert 7400 < np.abs(samples[400:-400]).max() < 8600  # left and right averaged, no gain change
    assert synth.texts == []
    # converted once: keyed by content, so a copy elsewhere is a hit and a change is a miss
    copy = tmp_path / "copy.wav"
    copy.write_bytes(recording.read_bytes())
    assert cache.get_recorded(copy) == audio
    assert len(files(cache.directory)) == 1
    recording.write_bytes(stereo_wav(0.5))
    assert cache.get_recorded(recording).duration_s == pytest.approx(0.5)
    assert len(files(cache.directory)) == 2


def test_a_recorded_mono_8_khz_prompt_keeps_its_samples(tmp_path: Path, cache: PromptCache) -> None:
    samples = np.full(1000, 1234, dtype="<i2")
    (tmp_path / "tone.wav").write_bytes(make_wav(samples, 8000))
    frames = cache.get_recorded(tmp_path / "tone.wav").frames
    assert len(frames) == 7 and frames[-1].endswith(bytes([SILENCE]) * 120)  # 1000 samples, padded
    decoded = mulaw_decode(b"".join(frames))[:1000]
    assert decoded.min() == decoded.max() and abs(int(decoded[0]) - 1234) < 40  # same rate, 0 dB


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "not a PCM WAV file"),
        (b"this is not audio at all, just text", "not a PCM WAV file"),
        (stereo_wav(0.1)[:30], "not a PCM WAV file"),
        (make_wav(np.zeros(0, dtype="<i2"), 8000), "holds no audio"),
        (make_wav(np.full(800, 128, dtype=np.uint8), 8000, width=1), "expected 16-bit PCM"),
    ],
    ids=["empty", "text", "truncated-header", "no-frames", "8-bit"],
)
def test_a_corrupt_recording_is_a_prompt_error_naming_the_file(
    tmp_path: Path, cache: PromptCache, content: bytes, message: str
) -> None:
    bad = tmp_path / "bad prompt.wav"
    bad.write_bytes(content)
    with pytest.raises(PromptError, match=message) as caught:
        cache.get_recorded(bad)
    assert str(bad) in str(caught.value)
    assert not cache.directory.exists()


def test_a_missing_recording_is_a_prompt_error_naming_the_file(tmp_path: Path, cache: PromptCache) -> None:
    with pytest.raises(PromptError, match="cannot read") as caught:
        cache.get_recorded(tmp_path / "nowhere.wav")
    assert str(tmp_path / "nowhere.wav") in str(caught.value)


MENU_WITH_RECORDING = """\
name: recorded
start: hello
defaults:
  fallback: bye
  no_input: "Xin lỗi, tổng đài chưa nhận được lựa chọn."
  no_match: "Phím {{sao}} chưa đúng."
nodes:
  hello:
    type: menu
    prompt: "Xin chào. Bấm phím 1."
    audio: prompts/hello.wav
    options:
      - {key: 1, next: bye}
  bye:
    type: hangup
    prompt: "Tạm biệt, mã số {case_number}. Dấu {{ngoặc}}."
"""


def test_warm_converts_recorded_prompts_relative_to_the_menu(
    tmp_path: Path, cache: PromptCache, synth: CountingSynthesizer
) -> None:
    (tmp_path / "prompts").mkdir()
    (tmp_path / "prompts" / "hello.wav").write_bytes(stereo_wav(0.5))
    menu_file = tmp_path / "recorded.yaml"
    menu_file.write_text(MENU_WITH_RECORDING, encoding="utf-8")
    menu = load_menu(menu_file)
    assert cache.warm(menu) == 3  # the recording and the re-prompts; the transcript is not spoken
    # braces unescaped as the engine's render() does, so the call finds the same key
    assert synth.texts == ["Xin lỗi, tổng đài chưa nhận được lựa chọn.", "Phím {sao} chưa đúng."]
    assert cache.warm(menu) == 0
    (tmp_path / "prompts" / "hello.wav").unlink()
    with pytest.raises(PromptError, match="hello.wav"):
        cache.warm(menu)


def test_per_call_prompts_are_rendered_but_not_kept(cache: PromptCache, synth: CountingSynthesizer) -> None:
    fixed = cache.get("Xin chào quý vị.")
    assert len(files(cache.directory)) == 1
    once = cache.get("Mã số phản ánh là một, ba.", keep=False)
    assert once.frames and len(files(cache.directory)) == 1, "a case number is not worth a file"
    assert cache.get("Xin chào quý vị.", keep=False) == fixed, "a kept prompt is still read from its file"
    assert cache.get("   ", keep=False).frames == ()


def test_the_voice_sessions_prompt_source_plays_recordings_and_texts(tmp_path: Path, cache: PromptCache,
                                                                    synth: CountingSynthesizer) -> None:
    from ivr.actions import Say
    from ivr.voice import prompt_source

    (tmp_path / "menus").mkdir()
    (tmp_path / "menus" / "greeting.wav").write_bytes(stereo_wav(0.5))
    say = prompt_source(cache, tmp_path / "menus")
    recorded = say(Say("Xin chào (bản ghi)", audio="greeting.wav"))
    assert abs(recorded.duration_s - 0.5) < 0.03 and synth.texts == [], "a recorded prompt is played, not spoken"
    say(Say("Mã số 42.", dynamic=True))
    say(Say("Xin cảm ơn."))
    assert len(synth.texts) == 2 and len(files(cache.directory)) == 2, "the recording and the fixed text are kept"
