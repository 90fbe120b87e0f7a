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
import pickle
import random
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from scipy.optimize import minimize
from sklearn.linear_model import LogisticRegression

from eval.answer_metrics import contains_answer
from eval.datasets import Dataset, load_dataset
from eval.index_cache import open_indexed
from rag.answer import CONFIDENCE_FEATURES, AnswerConfig, confidence_features, select
from rag.ask import gather_evidence
from rag.config import EngineConfig
from rag.embedder import shared_embedder
from rag.engine import Engine
from rag.sentences import FEATURES, Candidate, LinearModel

REPO = Path(__file__).resolve().parents[1]
CALIBRATION = REPO / "rag" / "calibration.json"
SHARED = REPO.parent / "shared" / "datasets"
RTQA_DEV_BEFORE = "2022"
REPEATS = 3  # cross-validation runs, each with its own draw of folds


@dataclass(frozen=True)
class Example:
    """One dev question: its candidate sentences, which of them hold a gold answer, and answerability."""

    dataset: str
    candidates: tuple[Candidate, ...]
    labels: tuple[bool, ...]
    answerable: bool


def examples(engine: Engine, dataset: Dataset, qids: Sequence[str]) -> list[Example]:
    """Every candidate sentence of every question, labelled by whether it holds a gold answer."""
    found = []
    for qid in qids:
        evidence = gather_evidence(engine, dataset.queries[qid], None, (), engine.config.answer.top_k)
        key = dataset.answers.get(qid)
        golds = key.answers if key is not None and not key.is_impossible else ()
        labels = tuple(bool(golds) and contains_answer(c.text, golds) for c in evidence.candidates)
        if labels:
            found.append(Example(dataset.name, tuple(evidence.candidates), labels, bool(golds)))
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
        labels = np.asarray(s.labels, dtype=bool)
        if s.answerable and labels.any() and not labels.all():
            groups.append((np.asarray([c.features for c in s.candidates]), labels, per_set[s.dataset]))
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


def answer_rows(samples: list[Example], ranker: LinearModel) -> tuple[np.ndarray, np.ndarray]:
    """Per question, the confidence features of the answer the ranker composes, and whether that
    answer is right to give: one of its sentences holds a gold answer."""
    config = AnswerConfig(ranker=ranker)
    x, y = [], []
    for s in samples:
        gold = {(c.doc_id, c.start) for c, label in zip(s.candidates, s.labels, strict=True) if label}
        ranked = sorted(
            (replace(c, score=ranker.logit(c.features)) for c in s.candidates),
            key=lambda c: (-c.score, c.doc_id, c.start),
        )
        groups = select(ranked, config)
        x.append(confidence_features(ranked, groups, config))
        y.append(s.answerable and any((c.doc_id, c.start) in gold for g in groups for c in g))
    return np.asarray(x), np.asarray(y, dtype=bool)


def fit_confidence(
    samples: list[Example], ranker: LinearModel
) -> tuple[LinearModel, float, dict[str, float]]:
    """Logistic regression on the answer the ranker composes; the threshold maximising right calls
    (answered with a gold answer among the shown sentences, or abstained when that is not so)."""
    per_set = _dataset_weights(samples)
    xs, ys = answer_rows(samples, ranker)
    ws = np.asarray([per_set[s.dataset] for s in samples])
    ws = ws / np.mean(ws)
    model = LogisticRegression(C=10.0, max_iter=1000).fit(xs, ys, sample_weight=ws)
    fitted = LinearModel(float(model.intercept_[0]), tuple(float(v) for v in model.coef_[0]))
    probabilities = model.predict_proba(xs)[:, 1]
    grid = np.linspace(0.05, 0.95, 91)
    utility = [float(np.sum(ws * np.where(probabilities >= t, ys, ~ys))) / float(np.sum(ws)) for t in grid]
    best = int(np.argmax(utility))
    summary = {"right_calls": utility[best], "answered_correct_share": float(np.mean(ys))}
    return fitted, float(grid[best]), summary


def fit(samples: list[Example]) -> tuple[LinearModel, LinearModel, float, dict[str, float]]:
    """The sentence ranker, then the confidence model and threshold over the answers it composes.
    RealTimeQA teaches the ranker only: it has no unanswerable questions, and its multiple-choice
    answers are often not verbatim in the text, so it would teach abstention from label noise."""
    ranker = fit_ranker(samples)
    confident = [s for s in samples if not s.dataset.startswith("realtimeqa")]
    confidence_model, threshold, summary = fit_confidence(confident, ranker)
    return ranker, confidence_model, threshold, summary


