"""The trained reader: its file is checked at load, it reads windows, and finds the span that answers."""

from __future__ import annotations

import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from rag.compose.reader import CARD_FILE, MODEL_FILE, Reader, shared_reader
from rag.compose.reader_input import window_around, window_budget
from rag.errors import ModelNotFoundError


@pytest.fixture(scope="session")
def reader() -> Reader:
    """The shipped reader, loaded once."""
    return shared_reader()


def test_a_missing_reader_file_is_one_error_naming_the_fix(tmp_path: Path, reader: Reader) -> None:
    with pytest.raises(ModelNotFoundError, match=r"missing: reinstall newsrag, or rebuild it with") as caught:
        Reader(reader.tokenizer, model=tmp_path / "reader-int8.onnx", card=CARD_FILE)
    assert "\n" not in str(caught.value)


def test_a_damaged_reader_file_is_refused_before_it_is_run(tmp_path: Path, reader: Reader) -> None:
    damaged = tmp_path / "reader-int8.onnx"
    shutil.copyfile(MODEL_FILE, damaged)
    with damaged.open("r+b") as handle:
        handle.seek(damaged.stat().st_size // 2)
        byte = handle.read(1)
        handle.seek(-1, 1)
        handle.write(bytes([byte[0] ^ 0xFF]))
    with pytest.raises(ModelNotFoundError, match=r"is damaged \(sha256 .*its card says"):
        Reader(reader.tokenizer, model=damaged, card=CARD_FILE)


def test_the_reader_finds_the_answer_and_knows_a_window_without_one(reader: Reader) -> None:
    question = "Who won the 2020 Nobel Prize in Chemistry?"
    answering = "The 2020 Nobel Prize in Chemistry went to Emmanuelle Charpentier and Jennifer Doudna."
    unrelated = "Wheat prices fell sharply in Chicago trading on Tuesday."
    found, nothing = reader.read(question, [answering, unrelated])
    assert "Emmanuelle Charpentier" in answering[found.start : found.end]
    assert found.answerable > 0 > nothing.answerable
    assert found.span_margin > nothing.span_margin


def test_a_reading_s_offsets_slice_its_window(reader: Reader) -> None:
    windows = [
        "  Germany will send  Patriot units to Poland in January 2025. ",
        "Kyiv — Zelensky met Scholz.",
    ]
    for window, reading in zip(
        windows, reader.read("When will Germany send Patriot units?", windows), strict=True
    ):
        assert 0 <= reading.start <= reading.end <= len(window)
    first = reader.read("When will Germany send Patriot units?", windows[:1])[0]
    assert windows[0][first.start : first.end].strip() in {"January 2025", "in January 2025"}


def test_a_window_takes_the_sentence_before_first_then_the_one_after_within_the_budget() -> None:
    spans = [(0, 10), (11, 20), (21, 30), (31, 40)]
    both = window_around(1, spans, [5, 5, 5, 5], budget=15)
    assert (both.first, both.last, both.start, both.end) == (0, 2, 0, 30)
    before = window_around(1, spans, [5, 5, 5, 5], budget=10)
    assert (before.first, before.last) == (0, 1)
    alone = window_around(1, spans, [5, 50, 5, 5], budget=10)  # the centre always is in, even too long
    assert (alone.first, alone.last, alone.start, alone.end) == (1, 1, 11, 20)
    first = window_around(0, spans, [5, 5, 5, 5], budget=100)
    assert (first.first, first.last) == (0, 1)


def test_a_long_question_leaves_the_window_a_floor_of_tokens() -> None:
    assert window_budget(10) == 128 - 3 - 10
    assert window_budget(500) == window_budget(40)  # the question is cut at 40 tokens


def test_readers_in_many_threads_get_what_one_thread_gets(reader: Reader) -> None:
    # The API answers in a thread pool; the tokenizer's padding state once leaked across threads.
    jobs = [
        ("Who won?", ["Brazil beat Argentina 2-0 in the final.", "Rain fell."]),
        ("When will Germany send Patriot units?", ["Germany will send Patriot units in January 2025. " * 3]),
        (
            "What rose?",
            ["Prices rose.", "The bank said inflation remained too high in the euro area.", "No."],
        ),
    ]
    expected = [reader.read(q, w) for q, w in jobs]
    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(lambda i: reader.read(*jobs[i % 3]), range(60)))
    assert all(result == expected[i % 3] for i, result in enumerate(results))
