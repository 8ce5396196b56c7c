"""Listening: one question's keys, utterances and timers, on the caller's audio clock."""

from __future__ import annotations

from ivr.actions import Listen
from ivr.events import DigitsPressed, NothingHeard, SpeechHeard
from ivr.listening import CHOICE_ENDPOINT_S, RECORD_ENDPOINT_S, Listening
from speech.recognition import Final, Word

FRAME = 0.02


def final(text: str, start: float = 1.0, end: float = 2.0, confidence: float = 0.8) -> Final:
    words = tuple(Word(w, start, end, confidence) for w in text.split())
    return Final(text, confidence, words, start, end)


def never_finish() -> Final | None:
    raise AssertionError("finish() must not be called here")


def run_quiet(listening: Listening, start: float, seconds: float, finish=never_finish):  # type: ignore[no-untyped-def]
    """Feed silent frames until an answer comes; (answer, time) or (None, end)."""
    now = start
    while now < start + seconds:
        now = round(now + FRAME, 6)
        answer = listening.tick(now, finish, quiet=True)
        if answer is not None:
            return answer, now
    return None, now


def test_no_input_fires_only_after_the_prompt_has_played_and_the_timeout() -> None:
    listening = Listening(Listen("keypad", timeout_s=5, max_digits=1, finish_on_key=None))
    assert run_quiet(listening, 0.0, 30.0)[0] is None, "no timer before the prompt has played"
    listening.start_timer(30.0)
    (event, detail), at = run_quiet(listening, 30.0, 10.0)
    assert event == NothingHeard() and detail == {} and abs(at - 35.0) < 1e-6


def test_speech_in_progress_holds_the_no_input_timer() -> None:
    listening = Listening(Listen("record", timeout_s=2))
    listening.start_timer(0.0)
    listening.speaking(1.9)
    answer, _ = run_quiet(listening, 1.9, 0.5, finish=lambda: None)
    assert answer is None, "the caller started speaking before the timeout"


def test_keys_fill_a_number_until_the_finish_key_or_the_inter_digit_timeout() -> None:
    listening = Listening(Listen("keypad", timeout_s=3, max_digits=8, finish_on_key="#"), digits_only=True)
    assert listening.key("4", 1.0, never_finish) is None
    assert listening.key("2", 1.5, never_finish) is None
    event, detail = listening.key("#", 2.0, never_finish) or (None, None)
    assert event == DigitsPressed("42") and detail == {"start_s": 2.0, "end_s": 2.0}

    waiting = Listening(Listen("keypad", timeout_s=3, max_digits=8, finish_on_key="#"))
    waiting.key("7", 1.0, never_finish)
    (event, _), at = run_quiet(waiting, 1.0, 5.0)
    assert event == DigitsPressed("7") and abs(at - 4.0) < 1e-6


def test_a_menu_key_answers_at_once() -> None:
    listening = Listening(Listen("keypad", max_digits=1, finish_on_key=None))
    assert listening.key("3", 0.5, never_finish) == (DigitsPressed("3"), {"start_s": 0.5, "end_s": 0.5})


def test_a_spoken_choice_answers_with_the_recognisers_final() -> None:
    listening = Listening(Listen("keypad", max_digits=1, finish_on_key=None, phrases=("có", "không")))
    listening.speaking(1.0)
    listening.add(final("có", 1.0, 1.4), 1.6)
    event, detail = listening.tick(1.62, never_finish) or (None, {})
    assert event == SpeechHeard("có", 0.8)
    assert detail["start_s"] == 1.0 and detail["end_s"] == 1.4 and detail["words"][0]["word"] == "có"


def test_silence_after_words_ends_a_choice_before_the_recogniser_does() -> None:
    listening = Listening(Listen("keypad", max_digits=1, finish_on_key=None, phrases=("có",)))
    listening.speaking(1.0)
    finished: list[bool] = []

    def finish() -> Final:
        finished.append(True)
        return final("có", 1.0, 1.3)

    (event, _), at = run_quiet(listening, 1.3, 2.0, finish)
    assert finished == [True] and event == SpeechHeard("có", 0.8)
    assert abs(at - (1.3 + FRAME + CHOICE_ENDPOINT_S)) < 1e-6


def test_a_free_answer_joins_utterances_until_a_long_enough_pause() -> None:
    listening = Listening(Listen("record", timeout_s=5))
    listening.start_timer(0.0)
    listening.speaking(0.5)
    listening.add(final("cống bị nghẹt", 0.5, 1.5), 1.6)
    assert run_quiet(listening, 1.6, RECORD_ENDPOINT_S - 0.1)[0] is None
    assert listening.tick(2.1, never_finish, quiet=False) is None  # the caller goes on
    listening.speaking(2.1)
    listening.add(final("nước ngập", 2.1, 3.0), 3.1)
    (event, detail), at = run_quiet(listening, 3.1, 2.0)
    assert event == SpeechHeard("cống bị nghẹt nước ngập", 0.8)
    assert detail["start_s"] == 0.5 and detail["end_s"] == 3.0 and len(detail["words"]) == 5
    assert abs(at - (3.1 + FRAME + RECORD_ENDPOINT_S)) < 1e-6


def test_the_finish_key_ends_a_free_answer_and_noise_alone_is_no_input() -> None:
    listening = Listening(Listen("record", timeout_s=5))
    listening.speaking(0.5)
    event, _ = listening.key("#", 1.0, lambda: final("đường ngập", 0.5, 0.9)) or (None, None)
    assert event == SpeechHeard("đường ngập", 0.8)

    noisy = Listening(Listen("record", timeout_s=5))
    noisy.speaking(0.5)
    assert noisy.key("#", 1.0, lambda: None) == (NothingHeard(), {})
    assert noisy.key("5", 1.2, never_finish) is None, "other keys do not end a free answer"


def test_endless_speech_is_cut_at_the_questions_limit() -> None:
    listening = Listening(Listen("record", timeout_s=5, max_seconds=3))
    listening.start_timer(0.0)
    listening.speaking(0.1)
    answer = None
    now = 0.1
    while answer is None and now < 10:
        now = round(now + FRAME, 6)
        answer = listening.tick(now, lambda at=now: final("nói mãi", 0.1, at), quiet=False)
    assert answer is not None and answer[0] == SpeechHeard("nói mãi", 0.8) and abs(now - 3.1) < 1e-6


def test_a_spoken_number_becomes_digits_and_other_words_stay_words() -> None:
    listening = Listening(Listen("keypad", max_digits=8, finish_on_key="#"), digits_only=True)
    listening.add(final("một hai ba"), 2.0)
    assert listening.answer(2.0)[0] == SpeechHeard("123", 0.8)
    words = Listening(Listen("keypad", max_digits=8, finish_on_key="#"), digits_only=True)
    words.add(final("tôi không nhớ"), 2.0)
    assert words.answer(2.0)[0] == SpeechHeard("tôi không nhớ", 0.8), "no number in it: the engine says no match"
