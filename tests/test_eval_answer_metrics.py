"""Answer metrics: SQuAD normalisation, EM/F1, hits, citations and abstention on hand-made Answers."""

from __future__ import annotations

from pathlib import Path

import pytest

from eval.answer_metrics import (
    ANSWER_METRICS,
    contains_answer,
    exact_match,
    f1,
    normalize_answer,
    score_answer,
    token_f1,
)
from eval.datasets import AnswerKey, Dataset
from eval.harness import Plan, evaluate
from eval.index_cache import IndexInfo
from eval.scoring import MEASURED
from rag.types import Answer, AnswerSentence, Citation, Document, ShortAnswer

TEXTS = {
    "d1": "Paris is the capital of France. It is on the Seine.",
    "d2": "The Eiffel Tower opened in 1889. It is 330 metres tall.",
    "d3": "The tower is tall. Many visit it.",
}


def test_normalisation_follows_the_squad_scorer() -> None:
    assert normalize_answer("The  Quick, Brown fox!") == "quick brown fox"
    assert normalize_answer("An apple a day") == "apple day"
    assert normalize_answer("Theatre") == "theatre"  # articles only as whole words
    assert normalize_answer("") == ""


def test_exact_match_and_f1() -> None:
    assert exact_match("the Eiffel Tower", ["Eiffel Tower."]) == 1.0
    assert exact_match("Eiffel", ["Eiffel Tower"]) == 0.0
    assert exact_match("x", []) == 0.0
    assert token_f1("Paris France", "Paris") == pytest.approx(2 / 3)  # P 1/2, R 1
    assert token_f1("10th century", "10th and 11th centuries") == pytest.approx(1 / 3)  # P 1/2, R 1/4
    assert token_f1("the", "a") == 1.0  # both normalise to nothing, as in the official scorer
    assert (
        f1("in the 10th and 11th centuries", ["10th and 11th centuries", "in the 10th and 11th centuries"])
        == 1.0
    )
    assert f1("nothing shared", ["Paris"]) == 0.0


def test_contains_answer_matches_whole_tokens() -> None:
    assert contains_answer("It opened in 1889.", ["1889"])
    assert contains_answer("The Normans came from Normandy", ["the Normans"])
    assert not contains_answer("It cost 100 dollars", ["10"])
    assert not contains_answer("anything", [""])
    assert not contains_answer("anything", [])


def test_a_hit_reads_through_possessives_and_unicode_punctuation() -> None:
    assert contains_answer("Latvia’s assertion that NATO members are waiting", ["Latvia"])
    assert contains_answer("the Normans' land", ["Normans"])
    assert contains_answer("a convenient scapegoat for inaction—allowing them", ["scapegoat for inaction"])
    assert contains_answer("U.S. troops", ["US"]) and contains_answer("It cost 1,000", ["1000"])
    assert contains_answer("Ukraine’s president", ["Ukraine's president"])
    assert not contains_answer("Latvian officials", ["Latvia"])
    assert not contains_answer("they don’t", ["don"])
    assert not contains_answer("Spain won the final 3-2", ["2"]) and not contains_answer(
        "an anti-war rally", ["war"]
    )
    assert not contains_answer("the 2020–21 season", ["21"])
    assert contains_answer("the F-16 jets", ["F-16"]) and contains_answer("the 2020–21 season", ["2020-21"])


def _cite(doc_id: str, sentence: str, start: int | None = None) -> Citation:
    begin = TEXTS[doc_id].index(sentence) if start is None else start
    return Citation(number=1, doc_id=doc_id, start=begin, end=begin + len(sentence))


def _answer(question: str, sentences: list[tuple[str, str, int | None]], short: str | None = None) -> Answer:
    parts = tuple(
        AnswerSentence(text, (_cite(doc_id, text, start),), 1.0) for text, doc_id, start in sentences
    )
    return Answer(
        question=question,
        query=question,
        text=" ".join(s.text for s in parts),
        sentences=parts,
        sources=(),
        abstained=not parts,
        confidence=0.9 if parts else 0.1,
        short_answer=ShortAnswer(short, parts[0].citations[0].doc_id, 0, len(short), 1.0) if short else None,
    )


