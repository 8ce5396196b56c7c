"""EspeakSynthesizer: real espeak-ng through pyttsx3, checked with the wave module."""

from __future__ import annotations

import array
import logging
import threading
import time
import unicodedata
import wave
from pathlib import Path

import pytest

from speech.synthesis import EspeakSynthesizer, SynthesisError, Synthesizer

SENTENCE = "xin chào, tôi muốn phản ánh ngập nước"


def read_wav(path: Path) -> tuple[wave._wave_params, array.array]:
    with wave.open(str(path), "rb") as wav:
        params = wav.getparams()
        samples = array.array("h", wav.readframes(params.nframes))
    return params, samples


def test_synthesises_vietnamese_to_mono_16_bit_wav(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    synth: Synthesizer = EspeakSynthesizer()
    path = synth.synthesize(SENTENCE, tmp_path / "sentence.wav")
    params, samples = read_wav(path)
    assert path == tmp_path / "sentence.wav"
    assert (params.nchannels, params.sampwidth, params.framerate) == (1, 2, 22050)
    assert params.nframes / params.framerate > 0.5
    assert max(abs(s) for s in samples) > 1000  # not silence
    assert capsys.readouterr().out == ""  # pyttsx3's "Audio saved to …" is swallowed
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sentence.wav"]  # no temporary left


def test_lines_other_threads_print_meanwhile_reach_stdout(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Regression: silencing pyttsx3 by swapping sys.stdout swallowed the CLI's JSON lines.
    synth = EspeakSynthesizer()
    synth.synthesize("một", tmp_path / "warm.wav")
    capsys.readouterr()
    synthesising = threading.Event()
    printed: list[str] = []

    def chatter() -> None:
        while synthesising.is_set():
            printed.append(f"line {len(printed)}")
            print(printed[-1])
            time.sleep(0.0005)

    synthesising.set()
    printer = threading.Thread(target=chatter)
    printer.start()
    for index in range(3):
        synth.synthesize(SENTENCE, tmp_path / f"s{index}.wav")
    synthesising.clear()
    printer.join()
    assert len(printed) > 20, "the other thread printed while espeak-ng ran"
    assert capsys.readouterr().out.splitlines() == printed


def test_text_is_nfc_normalised_first(tmp_path: Path) -> None:
    synth = EspeakSynthesizer()
    nfc, _ = read_wav(synth.synthesize(SENTENCE, tmp_path / "nfc.wav"))
    nfd, _ = read_wav(synth.synthesize(unicodedata.normalize("NFD", SENTENCE), tmp_path / "nfd.wav"))
    # espeak-ng output jitters by a few frames; raw NFD input reads ~6 % longer.
    assert abs(nfd.nframes - nfc.nframes) < 0.02 * nfc.nframes


def test_replaces_an_existing_file(tmp_path: Path) -> None:
    target = tmp_path / "out.wav"
    target.write_bytes(b"old")
    EspeakSynthesizer().synthesize("một hai ba", target)
    assert target.read_bytes().startswith(b"RIFF")


def test_empty_text_is_a_synthesis_error(tmp_path: Path) -> None:
    with pytest.raises(SynthesisError, match="empty"):
        EspeakSynthesizer().synthesize("  ", tmp_path / "x.wav")
    assert not (tmp_path / "x.wav").exists()


def test_unknown_voice_falls_back_to_vietnamese_with_a_warning(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    synth = EspeakSynthesizer(voice="xx-no-such-voice")
    with caplog.at_level(logging.WARNING, logger="speech.synthesis"):
        params, _ = read_wav(synth.synthesize("xin chào", tmp_path / "x.wav"))
    assert params.nframes > 0
    assert "xx-no-such-voice" in caplog.text


def test_voice_can_be_named_by_id_or_name(tmp_path: Path) -> None:
    for voice in ("vi-vn-x-south", "aav/vi-vn-x-south", "Vietnamese (Southern)", "vi-vn-x-central"):
        params, _ = read_wav(EspeakSynthesizer(voice=voice, rate=160).synthesize("xin chào", tmp_path / "v.wav"))
        assert params.nframes > 0


def test_slower_rate_gives_longer_audio(tmp_path: Path) -> None:
    fast, _ = read_wav(EspeakSynthesizer(rate=260).synthesize(SENTENCE, tmp_path / "fast.wav"))
    slow, _ = read_wav(EspeakSynthesizer(rate=120).synthesize(SENTENCE, tmp_path / "slow.wav"))
    assert slow.nframes > 1.5 * fast.nframes


def test_threads_share_the_engine_safely(tmp_path: Path) -> None:
    synth = EspeakSynthesizer()
    failures: list[BaseException] = []

    def speak(i: int) -> None:
        try:
            synth.synthesize(f"số {i}", tmp_path / f"{i}.wav")
        except BaseException as exc:  # noqa: BLE001 (reported below)
            failures.append(exc)

    threads = [threading.Thread(target=speak, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []
    assert all(read_wav(tmp_path / f"{i}.wav")[0].nframes > 0 for i in range(6))


def test_a_stale_stop_request_does_not_empty_the_next_file(tmp_path: Path) -> None:
    """pyttsx3 2.99 can leave its espeak driver's _stopping flag set; the next run must still speak."""
    from speech import synthesis

    synth = EspeakSynthesizer()
    synth.synthesize("một", tmp_path / "warm.wav")
    synthesis._get_engine().proxy._driver._stopping = True
    params, _ = read_wav(synth.synthesize(SENTENCE, tmp_path / "after.wav"))
    assert params.nframes / params.framerate > 0.5
