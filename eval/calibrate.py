"""Calibrate the answer confidence (abstention) on dev data only, and write rag/calibration.json.

Run: python -m eval.calibrate [--squad N] [--rtqa N]. The dev data: the digest's own set and
a sample of SQuAD 2.0 dev (answerable and unanswerable); --rtqa N adds RealTimeQA questions dated
before 2022 to the sentence ranker's data (questions from 2022 on are never used here, so they
stay unseen for a held-out test). The shipped fit leaves RealTimeQA out: its multiple-choice
answers are often not verbatim in the evidence, so its sentence labels are noisy.
"""

from __future__ import annotations

import argparse
import json
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from scipy.optimize import minimize
from sklearn.linear_model import LogisticRegression

from eval.answer_metrics import contains_answer
from eval.datasets import Dataset, load_dataset
from eval.index_cache import open_indexed
from rag.answer import CONFIDENCE_FEATURES, confidence_features
from rag.ask import gather_evidence
from rag.config import EngineConfig
from rag.embedder import shared_embedder
from rag.engine import Engine
from rag.sentences import FEATURES, Candidate, LinearModel

REPO = Path(__file__).resolve().parents[1]
CALIBRATION = REPO / "rag" / "calibration.json"
SHARED = REPO.parent / "shared" / "datasets"
RTQA_DEV_BEFORE = "2022"


@dataclass(frozen=True)
class Example:
    """One dev question: its candidate sentences (features, holds a gold answer) and answerability."""

    dataset: str
    candidates: tuple[tuple[tuple[float, ...], bool], ...]
    answerable: bool


def examples(engine: Engine, dataset: Dataset, qids: Sequence[str]) -> list[Example]:
    """Every candidate sentence of every question, labelled by whether it holds a gold answer."""
    found = []
    for qid in qids:
        evidence = gather_evidence(engine, dataset.queries[qid], None, (), engine.config.answer.top_k)
        key = dataset.answers.get(qid)
        golds = key.answers if key is not None and not key.is_impossible else ()
        labelled = tuple(
            (c.features, bool(golds) and contains_answer(c.text, golds)) for c in evidence.candidates
        )
        if labelled:
            found.append(Example(dataset.name, labelled, bool(golds)))
    return found


def dev_questions(dataset: Dataset, count: int | None, seed: int) -> list[str]:
    """The dev part of a set, sampled: RealTimeQA before 2022 with the answer in evidence, else all."""
    qids = [q for q in dataset.queries if q in dataset.answers]
    if dataset.name.startswith("realtimeqa"):
        qids = [q for q in qids if q < RTQA_DEV_BEFORE and dataset.answers[q].answer_in_evidence]
    if count is not None and count < len(qids):
        qids = sorted(random.Random(seed).sample(qids, count))
    return qids


def _dataset_weights(samples: list[Example]) -> dict[str, float]:
    sizes = {name: sum(s.dataset == name for s in samples) for name in {s.dataset for s in samples}}
    return {name: 1.0 / size for name, size in sizes.items()}


def fit_ranker(samples: list[Example], l2: float = 0.01) -> LinearModel:
    """A listwise (conditional logit) ranker: maximise the softmax probability, within each question,
    of the sentences that hold a gold answer; each dataset weighs the same, with an L2 penalty."""
    per_set = _dataset_weights(samples)
    groups = []
    for s in samples:
        labels = np.asarray([label for _, label in s.candidates], dtype=bool)
        if s.answerable and labels.any() and not labels.all():
            groups.append((np.asarray([f for f, _ in s.candidates]), labels, per_set[s.dataset]))
    total = sum(weight for _, _, weight in groups)

    def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
        value, gradient = l2 * float(w @ w), 2 * l2 * w
        for x, labels, weight in groups:
            z = x @ w
            p = np.exp(z - z.max())
            p /= p.sum()
            positive = p[labels].sum()
            value -= weight / total * float(np.log(positive))
            target = np.where(labels, p / positive, 0.0)
            gradient -= weight / total * (target - p) @ x
        return value, gradient

    start = np.zeros(len(FEATURES))
    result = minimize(loss, start, jac=True, method="L-BFGS-B")
    return LinearModel(0.0, tuple(float(v) for v in result.x))