def cross_validate(
    samples: list[Example], folds: int, seed: int, repeats: int = REPEATS
) -> dict[str, dict[str, float]]:
    """Out-of-fold figures per dataset, averaged over repeats with other fold draws: each question
    judged by a fit (ranker, confidence and threshold) that never saw it. The in-sample figures of
    the shipped fit flatter a set as small as the digest's; these do not, and on 58 questions one
    draw of folds differs from the next by several questions, hence the repeats."""
    answered = np.zeros((repeats, len(samples)), dtype=bool)
    right = np.zeros((repeats, len(samples)), dtype=bool)
    for repeat in range(repeats):
        fold_of = _folds(samples, folds, seed + repeat)
        for fold in range(folds):
            ranker, model, threshold, _ = fit([s for i, s in enumerate(samples) if fold_of[i] != fold])
            held = [i for i in range(len(samples)) if fold_of[i] == fold]
            xs, ys = answer_rows([samples[i] for i in held], ranker)
            for i, features, good in zip(held, xs, ys, strict=True):
                answered[repeat, i] = model.probability(tuple(features)) >= threshold
                right[repeat, i] = good
    report = {}
    for name in sorted({s.dataset for s in samples if not s.dataset.startswith("realtimeqa")}):
        mine = np.asarray([s.dataset == name for s in samples])
        answerable = mine & np.asarray([s.answerable for s in samples])
        report[name] = {
            "answer_hit": float((answered & right)[:, answerable].mean()),
            "abstention_recall": float((~answered)[:, mine & ~answerable].mean()),
            "right_calls": float(np.where(answered, right, ~right)[:, mine].mean()),
        }
    return report


def _folds(samples: list[Example], folds: int, seed: int) -> dict[int, int]:
    """A fold per question, drawn per dataset so that each fold holds both kinds of question."""
    fold_of: dict[int, int] = {}
    for name in sorted({s.dataset for s in samples}):
        members = [i for i, s in enumerate(samples) if s.dataset == name]
        random.Random(seed).shuffle(members)
        members.sort(key=lambda i: samples[i].answerable)  # stable: the shuffle holds within each kind
        fold_of.update({i: n % folds for n, i in enumerate(members)})
    return fold_of


def _save_examples(path: Path, samples: list[Example], counts: dict[str, Any]) -> None:
    with path.open("wb") as out:
        pickle.dump({"counts": counts, "examples": samples}, out)


def _load_examples(path: Path) -> tuple[list[Example], dict[str, Any]]:
    with path.open("rb") as source:
        data = pickle.load(source)  # a cache this tool wrote itself
    return list(data["examples"]), dict(data["counts"])


def main(argv: Sequence[str] | None = None) -> int:
    """Collect dev examples, fit, and write the calibration file."""
    parser = argparse.ArgumentParser(prog="python -m eval.calibrate")
    parser.add_argument("--squad", type=int, default=1500, help="SQuAD 2.0 dev questions to sample (0: none)")
    parser.add_argument("--rtqa", type=int, default=0, help="RealTimeQA dev questions to sample (0: none)")
    parser.add_argument("--cache-dir", type=Path, default=REPO / ".newsrag" / "eval-cache")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--folds", type=int, default=5, help="cross-validation folds for the held-out report (0: none)"
    )
    parser.add_argument(
        "--examples",
        type=Path,
        help="cache of the collected dev examples (a pickle this tool writes), reused if present",
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
    ranker, confidence_model, threshold, summary = fit(samples)
    held_out = cross_validate(samples, args.folds, args.seed) if args.folds > 1 else None
    record = {
        "ranker": {"features": list(FEATURES), "bias": ranker.bias, "weights": list(ranker.weights)},
        "confidence": {
            "features": list(CONFIDENCE_FEATURES),
            "bias": confidence_model.bias,
            "weights": list(confidence_model.weights),
        },
        "threshold": threshold,
        "dev_fit": summary,
        "cross_validated": {"folds": args.folds, "repeats": REPEATS, **held_out} if held_out else None,
        "dev_data": counts,
        "fitted_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    CALIBRATION.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(record, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
