"""The run's summary: metrics.json and report.md (tables, settings, sizes, timings)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict
from typing import Any

from eval.answer_metrics import ANSWER_METRICS
from eval.compare import Comparison
from eval.metrics import DEPTH, RETRIEVAL_METRICS
from eval.plot import PLOT_FILE
from eval.runner import percentile
from eval.scoring import MEASURED, AnswerResult, Evaluation, ModeResult
from eval.significance import PERMUTATIONS

FILES = (
    "- `metrics.json`: everything above, machine-readable",
    "- `run.tsv`: TREC run, `qid Q0 docid rank score mode`, full depth per mode",
    "- `per_query.jsonl`: per query: relevant docs, top-10 ranking and metrics per mode, the answer",
)
ANSWERABLE = "answerable questions (answer in evidence where the set says)"
ANSWER_POPULATIONS = {
    "answer_hit": f"{ANSWERABLE}: a gold answer is in the answer's sentences",
    "answer_hit_first": f"{ANSWERABLE}: a gold answer is in the first sentence",
    "em": f"{ANSWERABLE}: SQuAD exact match of the short answer (none scores 0, as SQuAD counts it)",
    "f1": f"{ANSWERABLE}: SQuAD token F1 of the short answer (none scores 0)",
    "em_answered": "answerable questions given a short answer: SQuAD exact match",
    "f1_answered": "answerable questions given a short answer: SQuAD token F1",
    "short_answers": f"{ANSWERABLE}: share given a short answer",
    "citation_precision": "cited documents of judged questions: share relevant per qrels",
    "abstention_precision": "abstentions: share on unanswerable questions",
    "abstention_recall": "unanswerable questions: share abstained on",
    "abstention_rate": "all questions: share abstained on",
    "bad_citations": "citations whose offsets do not slice their sentence (must be 0)",
}


def _fmt(value: float | None, digits: int = 4) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def _table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    return lines + ["| " + " | ".join(row) + " |" for row in rows]


def _latency(latencies: Sequence[float]) -> dict[str, float | None]:
    return {"median": percentile(latencies, 50), "p95": percentile(latencies, 95)}


def retrieval_table(evaluation: Evaluation) -> list[str]:
    """The retrieval table: one row per mode, one column per metric."""
    header = ["mode", *RETRIEVAL_METRICS, "queries"]
    rows = [
        [m.run.mode, *(_fmt(m.summary[name]) for name in RETRIEVAL_METRICS), str(len(m.run.rankings))]
        for m in evaluation.modes
    ]
    return _table(header, rows)


def timing_table(evaluation: Evaluation) -> list[str]:
    """Seconds per phase (index, each mode, answers) with per-query latency."""
    index = evaluation.index
    rows = [["index", _fmt(index.seconds, 1), "reused from cache" if index.reused else "built", "—", "—"]]
    phases = [(m.run.mode, m.run.seconds, m.run.latencies_ms) for m in evaluation.modes]
    if evaluation.answers.run is not None:
        run = evaluation.answers.run
        phases.append(("ask", run.seconds, run.latencies_ms))
    for name, seconds, latencies in phases:
        latency = _latency(latencies)
        rows.append(
            [
                name,
                _fmt(seconds, 1),
                f"{len(latencies)} queries",
                _fmt(latency["median"], 1),
                _fmt(latency["p95"], 1),
            ]
        )
    rows.append(["total", _fmt(evaluation.wall_seconds, 1), "", "", ""])
    return _table(["phase", "seconds", "work", "median ms", "p95 ms"], rows)


def answer_table(evaluation: Evaluation) -> list[str]:
    """The answer metrics, one row each with the questions it is taken over, or why they are absent."""
    answers = evaluation.answers
    if answers.status != MEASURED or answers.run is None:
        return [answers.status]
    rows = [
        [name, str(int(value or 0)) if name == "bad_citations" else _fmt(value), ANSWER_POPULATIONS[name]]
        for name, value in ((n, answers.summary[n]) for n in ANSWER_METRICS)
    ]
    return [*_table(["metric", "value", "over"], rows), "", f"{len(answers.run.answers)} questions asked."]


def comparison_table(comparisons: Sequence[Comparison]) -> list[str]:
    """Per mode and metric: baseline, current, difference and paired randomisation p-value."""
    header = ["mode", "metric", "baseline", "current", "Δ", "p", "paired queries"]
    rows = [
        [
            c.mode,
            c.metric,
            _fmt(c.baseline),
            _fmt(c.current),
            _signed(c.delta),
            _fmt(c.p_value),
            str(c.paired),
        ]
        for c in comparisons
    ]
    return _table(header, rows)


def _signed(value: float | None) -> str:
    return "—" if value is None else f"{value:+.4f}"


def metrics_document(
    evaluation: Evaluation, comparisons: Sequence[Comparison], failures: Sequence[str]
) -> dict[str, Any]:
    """Everything in the report as one JSON-ready object (what --compare reads back)."""
    dataset, index = evaluation.dataset, evaluation.index
    return {
        "dataset": {
            "name": dataset.name,
            "path": str(dataset.root),
            "split": dataset.split,
            **dataset.sizes(),
        },
        "settings": dict(evaluation.settings),
        "index": {"folder": str(index.path), **{k: v for k, v in asdict(index).items() if k != "path"}},
        "queries_run": len(evaluation.queries),
        "judged_queries_run": len(evaluation.judged),
        "modes": {m.run.mode: _mode_document(m) for m in evaluation.modes},
        "answers": _answers_document(evaluation.answers),
        "comparison": [asdict(c) for c in comparisons],
        "failed_modes": dict(evaluation.failed_modes),
        "gate_failures": list(failures),
        "wall_seconds": evaluation.wall_seconds,
    }


def _mode_document(result: ModeResult) -> dict[str, Any]:
    return {
        "metrics": dict(result.summary),
        "queries": len(result.run.rankings),
        "seconds": result.run.seconds,
        "latency_ms": _latency(result.run.latencies_ms),
        "recall_at_k": list(result.curve),
    }


def _answers_document(answers: AnswerResult) -> dict[str, Any]:
    run = answers.run
    return {
        "status": answers.status,
        "metrics": dict(answers.summary),
        "questions": len(run.answers) if run else 0,
        "seconds": run.seconds if run else None,
        "latency_ms": _latency(run.latencies_ms) if run else None,
    }


def metrics_json(document: Mapping[str, Any]) -> str:
    """metrics.json's text."""
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def _settings_lines(evaluation: Evaluation) -> list[str]:
    index = evaluation.index
    built = "reused from cache" if index.reused else f"built in {index.seconds:.1f} s"
    lines = [f"- {key}: `{value}`" for key, value in evaluation.settings.items()]
    return [
        *lines,
        f"- index: `{index.path}` ({built}; {index.documents} documents, "
        f"{index.chunks} chunks, {index.sentences} sentences)",
    ]