ANSWERS = {
    # right sentence first, correct offsets, exact short answer
    "a1": _answer("Capital of France?", [("Paris is the capital of France.", "d1", None)], "Paris"),
    # hit only in the second sentence; first cites an irrelevant doc; second's offsets are off by one
    "a2": _answer(
        "When did the Eiffel Tower open?",
        [("The tower is tall.", "d3", None), ("The Eiffel Tower opened in 1889.", "d2", 1)],
        "in 1889",
    ),
    "a3": _answer("What colour is it?", []),  # wrong abstention
    "u1": _answer("Who is the mayor?", []),  # right abstention
    "u2": _answer("Who designed the Seine?", [("It is on the Seine.", "d1", None)]),  # should have abstained
    "r1": _answer("Not in the evidence?", [("It is 330 metres tall.", "d2", None)], "330 metres"),
}
KEYS = {
    "a1": AnswerKey(("Paris",), is_impossible=False),
    "a2": AnswerKey(("1889",), is_impossible=False),
    "a3": AnswerKey(("blue",), is_impossible=False),
    "u1": AnswerKey((), is_impossible=True),
    "u2": AnswerKey((), is_impossible=True),
    "r1": AnswerKey(("330 metres",), is_impossible=False, answer_in_evidence=False),
}
QRELS = {"a1": {"d1": 1}, "a2": {"d2": 1}, "a3": {"d1": 1}, "r1": {"d2": 1}}


class FakeEngine:
    """Returns the hand-made answers: the one place a fake is right, since only arithmetic is tested."""

    def ask(self, question: str, filters: object = None, history: object = None) -> Answer:
        return next(a for a in ANSWERS.values() if a.question == question)

    def document(self, doc_id: str) -> Document | None:
        return Document(doc_id, TEXTS[doc_id]) if doc_id in TEXTS else None


def _dataset(answers: dict[str, AnswerKey]) -> Dataset:
    return Dataset(
        name="hand",
        root=Path("."),
        split="test",
        corpus_path=Path("corpus.jsonl"),
        documents=tuple(Document(d, t) for d, t in TEXTS.items()),
        queries={qid: a.question for qid, a in ANSWERS.items()},
        qrels=QRELS,
        answers=answers,
    )


INDEX = IndexInfo(Path("."), "hand", reused=True, seconds=0.0, documents=3, chunks=3, sentences=6)


def test_summary_over_hand_made_answers() -> None:
    evaluation = evaluate(_dataset(KEYS), FakeEngine(), INDEX, Plan(tuple(ANSWERS), modes=()))  # type: ignore[arg-type]
    assert evaluation.answers.status == MEASURED
    summary = evaluation.answers.summary
    assert list(summary) == list(ANSWER_METRICS)
    assert summary["answer_hit"] == pytest.approx(2 / 3)  # a1, a2 hit; a3 abstained; r1 not in evidence
    assert summary["answer_hit_first"] == pytest.approx(1 / 3)  # only a1 in the first sentence
    assert summary["em"] == pytest.approx(1 / 3)  # over a1, a2, a3: a1 exact, a2 "in 1889", a3 none
    assert summary["f1"] == pytest.approx((1 + 2 / 3 + 0) / 3)
    assert summary["em_answered"] == pytest.approx(1 / 2)  # over a1, a2: those given a short answer
    assert summary["f1_answered"] == pytest.approx((1 + 2 / 3) / 2)
    assert summary["short_answers"] == pytest.approx(2 / 3)
    assert summary["citation_precision"] == pytest.approx(3 / 4)  # cited d1; d3, d2; d2: 3 relevant of 4
    assert summary["abstention_precision"] == pytest.approx(1 / 2)  # abstained on u1 (right), a3 (wrong)
    assert summary["abstention_recall"] == pytest.approx(1 / 2)  # u1 yes, u2 no
    assert summary["abstention_rate"] == pytest.approx(2 / 6)
    assert summary["bad_citations"] == 1.0  # a2's second sentence


def test_citation_precision_is_micro_averaged() -> None:
    outcome = score_answer(ANSWERS["a2"], KEYS["a2"], QRELS["a2"], lambda d: TEXTS.get(d))
    assert outcome.cited == ("d3", "d2")
    assert outcome.cited_relevant == 1
    assert outcome.bad_citations == 1
    missing = score_answer(ANSWERS["a1"], KEYS["a1"], QRELS["a1"], lambda d: None)
    assert missing.bad_citations == 1  # a citation of a document that is not stored


def test_answer_metrics_are_absent_without_ask_or_answers() -> None:
    class NoAsk:
        pass

    without_ask = evaluate(_dataset(KEYS), NoAsk(), INDEX, Plan(tuple(ANSWERS), modes=()))  # type: ignore[arg-type]
    assert without_ask.answers.status == "absent: this engine has no ask()"
    assert without_ask.answers.summary == {}
    no_keys = evaluate(_dataset({}), FakeEngine(), INDEX, Plan(("a1",), modes=()))  # type: ignore[arg-type]
    assert no_keys.answers.status == "absent: the dataset has no answers.jsonl"


def test_empty_populations_are_none() -> None:
    only_impossible = {"u1": KEYS["u1"]}
    evaluation = evaluate(_dataset(only_impossible), FakeEngine(), INDEX, Plan(("u1",), modes=()))  # type: ignore[arg-type]
    summary = evaluation.answers.summary
    assert summary["answer_hit"] is None and summary["em"] is None and summary["citation_precision"] is None
    assert summary["abstention_recall"] == 1.0
