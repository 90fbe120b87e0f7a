"""One evaluation end to end: run every mode and the answers, score them, write the run folder."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from eval.compare import Comparison
from eval.datasets import AnswerKey, Dataset
from eval.index_cache import IndexInfo
from eval.outputs import METRICS_FILE, REPORT_FILE, write_atomic, write_run_files
from eval.plot import PLOT_FILE, plot_recall_curves
from eval.report import markdown_report, metrics_document, metrics_json
from eval.runner import Asker, Searcher, ask_all, run_mode
from eval.scoring import (
    MEASURED,
    AnswerResult,
    Evaluation,
    answer_status,
    score_answers,
    score_mode,
    select_answered,
    select_judged,
)
from rag.compose.followup import resolve_query
from rag.errors import InvalidRequestError, NewsragError
from rag.types import Filters, Turn

NO_KEY = AnswerKey(())

Tick = Callable[[int], None]
ProgressFactory = Callable[[str, int], AbstractContextManager[Tick]]


@contextmanager
def no_progress(label: str, total: int) -> Iterator[Tick]:
    """A progress reporter that reports nothing."""
    yield lambda n: None


@dataclass(frozen=True)
class Plan:
    """What to run: the query ids (file order), the retrieval modes, and the settings to report."""

    qids: tuple[str, ...]
    modes: tuple[str, ...]
    settings: Mapping[str, object] = field(default_factory=dict)
    as_asked: bool = False  # search and ask each question as of its date: later documents are hidden


def evaluate(
    dataset: Dataset,
    engine: Searcher,
    index: IndexInfo,
    plan: Plan,
    progress: ProgressFactory = no_progress,
) -> Evaluation:
    """Run every mode over the judged queries and ask() over the answer-keyed ones; score both."""
    started = time.perf_counter()
    judged = select_judged(dataset, plan.qids)
    # A follow-up is searched as the service resolves it against its conversation.
    searched = {
        qid: resolve_query(text, [Turn(q) for q in dataset.histories.get(qid, ())])
        for qid, text in judged.items()
    }
    filters = as_of_filters(dataset, plan.qids) if plan.as_asked else None
    results, failed = [], {}
    for mode in plan.modes:
        try:
            with progress(mode, len(judged)) as tick:
                run = run_mode(engine, searched, mode, progress=tick, filters=filters)
        except NewsragError as exc:  # one broken mode must not cost the others' results
            failed[mode] = str(exc)
            continue
        results.append(score_mode(run, dataset, list(judged)))
    answers = AnswerResult(answer_status(dataset, engine))
    if answers.status == MEASURED and isinstance(engine, Asker):
        answered = select_answered(dataset, plan.qids)
        with progress("ask", len(answered)) as tick:
            answer_run = ask_all(
                engine, answered, progress=tick, filters=filters, histories=dataset.histories
            )
        answers = score_answers(answer_run, dataset, engine)
    return Evaluation(
        dataset=dataset,
        settings=plan.settings,
        index=index,
        queries=plan.qids,
        judged=tuple(judged),
        modes=tuple(results),
        answers=answers,
        wall_seconds=time.perf_counter() - started + index.seconds,
        failed_modes=failed,
    )


def as_of_filters(dataset: Dataset, qids: Sequence[str]) -> dict[str, Filters]:
    """Each question's filter to what was published by the time it was asked (its answers.jsonl date).

    A live service answers from the news published so far; a dataset indexed whole would otherwise
    offer a question stories written years after it was asked.
    """
    undated = [qid for qid in qids if dataset.answers.get(qid, NO_KEY).asked is None]
    if undated:
        raise InvalidRequestError(
            f"{len(undated)} of {len(qids)} questions have no date in answers.jsonl (first: {undated[0]}); "
            "as-asked runs need each question's date"
        )
    return {qid: Filters(published_to=dataset.answers[qid].asked) for qid in qids}


def write_outputs(
    evaluation: Evaluation,
    folder: Path,
    comparisons: Sequence[Comparison] = (),
    failures: Sequence[str] = (),
    baseline: str | None = None,
) -> list[Path]:
    """Write report.md, metrics.json, run.tsv, per_query.jsonl and recall_at_k.png into folder."""
    try:
        return _write_all(evaluation, folder, comparisons, failures, baseline)
    except OSError as exc:
        raise InvalidRequestError(f"cannot write the run folder {folder}: {exc.strerror or exc}") from None


def _write_all(
    evaluation: Evaluation,
    folder: Path,
    comparisons: Sequence[Comparison],
    failures: Sequence[str],
    baseline: str | None,
) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    written = write_run_files(evaluation, folder)
    document = metrics_document(evaluation, comparisons, failures)
    write_atomic(folder / METRICS_FILE, [metrics_json(document)])
    write_atomic(folder / REPORT_FILE, [markdown_report(evaluation, comparisons, failures, baseline)])
    curves = {m.run.mode: m.curve for m in evaluation.modes}
    dataset = evaluation.dataset
    title = f"Recall@k on {dataset.name} ({dataset.split} split, {len(evaluation.judged)} queries)"
    plot = plot_recall_curves(curves, title, folder / PLOT_FILE)
    return [folder / REPORT_FILE, folder / METRICS_FILE, *written, plot]