def _section(title: str, body: Sequence[str]) -> list[str]:
    return [f"## {title}", "", *body, ""]


def markdown_report(
    evaluation: Evaluation, comparisons: Sequence[Comparison], failures: Sequence[str], baseline: str | None
) -> str:
    """report.md's text."""
    d = evaluation.dataset
    lines = [
        f"# Evaluation of {d.name} ({d.split} split)",
        "",
        f"Wall time {evaluation.wall_seconds:.1f} s (index and queries); {len(evaluation.queries)} queries "
        f"run, {len(evaluation.judged)} of them judged. Retrieval is scored per document (its best chunk), "
        f"depth {DEPTH}.",
        "",
        *_section("Retrieval", retrieval_table(evaluation)),
        *_section("Answers (engine.ask)", answer_table(evaluation)),
    ]
    if baseline is not None:
        note = (
            f"Two-sided paired randomisation test, {PERMUTATIONS:,} sign flips, seed 0; no correction for "
            "multiple comparisons. Answer ratios that are not per-question means have no p-value."
        )
        lines += _section(f"Compared with `{baseline}`", [note, "", *comparison_table(comparisons)])
    if evaluation.failed_modes:
        lines += _section("Failed modes", [f"- {m}: {e}" for m, e in evaluation.failed_modes.items()])
    if failures:
        lines += _section("Gate failures", [f"- {f}" for f in failures])
    sizes = d.sizes()
    lines += _section("Dataset", _table(list(sizes), [[str(v) for v in sizes.values()]]))
    lines += _section("Settings", _settings_lines(evaluation))
    lines += _section("Timings", timing_table(evaluation))
    lines += _section("Recall@k", [f"![recall@k]({PLOT_FILE})"])
    lines += _section("Files", FILES)
    return "\n".join(lines)
