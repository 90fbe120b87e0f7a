"""Compare a run with a baseline run folder: per mode and metric, the difference and a p-value."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eval.answer_metrics import PAIRED_ANSWER_METRICS, paired_values
from eval.outputs import METRICS_FILE, PER_QUERY_FILE
from eval.scoring import MEASURED, Evaluation
from eval.significance import paired_randomization_test
from rag.errors import InvalidRequestError

ANSWERS = "answers"  # the pseudo-mode under which answer metrics are compared

# Settings under which two runs' scores are comparable: a difference in any is reported.
COMPARABLE_SETTINGS = (
    "split",
    "queries file",
    "limit",
    "sample",
    "seed",
    "ids from",
    "as asked",
    "model",
    "chunking",
)

# mode -> metric -> value, and mode -> metric -> qid -> value
Summaries = dict[str, dict[str, float | None]]
PerQuery = dict[str, dict[str, dict[str, float]]]


@dataclass(frozen=True)
class Comparison:
    """One metric of one mode against the baseline; p_value is None when scores cannot be paired."""

    mode: str
    metric: str
    baseline: float | None
    current: float | None
    delta: float | None
    p_value: float | None
    paired: int  # queries scored in both runs


@dataclass(frozen=True)
class Baseline:
    """An earlier run read back: its summaries, per-query scores and the settings it ran with."""

    summaries: Summaries
    per_query: PerQuery
    settings: Mapping[str, object]


def load_baseline(folder: Path) -> Baseline:
    """The summaries, per-query scores and settings stored in a run folder written by this harness."""
    metrics_path, per_query_path = Path(folder) / METRICS_FILE, Path(folder) / PER_QUERY_FILE
    if not metrics_path.is_file() or not per_query_path.is_file():
        raise InvalidRequestError(
            f"{folder} is not an eval run folder: it needs {METRICS_FILE} and {PER_QUERY_FILE} "
            "(pass a folder written by newsrag eval --out)"
        )
    try:
        stored = json.loads(metrics_path.read_text(encoding="utf-8"))
        summaries: Summaries = {mode: dict(body["metrics"]) for mode, body in stored["modes"].items()}
        summaries[ANSWERS] = dict(stored.get("answers", {}).get("metrics", {}))
        settings = dict(stored.get("settings") or {})
        per_query: PerQuery = {}
        with per_query_path.open(encoding="utf-8") as handle:
            for line in handle:
                _collect(json.loads(line), per_query)
    except (json.JSONDecodeError, KeyError, TypeError, AttributeError) as exc:
        raise InvalidRequestError(f"cannot read the baseline run in {folder}: {exc!r}") from None
    return Baseline(summaries, per_query, settings)


def setting_differences(stored: Mapping[str, object], settings: Mapping[str, object]) -> list[str]:
    """The settings that change what scores mean (dataset, as asked, ids, sample, model...) where
    the baseline's (stored) differ from this run's, one line each; none when it stored no settings."""
    if not stored:
        return []
    differences = [
        f"{key}: baseline {_shown(stored.get(key))}, this run {_shown(settings.get(key))}"
        for key in COMPARABLE_SETTINGS
        if stored.get(key) != settings.get(key)
    ]
    theirs, mine = (Path(str(s.get("dataset") or "")).name for s in (stored, settings))
    if theirs != mine:
        differences.insert(0, f"dataset: baseline {theirs!r}, this run {mine!r}")
    return differences


def _shown(value: object) -> str:
    return "not set" if value is None else repr(value)


def _collect(record: dict[str, Any], per_query: PerQuery) -> None:
    qid = record["qid"]
    for mode, body in record.get("retrieval", {}).items():
        for metric, value in body["metrics"].items():
            per_query.setdefault(mode, {}).setdefault(metric, {})[qid] = value
    answer = record.get("answer") or {}
    for metric, value in (answer.get("metrics") or {}).items():
        if value is not None:
            per_query.setdefault(ANSWERS, {}).setdefault(metric, {})[qid] = value


def current_scores(evaluation: Evaluation) -> tuple[Summaries, PerQuery]:
    """The evaluation's summaries and per-query scores, shaped like load_baseline's."""
    summaries: Summaries = {m.run.mode: dict(m.summary) for m in evaluation.modes}
    per_query: PerQuery = {m.run.mode: {k: dict(v) for k, v in m.per_query.items()} for m in evaluation.modes}
    if evaluation.answers.status == MEASURED:
        summaries[ANSWERS] = dict(evaluation.answers.summary)
        answers: dict[str, dict[str, float]] = {}
        for qid, outcome in evaluation.answers.outcomes.items():
            for metric, value in paired_values(outcome).items():
                if value is not None:
                    answers.setdefault(metric, {})[qid] = value
        per_query[ANSWERS] = answers
    return summaries, per_query


def compare(evaluation: Evaluation, baseline: Baseline, seed: int = 0) -> list[Comparison]:
    """Every metric of every mode present in both runs, with a paired randomisation p-value."""
    current_summary, current_values = current_scores(evaluation)
    base_summary, base_values = baseline.summaries, baseline.per_query
    rows = []
    for mode, metrics in current_summary.items():
        if mode not in base_summary:
            continue
        for metric, value in metrics.items():
            old = base_summary[mode].get(metric)
            mine = current_values.get(mode, {}).get(metric, {})
            theirs = base_values.get(mode, {}).get(metric, {})
            rows.append(_row(mode, metric, value, old, mine, theirs, seed))
    return rows


def _row(
    mode: str,
    metric: str,
    value: float | None,
    old: float | None,
    mine: Mapping[str, float],
    theirs: Mapping[str, float],
    seed: int,
) -> Comparison:
    delta = value - old if value is not None and old is not None else None
    pairable = mode != ANSWERS or metric in PAIRED_ANSWER_METRICS
    common = [qid for qid in mine if qid in theirs] if pairable else []
    p_value = None
    if common:
        p_value = paired_randomization_test([mine[q] for q in common], [theirs[q] for q in common], seed=seed)
    return Comparison(mode, metric, old, value, delta, p_value, len(common))
