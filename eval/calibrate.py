"""Calibrate the answer stage on dev data only, and write rag/models/calibration.json.

Run: python -m eval.calibrate [--ranker-squad N] [--squad N]. Two fits, in order:

1. The sentence ranker, which picks the windows the reader reads: a listwise logit over
   rag/compose/sentences.py's features, on SQuAD 2.0 dev questions of the reader's "train" articles and
   RealTimeQA 2020-2021 questions whose answer is in the evidence (eval/splits.py).
2. With that ranker, the reader's confidence: a logistic regression over READER_FEATURES of each
   window the reader reads (label: the sentence holding its span holds a gold answer), the
   abstention threshold that makes the most right calls (answered with a gold answer in a shown
   statement, or abstained when the answer would show none), and the related-coverage floor. Its
   data: the digest's own questions and SQuAD 2.0 dev questions of the "calibration" articles,
   each set weighing the same. Neither fit sees a held-out ("test") question.

Out-of-fold figures (the second fit redone without each fold) are written beside the fit.
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
from eval.datasets import Dataset, load_dataset, select_queries
from eval.index_cache import open_indexed
from index.atomic import write_text_atomic
from rag.compose.answer import CALIBRATION_FILE, AnswerConfig
from rag.compose.ask import gather_evidence
from rag.compose.reader import CARD_FILE
from rag.compose.reading import READER_FEATURES
from rag.compose.sentences import FEATURES, LinearModel
from rag.config import EngineConfig
from rag.engine import Engine
from rag.ingest.embedder import shared_embedder

REPO = Path(__file__).resolve().parents[1]
CALIBRATION = CALIBRATION_FILE
SHARED = REPO.parent / "shared" / "datasets"
REPEATS = 3  # cross-validation runs, each with its own draw of folds
RELATED_QUANTILE = 0.05  # the floor keeps this share of passages from the right document out


@dataclass(frozen=True)
class RankerExample:
    """One question's candidate sentences (features) and which of them hold a gold answer."""

    dataset: str
    features: tuple[tuple[float, ...], ...]
    labels: tuple[bool, ...]


@dataclass(frozen=True)
class ReaderExample:
    """One question's findings (READER_FEATURES, most probable first under the fit that collected
    them), which of them hold a gold answer, whether the question is answerable, and the dense
    scores of the retrieved passages of its own document."""

    dataset: str
    features: tuple[tuple[float, ...], ...]
    labels: tuple[bool, ...]
    answerable: bool
    gold_dense: tuple[float, ...]


def _golds(dataset: Dataset, qid: str) -> tuple[str, ...]:
    key = dataset.answers.get(qid)
    return key.answers if key is not None and not key.is_impossible else ()


def ranker_examples(engine: Engine, dataset: Dataset, qids: Sequence[str]) -> list[RankerExample]:
    """Every candidate sentence of every question, labelled by whether it holds a gold answer."""
    found = []
    for qid in qids:
        golds = _golds(dataset, qid)
        evidence = gather_evidence(
            engine.asking(), dataset.queries[qid], None, (), engine.config.answer.top_k
        )
        labels = tuple(bool(golds) and contains_answer(c.text, golds) for c in evidence.candidates)
        found.append(RankerExample(dataset.name, tuple(c.features for c in evidence.candidates), labels))
    return found


def reader_examples(engine: Engine, dataset: Dataset, qids: Sequence[str]) -> list[ReaderExample]:
    """Every window the reader reads for every question, labelled as ranker_examples does."""
    found = []
    for qid in qids:
        golds = _golds(dataset, qid)
        evidence = gather_evidence(
            engine.asking(), dataset.queries[qid], None, (), engine.config.answer.top_k
        )
        relevant = set(dataset.relevant(qid))
        key = dataset.answers.get(qid)
        if key is not None and key.corpus_id is not None:
            relevant.add(key.corpus_id)
        found.append(
            ReaderExample(
                dataset.name,
                tuple(f.features for f in evidence.findings),
                tuple(bool(golds) and contains_answer(f.sentence.text, golds) for f in evidence.findings),
                bool(golds),
                tuple(p.scores.get("dense", 0.0) for p in evidence.passages if p.doc_id in relevant),
            )
        )
    return found


def _dataset_sizes(samples: Sequence[RankerExample | ReaderExample]) -> dict[str, int]:
    """Questions per dataset: each set weighs the same in a fit, whatever its size."""
    return {name: sum(s.dataset == name for s in samples) for name in {s.dataset for s in samples}}