def fit_confidence(
    samples: list[Example], ranker: LinearModel
) -> tuple[LinearModel, float, dict[str, float]]:
    """Logistic regression on the best sentence under the ranker; the threshold maximising right calls."""
    per_set = _dataset_weights(samples)
    x, y, w = [], [], []
    for s in samples:
        ranked = sorted(
            (Candidate("", 0, 0, 0, "", np.zeros(1), f, ranker.logit(f)) for f, _ in s.candidates),
            key=lambda c: -c.score,
        )
        best_label = max(s.candidates, key=lambda pair: ranker.logit(pair[0]))[1]
        x.append(confidence_features(ranked))
        y.append(s.answerable and best_label)
        w.append(per_set[s.dataset])
    xs, ys, ws = np.asarray(x), np.asarray(y), np.asarray(w) / np.mean(w)
    model = LogisticRegression(C=10.0, max_iter=1000).fit(xs, ys, sample_weight=ws)
    fitted = LinearModel(float(model.intercept_[0]), tuple(float(v) for v in model.coef_[0]))
    probabilities = model.predict_proba(xs)[:, 1]
    grid = np.linspace(0.05, 0.95, 91)
    utility = [float(np.sum(ws * np.where(probabilities >= t, ys, ~ys))) / float(np.sum(ws)) for t in grid]
    best = int(np.argmax(utility))
    summary = {"right_calls": utility[best], "answered_correct_share": float(np.mean(ys))}
    return fitted, float(grid[best]), summary


def _save_examples(path: Path, samples: list[Example], counts: dict[str, Any]) -> None:
    rows = [{"dataset": s.dataset, "answerable": s.answerable, "candidates": s.candidates} for s in samples]
    path.write_text(json.dumps({"counts": counts, "examples": rows}), encoding="utf-8")


def _load_examples(path: Path) -> tuple[list[Example], dict[str, Any]]:
    data = json.loads(path.read_text(encoding="utf-8"))
    samples = [
        Example(r["dataset"], tuple((tuple(f), bool(label)) for f, label in r["candidates"]), r["answerable"])
        for r in data["examples"]
    ]
    return samples, data["counts"]


def main(argv: Sequence[str] | None = None) -> int:
    """Collect dev examples, fit, and write the calibration file."""
    parser = argparse.ArgumentParser(prog="python -m eval.calibrate")
    parser.add_argument("--squad", type=int, default=1500, help="SQuAD 2.0 dev questions to sample (0: none)")
    parser.add_argument("--rtqa", type=int, default=0, help="RealTimeQA dev questions to sample (0: none)")
    parser.add_argument("--cache-dir", type=Path, default=REPO / ".newsrag" / "eval-cache")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--examples", type=Path, help="cache of the collected dev examples (JSON), reused if present"
    )
    args = parser.parse_args(argv)
    embedder, config = shared_embedder(), EngineConfig()
    sets = [
        (REPO / "data" / "eval", None),
        (SHARED / "squad-v2.0-dev", args.squad),
        (SHARED / "realtimeqa-news", args.rtqa),
    ]
    samples: list[Example] = []
    counts = {}
    cached = _load_examples(args.examples) if args.examples and args.examples.is_file() else None
    for root, count in [] if cached else sets:
        if count == 0:
            continue
        dataset = load_dataset(root)
        engine, _ = open_indexed(dataset, args.cache_dir, config, embedder)
        found = examples(engine, dataset, dev_questions(dataset, count, args.seed))
        counts[dataset.name] = {"questions": len(found), "answerable": sum(e.answerable for e in found)}
        samples.extend(found)
        print(dataset.name, counts[dataset.name], flush=True)
    if cached:
        samples, counts = cached
    elif args.examples:
        _save_examples(args.examples, samples, counts)
    ranker = fit_ranker(samples)
    # RealTimeQA has no unanswerable questions and its multiple-choice answers are often not
    # verbatim in the text, so it would teach abstention from label noise: the ranker only.
    confident = [s for s in samples if not s.dataset.startswith("realtimeqa")]
    confidence_model, threshold, summary = fit_confidence(confident, ranker)
    record = {
        "ranker": {"features": list(FEATURES), "bias": ranker.bias, "weights": list(ranker.weights)},
        "confidence": {
            "features": list(CONFIDENCE_FEATURES),
            "bias": confidence_model.bias,
            "weights": list(confidence_model.weights),
        },
        "threshold": threshold,
        "dev_fit": summary,
        "dev_data": counts,
        "fitted_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    CALIBRATION.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(record, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
