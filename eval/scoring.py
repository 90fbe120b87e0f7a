"""Score runs into results: per-query and mean retrieval metrics per mode, answer metrics."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from eval.answer_metrics import AnswerOutcome, score_answer, summarize_answers
from eval.datasets import Dataset
from eval.index_cache import IndexInfo
from eval.metrics import mean, recall_curve, score_queries
from eval.runner import AnswerRun, Asker, ModeRun

MEASURED = "measured"


@dataclass(frozen=True)
class ModeResult:
    """One mode's run with its metrics: metric -> qid -> value, the means, and mean recall@1..100."""

    run: ModeRun
    per_query: Mapping[str, Mapping[str, float]]
    summary: Mapping[str, float | None]
    curve: tuple[float, ...]


@dataclass(frozen=True)
class AnswerResult:
    """Answer metrics, or why they are absent (status is MEASURED or a reason)."""

    status: str
    run: AnswerRun | None = None
    outcomes: Mapping[str, AnswerOutcome] = field(default_factory=dict)
    summary: Mapping[str, float | None] = field(default_factory=dict)


@dataclass(frozen=True)
class Evaluation:
    """Everything one harness run measured, ready for the report writers."""

    dataset: Dataset
    settings: Mapping[str, object]
    index: IndexInfo
    queries: tuple[str, ...]  # every query id run, in file order
    judged: tuple[str, ...]  # the ones scored for retrieval
    modes: tuple[ModeResult, ...]
    answers: AnswerResult
    wall_seconds: float
    failed_modes: Mapping[str, str] = field(default_factory=dict)  # mode -> error message


def score_mode(run: ModeRun, dataset: Dataset, judged: Sequence[str]) -> ModeResult:
    """Metrics of one mode over the judged queries."""
    rankings = run.doc_ids()
    qrels = {qid: dataset.relevant(qid) for qid in judged}
    per_query = score_queries(rankings, qrels, judged)
    summary = {name: mean([values[qid] for qid in judged]) for name, values in per_query.items()}
    return ModeResult(run, per_query, summary, tuple(recall_curve(rankings, qrels, judged)))


def score_answers(run: AnswerRun, dataset: Dataset, engine: Asker) -> AnswerResult:
    """Answer metrics over every asked question, checking citations against stored texts."""
    texts: dict[str, str | None] = {}

    def document_text(doc_id: str) -> str | None:
        if doc_id not in texts:
            document = engine.document(doc_id)
            texts[doc_id] = document.text if document is not None else None
        return texts[doc_id]

    outcomes = {
        qid: score_answer(answer, dataset.answers[qid], dataset.relevant(qid) or None, document_text)
        for qid, answer in run.answers.items()
    }
    return AnswerResult(MEASURED, run, outcomes, summarize_answers(list(outcomes.values())))


def answer_status(dataset: Dataset, engine: object) -> str:
    """MEASURED when answers can be scored, else the reason they are absent."""
    if not dataset.answers:
        return "absent: the dataset has no answers.jsonl"
    if not hasattr(engine, "ask"):
        return "absent: this engine has no ask()"
    return MEASURED


def select_answered(dataset: Dataset, qids: Sequence[str]) -> dict[str, str]:
    """The queries among qids that have an answer key, with their texts."""
    return {qid: dataset.queries[qid] for qid in qids if qid in dataset.answers}


def select_judged(dataset: Dataset, qids: Sequence[str]) -> dict[str, str]:
    """The queries among qids that have relevant documents, with their texts."""
    return {qid: dataset.queries[qid] for qid in qids if dataset.is_judged(qid)}