def fit_ranker(samples: list[RankerExample], l2: float = 0.01) -> LinearModel:
    """A listwise (conditional logit) ranker: maximise the softmax probability, within each question,
    of the sentences that hold a gold answer; each dataset weighs the same, with an L2 penalty."""
    sizes = _dataset_sizes(samples)
    groups = []
    for s in samples:
        labels = np.asarray(s.labels, dtype=bool)
        if labels.any() and not labels.all():
            groups.append((np.asarray(s.features), labels, 1.0 / sizes[s.dataset]))
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

    width = len(groups[0][0][0]) if groups else len(FEATURES)
    result = minimize(loss, np.zeros(width), jac=True, method="L-BFGS-B")
    return LinearModel(0.0, tuple(float(v) for v in result.x))


def fit_reader(samples: list[ReaderExample]) -> tuple[LinearModel, float, dict[str, float]]:
    """Logistic regression over every finding; then the threshold on each question's best finding
    (by the fitted model) that maximises right calls, each dataset weighing the same."""
    sizes = _dataset_sizes(samples)
    xs, ys, ws = [], [], []
    for s in samples:
        for features, label in zip(s.features, s.labels, strict=True):
            xs.append(features)
            ys.append(label)
            ws.append(1.0 / sizes[s.dataset] / max(1, len(s.features)))
    weights = np.asarray(ws) / np.mean(ws)
    model = LogisticRegression(C=10.0, max_iter=1000).fit(
        np.asarray(xs), np.asarray(ys), sample_weight=weights
    )
    fitted = LinearModel(float(model.intercept_[0]), tuple(float(v) for v in model.coef_[0]))
    best, right = best_findings(samples, fitted)
    question_weights = np.asarray([1.0 / sizes[s.dataset] for s in samples])
    grid = np.linspace(0.02, 0.98, 97)
    utility = [
        float(np.sum(question_weights * np.where(best >= t, right, ~right))) / float(question_weights.sum())
        for t in grid
    ]
    chosen = int(np.argmax(utility))
    return fitted, float(grid[chosen]), {"right_calls": utility[chosen]}


