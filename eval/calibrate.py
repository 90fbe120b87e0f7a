"""Calibrate the answer confidence (abstention) on dev data only, and write rag/calibration.json.

Run: python -m eval.calibrate [--squad N] [--rtqa N]. The dev data: the digest's own set,
a sample of SQuAD 2.0 dev (answerable and unanswerable), and RealTimeQA questions dated
before 2022 (the harness's held-out test part is 2022 onwards).
"""

from __future__ import annotations

import argparse
import json
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression

from eval.answer_metrics import contains_answer
from eval.datasets import Dataset, load_dataset
from eval.index_cache import open_indexed
from rag.answer import features
from rag.ask import gather_evidence
from rag.config import EngineConfig
from rag.embedder import shared_embedder
from rag.engine import Engine

REPO = Path(__file__).resolve().parents[1]
CALIBRATION = REPO / "rag" / "calibration.json"
SHARED = REPO.parent / "shared" / "datasets"
RTQA_DEV_BEFORE = "2022"


@dataclass(frozen=True)
class Example:
    """One dev question: the features of its best sentence and whether answering would be right."""

    dataset: str
    features: tuple[float, ...]
    correct: bool


def examples(engine: Engine, dataset: Dataset, qids: Sequence[str]) -> list[Example]:
    """Features and labels: correct means answerable and the best sentence holds a gold answer."""
    found = []
    for qid in qids:
        evidence = gather_evidence(engine, dataset.queries[qid], None, (), engine.config.answer.top_k)
        if not evidence.candidates:
            continue
        best = evidence.candidates[0]
        key = dataset.answers.get(qid)
        answerable = key is not None and not key.is_impossible and bool(key.answers)
        correct = answerable and key is not None and contains_answer(best.text, key.answers)
        found.append(Example(dataset.name, features(best), correct))
    return found


def dev_questions(dataset: Dataset, count: int | None, seed: int) -> list[str]:
    """The dev part of a set, sampled: RealTimeQA before 2022 with the answer in evidence, else all."""
    qids = [q for q in dataset.queries if q in dataset.answers]
    if dataset.name.startswith("realtimeqa"):
        qids = [q for q in qids if q < RTQA_DEV_BEFORE and dataset.answers[q].answer_in_evidence]
    if count is not None and count < len(qids):
        qids = sorted(random.Random(seed).sample(qids, count))
    return qids


def fit(samples: list[Example]) -> tuple[float, list[float], float]:
    """Logistic regression with each dataset weighted equally; threshold maximising decision accuracy."""
    x = np.asarray([s.features for s in samples])
    y = np.asarray([s.correct for s in samples])
    sizes = {name: sum(s.dataset == name for s in samples) for name in {s.dataset for s in samples}}
    weights = np.asarray([1.0 / sizes[s.dataset] for s in samples])
    model = LogisticRegression(C=10.0).fit(x, y, sample_weight=weights)
    probabilities = model.predict_proba(x)[:, 1]
    grid = np.linspace(0.05, 0.95, 91)
    utility = [float(np.sum(weights * np.where(probabilities >= t, y, ~y))) for t in grid]
    threshold = float(grid[int(np.argmax(utility))])
    return float(model.intercept_[0]), [float(w) for w in model.coef_[0]], threshold


def main(argv: Sequence[str] | None = None) -> int:
    """Collect dev examples, fit, and write the calibration file."""
    parser = argparse.ArgumentParser(prog="python -m eval.calibrate")
    parser.add_argument("--squad", type=int, default=1500, help="SQuAD 2.0 dev questions to sample")
    parser.add_argument("--rtqa", type=int, default=600, help="RealTimeQA dev questions to sample")
    parser.add_argument("--cache-dir", type=Path, default=REPO / ".newsrag" / "eval-cache")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    embedder, config = shared_embedder(), EngineConfig()
    sets = [
        (REPO / "data" / "eval", None),
        (SHARED / "squad-v2.0-dev", args.squad),
        (SHARED / "realtimeqa-news", args.rtqa),
    ]
    samples: list[Example] = []
    counts = {}
    for root, count in sets:
        dataset = load_dataset(root)
        engine, _ = open_indexed(dataset, args.cache_dir, config, embedder)
        found = examples(engine, dataset, dev_questions(dataset, count, args.seed))
        counts[dataset.name] = {"questions": len(found), "correct": sum(e.correct for e in found)}
        samples.extend(found)
        print(dataset.name, counts[dataset.name], flush=True)
    bias, weights, threshold = fit(samples)
    record = {
        "bias": bias,
        "weights": weights,
        "features": ["similarity", "coverage", "type_match", "rank_prior"],
        "threshold": threshold,
        "dev_data": counts,
        "fitted_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    CALIBRATION.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(record, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
