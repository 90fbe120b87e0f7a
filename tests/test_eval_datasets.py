"""BEIR loading: field mapping, dates, qrels, answers, query selection, and one-line errors."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from eval.datasets import AnswerKey, load_dataset, select_queries
from rag.errors import CorpusFormatError, InvalidRequestError

SHARED = Path("/work/shared/datasets")


def _write(
    folder: Path, corpus: list[dict[str, Any]], qrels: str, answers: list[dict[str, Any]] | None
) -> Path:
    (folder / "qrels").mkdir(parents=True)
    (folder / "corpus.jsonl").write_text("".join(json.dumps(r) + "\n" for r in corpus), encoding="utf-8")
    queries = [{"_id": f"q{i}", "text": f"question {i}"} for i in range(1, 6)]
    (folder / "queries.jsonl").write_text("".join(json.dumps(q) + "\n" for q in queries), encoding="utf-8")
    (folder / "qrels" / "test.tsv").write_text(qrels, encoding="utf-8")
    if answers is not None:
        (folder / "answers.jsonl").write_text(
            "".join(json.dumps(a) + "\n" for a in answers), encoding="utf-8"
        )
    return folder


CORPUS: list[dict[str, Any]] = [
    {
        "_id": "a",
        "title": "",
        "text": "Alpha.",
        "metadata": {"source": "CNN", "date": "2020/01/03", "url": "u"},
    },
    {"_id": 7, "title": "Seven", "text": "Seven.", "metadata": {"date": "2026-07-09", "lang": "en"}},
]
QRELS = "query-id\tcorpus-id\tscore\nq1\ta\t1\nq2\t7\t2\nq2\ta\t0\nq3\ta\t0\n"
ANSWERS: list[dict[str, Any]] = [
    {"_id": "q4", "answers": [], "is_impossible": True},
    {"_id": "q1", "answers": ["Alpha", ""]},
]


def test_documents_take_metadata_fields(tmp_path: Path) -> None:
    dataset = load_dataset(_write(tmp_path / "set", CORPUS, QRELS, ANSWERS))
    first, second = dataset.documents
    assert (first.doc_id, first.title, first.text, first.source, first.url) == (
        "a",
        None,
        "Alpha.",
        "CNN",
        "u",
    )
    assert first.published_at == datetime(2020, 1, 3, tzinfo=UTC)
    assert (second.doc_id, second.title, second.metadata) == ("7", "Seven", {"lang": "en"})
    assert second.published_at == datetime(2026, 7, 9, tzinfo=UTC)


def test_qrels_answers_and_sizes(tmp_path: Path) -> None:
    dataset = load_dataset(_write(tmp_path / "set", CORPUS, QRELS, ANSWERS))
    assert dataset.name == "set"
    assert dataset.relevant("q2") == {"7": 2}
    assert [dataset.is_judged(q) for q in ("q1", "q2", "q3", "q4")] == [True, True, False, False]
    assert dataset.answers["q4"] == AnswerKey((), is_impossible=True)
    assert dataset.answers["q1"] == AnswerKey(("Alpha",))  # blank golds dropped, flags unknown
    assert dataset.sizes() == {
        "documents": 2,
        "queries": 5,
        "judged_queries": 2,
        "qrels_lines": 4,
        "answer_records": 2,
        "unanswerable": 1,
    }


def test_a_question_date_means_the_end_of_that_day(tmp_path: Path) -> None:
    answers = [
        {"_id": "q1", "answers": ["Alpha"], "date": "2020/01/03"},
        {"_id": "q2", "answers": ["Seven"], "date": "2026-07-09T08:30:00Z"},
    ]
    dataset = load_dataset(_write(tmp_path / "set", CORPUS, QRELS, answers))
    assert dataset.answers["q1"].asked == datetime(2020, 1, 3, 23, 59, 59, 999999, tzinfo=UTC)
    assert dataset.answers["q2"].asked == datetime(2026, 7, 9, 8, 30, tzinfo=UTC)


def test_query_selection_keeps_useful_queries_in_file_order(tmp_path: Path) -> None:
    dataset = load_dataset(_write(tmp_path / "set", CORPUS, QRELS, ANSWERS))
    assert select_queries(dataset) == ["q1", "q2", "q4"]  # q3 (only a 0 grade) and q5 are unused
    assert select_queries(dataset, limit=2) == ["q1", "q2"]
    sample = select_queries(dataset, sample=2, seed=3)
    assert len(sample) == 2 and sample == select_queries(dataset, sample=2, seed=3)
    assert sample == sorted(sample, key=["q1", "q2", "q4"].index)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda f: (f / "corpus.jsonl").unlink(), "the corpus file is missing"),
        (
            lambda f: (f / "corpus.jsonl").write_text('{"_id": "a", "text": "x"}\n{oops\n'),
            "corpus.jsonl:2: malformed",
        ),
        (lambda f: (f / "corpus.jsonl").write_text('{"_id": "a"}\n'), "corpus.jsonl:1: field 'text'"),
        (
            lambda f: (f / "corpus.jsonl").write_text(
                '{"_id": "a", "text": "x", "metadata": {"date": "soon"}}\n'
            ),
            "corpus.jsonl:1: 'published_at' value 'soon'",
        ),
        (
            lambda f: (f / "corpus.jsonl").write_text(
                '{"_id": "a", "text": "x"}\n{"_id": "a", "text": "y"}\n'
            ),
            "duplicate document id 'a'",
        ),
        (lambda f: (f / "qrels" / "test.tsv").write_text("q1\ta\n"), "test.tsv:1: expected"),
        (lambda f: (f / "qrels" / "test.tsv").write_text("q1\ta\thigh\n"), "score 'high' is not an integer"),
        (
            lambda f: (f / "answers.jsonl").write_text('{"_id": "q1", "answers": "x"}\n'),
            "'answers' must be a list",
        ),
        (
            lambda f: (f / "answers.jsonl").write_text(
                '{"_id": "q1", "answers": ["x"], "date": "last week"}\n'
            ),
            "answers.jsonl:1: 'date' value 'last week'",
        ),
        (lambda f: (f / "qrels" / "test.tsv").unlink(), "qrels of split 'test' file is missing"),
        (
            lambda f: (f / "queries.jsonl").write_text('{"_id": "q1", "text": "Who?", "history": "Why?"}\n'),
            "queries.jsonl:1: field 'history' must be a list",
        ),
    ],
)
def test_bad_input_names_file_and_line(tmp_path: Path, change: Any, message: str) -> None:
    folder = _write(tmp_path / "set", CORPUS, QRELS, ANSWERS)
    change(folder)
    with pytest.raises(CorpusFormatError, match=message.replace("(", r"\(")):
        load_dataset(folder)


def test_a_follow_up_query_keeps_the_questions_before_it(tmp_path: Path) -> None:
    folder = _write(tmp_path / "set", CORPUS, QRELS, ANSWERS)
    first = "When will Germany deploy Patriot units?"
    rows = [{"_id": "q1", "text": first}, {"_id": "q2", "text": "Who announced it?", "history": [first]}]
    (folder / "queries.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    dataset = load_dataset(folder)
    assert dataset.histories == {"q2": (first,)}
    assert dataset.queries["q2"] == "Who announced it?"


def test_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(InvalidRequestError, match="does not exist"):
        load_dataset(tmp_path / "nowhere")


@pytest.mark.skipif(not SHARED.is_dir(), reason="the shared datasets are not on this machine")
def test_shared_sets_load_with_their_documented_sizes() -> None:
    sizes = {
        name: load_dataset(SHARED / name).sizes() for name in ("scifact", "squad-v2.0-dev", "realtimeqa-news")
    }
    assert (sizes["scifact"]["documents"], sizes["scifact"]["queries"]) == (5183, 300)
    assert (sizes["squad-v2.0-dev"]["documents"], sizes["squad-v2.0-dev"]["unanswerable"]) == (1204, 5945)
    assert (sizes["realtimeqa-news"]["documents"], sizes["realtimeqa-news"]["queries"]) == (5018, 2978)