def best_findings(
    samples: list[ReaderExample], model: LinearModel, config: AnswerConfig | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Per question, the probability of its most probable finding and whether the answer composed
    from it is right to give: a shown finding (the best, and up to max_sentences - 1 more at least
    support_share as probable, as rag.compose.answer.compose shows them) holds a gold answer. 0 and
    "right to abstain" when the reader read nothing."""
    config = config or AnswerConfig()
    probabilities, right = [], []
    for s in samples:
        if not s.features:
            probabilities.append(0.0)
            right.append(False)
            continue
        scores = np.asarray([model.probability(f) for f in s.features])
        order = np.argsort(-scores, kind="stable")[: config.max_sentences]
        shown = [i for i in order if scores[i] >= config.support_share * scores[order[0]]]
        probabilities.append(float(scores[order[0]]))
        right.append(any(s.labels[i] for i in shown))
    return np.asarray(probabilities), np.asarray(right, dtype=bool)


def related_floor(samples: list[ReaderExample]) -> float:
    """The dense cosine under which only RELATED_QUANTILE of the passages from a question's own
    document fall: a passage below it is not offered as related coverage."""
    scores = [score for s in samples for score in s.gold_dense]
    return float(np.quantile(scores, RELATED_QUANTILE)) if scores else 0.0


def cross_validate(samples: list[ReaderExample], folds: int, seed: int) -> dict[str, dict[str, float]]:
    """Out-of-fold figures per dataset, averaged over REPEATS draws of folds: each question judged
    by a confidence model and threshold fitted without it."""
    answered = np.zeros((REPEATS, len(samples)), dtype=bool)
    right = np.zeros((REPEATS, len(samples)), dtype=bool)
    for repeat in range(REPEATS):
        fold_of = _folds(samples, folds, seed + repeat)
        for fold in range(folds):
            model, threshold, _ = fit_reader([s for i, s in enumerate(samples) if fold_of[i] != fold])
            held = [i for i in range(len(samples)) if fold_of[i] == fold]
            probabilities, good = best_findings([samples[i] for i in held], model)
            answered[repeat, held] = probabilities >= threshold
            right[repeat, held] = good
    report = {}
    for name in sorted({s.dataset for s in samples}):
        mine = np.asarray([s.dataset == name for s in samples])
        answerable = mine & np.asarray([s.answerable for s in samples])
        report[name] = {
            "answer_hit": float((answered & right)[:, answerable].mean()),
            "abstention_recall": float((~answered)[:, mine & ~answerable].mean()),
            "right_calls": float(np.where(answered, right, ~right)[:, mine].mean()),
        }
    return report


def _folds(samples: list[ReaderExample], folds: int, seed: int) -> dict[int, int]:
    """A fold per question, drawn per dataset so that each fold holds both kinds of question."""
    fold_of: dict[int, int] = {}
    for name in sorted({s.dataset for s in samples}):
        members = [i for i, s in enumerate(samples) if s.dataset == name]
        random.Random(seed).shuffle(members)
        members.sort(key=lambda i: samples[i].answerable)  # stable: the shuffle holds within each kind
        fold_of.update({i: n % folds for n, i in enumerate(members)})
    return fold_of


def _sampled(qids: list[str], count: int | None, seed: int) -> list[str]:
    if count is not None and count < len(qids):
        return sorted(random.Random(seed).sample(qids, count))
    return qids


def _cached(path: Path | None, build: Any) -> Any:
    """JSON rows of a collection step, reused when the cache file exists (the fits are quick)."""
    if path is not None and path.is_file():
        return json.loads(path.read_text(encoding="utf-8"))
    rows = build()
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_text_atomic(path, json.dumps(rows))
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    """Collect dev examples, fit, and write the calibration file."""
    parser = argparse.ArgumentParser(prog="python -m eval.calibrate")
    parser.add_argument(
        "--ranker-squad", type=int, default=1500, help="SQuAD train-article questions for the ranker"
    )
    parser.add_argument(
        "--squad", type=int, default=None, help="SQuAD calibration-article questions (default all)"
    )
    parser.add_argument("--cache-dir", type=Path, default=REPO / ".newsrag" / "eval-cache")
    parser.add_argument("--examples", type=Path, help="folder caching the collected examples as JSON")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--folds", type=int, default=5, help="cross-validation folds (0: none)")
    args = parser.parse_args(argv)
    embedder, config = shared_embedder(), EngineConfig()
    digest = load_dataset(REPO / "data" / "eval")
    squad = load_dataset(SHARED / "squad-v2.0-dev")
    rtqa = load_dataset(SHARED / "realtimeqa-news")
    engines = {d.name: open_indexed(d, args.cache_dir, config, embedder)[0] for d in (digest, squad, rtqa)}
    cache = args.examples

    def collect_ranker() -> list[dict[str, Any]]:
        rows = []
        for dataset, qids in (
            (squad, _sampled(select_queries(squad, part="train"), args.ranker_squad, args.seed)),
            (rtqa, [q for q in select_queries(rtqa, part="train") if rtqa.answers[q].answer_in_evidence]),
        ):
            rows += [vars(e) for e in ranker_examples(engines[dataset.name], dataset, qids)]
            print(dataset.name, len(qids), "ranker questions", flush=True)
        return rows

    ranker_rows = _cached(cache / "ranker.json" if cache else None, collect_ranker)
    ranker = fit_ranker(
        [
            RankerExample(r["dataset"], tuple(map(tuple, r["features"])), tuple(r["labels"]))
            for r in ranker_rows
        ]
    )
    answer = AnswerConfig(ranker=ranker)
    for engine in engines.values():
        engine.config = EngineConfig(answer=answer)

    def collect_reader() -> list[dict[str, Any]]:
        rows = []
        for dataset, qids in (
            (digest, select_queries(digest)),
            (squad, _sampled(select_queries(squad, part="calibration"), args.squad, args.seed)),
        ):
            qids = [q for q in qids if q in dataset.answers]
            rows += [vars(e) for e in reader_examples(engines[dataset.name], dataset, qids)]
            print(dataset.name, len(qids), "calibration questions", flush=True)
        return rows

    # Readings belong to one model file: a cache of another reader's would calibrate the wrong model.
    reader_sha = json.loads(CARD_FILE.read_text(encoding="utf-8"))["sha256"][:12]
    reader_rows = _cached(cache / f"reader-{reader_sha}.json" if cache else None, collect_reader)
    samples = [
        ReaderExample(
            r["dataset"],
            tuple(map(tuple, r["features"])),
            tuple(r["labels"]),
            r["answerable"],
            tuple(r["gold_dense"]),
        )
        for r in reader_rows
    ]
    model, threshold, summary = fit_reader(samples)
    held_out = cross_validate(samples, args.folds, args.seed) if args.folds > 1 else None
    record = {
        "ranker": {"features": list(FEATURES), "bias": ranker.bias, "weights": list(ranker.weights)},
        "reader": {"features": list(READER_FEATURES), "bias": model.bias, "weights": list(model.weights)},
        "threshold": threshold,
        "related_floor": related_floor(samples),
        "dev_fit": summary,
        "cross_validated": {"folds": args.folds, "repeats": REPEATS, **held_out} if held_out else None,
        "dev_data": {
            name: {
                "questions": sum(s.dataset == name for s in samples),
                "answerable": sum(s.dataset == name and s.answerable for s in samples),
            }
            for name in sorted({s.dataset for s in samples})
        },
        "ranker_data": {
            name: sum(r["dataset"] == name for r in ranker_rows)
            for name in sorted({r["dataset"] for r in ranker_rows})
        },
        "fitted_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    write_text_atomic(CALIBRATION, json.dumps(record, indent=2) + "\n")
    print(json.dumps({k: v for k, v in record.items() if k not in ("ranker",)}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
