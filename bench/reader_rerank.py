"""The reader as a passage reranker: does its answerability, fused with the retrieval score, rank
the documents that answer higher than hybrid retrieval alone does?

    python -m bench.reader_rerank [--sample N] [--depth 10]

For RealTimeQA 2022+ as asked and SQuAD 2.0 dev's held-out articles (answerable questions, the
ones with qrels): hybrid's top `depth` documents are re-scored as
minmax(retrieval score) + w * sigmoid(best answerability over the document's windows), with w
chosen on the train part of each set (RealTimeQA 2020-2021, SQuAD's train articles) and then
applied to the held-out part. Prints nDCG@10 before and after, and the reader's cost per query.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import time
from pathlib import Path

import numpy as np

from eval.datasets import Dataset, load_dataset, select_queries
from eval.harness import as_of_filters
from eval.index_cache import open_indexed
from eval.metrics import score_queries
from eval.runner import rank_documents
from rag.compose.reader_input import window_around, window_budget
from rag.config import EngineConfig
from rag.engine import Engine
from rag.ingest.embedder import shared_embedder
from rag.language.text import sentence_spans

SHARED = Path(__file__).resolve().parents[2] / "shared" / "datasets"
WEIGHTS = (0.1, 0.25, 0.5, 1.0, 2.0)


def best_answerability(engine: Engine, question: str, text: str) -> float:
    """The highest answerability logit over the windows of one document."""
    spans = [(s.start, s.end) for s in sentence_spans(text)]
    counts = engine.reader.token_counts([text[a:b] for a, b in spans])
    budget = window_budget(engine.reader.question_tokens(question))
    windows = sorted(
        {(w.start, w.end) for w in (window_around(i, spans, counts, budget) for i in range(len(spans)))}
    )
    readings = engine.reader.read(question, [text[a:b] for a, b in windows])
    return max((r.answerable for r in readings), default=-10.0)


def collect(engine: Engine, dataset: Dataset, qids: list[str], depth: int, as_asked: bool) -> list[dict]:
    """Per question: hybrid's top documents with their scores, answerability and grades."""
    filters = as_of_filters(dataset, qids) if as_asked else {}
    texts = {d.doc_id: d.text for d in dataset.documents}
    rows = []
    for qid in qids:
        question = dataset.queries[qid]
        ranked = rank_documents(engine, question, "hybrid", depth, filters.get(qid))
        started = time.perf_counter()
        answerable = [best_answerability(engine, question, texts[doc_id]) for doc_id, _ in ranked]
        rows.append(
            {
                "docs": [d for d, _ in ranked],
                "scores": [s for _, s in ranked],
                "answerable": answerable,
                "judged": dataset.relevant(qid),
                "ms": (time.perf_counter() - started) * 1000,
            }
        )
    return rows


def mean_ndcg(rows: list[dict], weight: float | None) -> float:
    rankings, qrels = {}, {}
    for number, row in enumerate(rows):
        order = row["docs"]
        if weight is not None and order:
            scores = np.asarray(row["scores"])
            spread = scores.max() - scores.min()
            base = (scores - scores.min()) / spread if spread > 0 else np.zeros_like(scores)
            fused = base + weight * np.asarray([1 / (1 + math.exp(-a)) for a in row["answerable"]])
            order = [row["docs"][i] for i in np.argsort(-fused, kind="stable")]
        rankings[str(number)], qrels[str(number)] = order, row["judged"]
    return float(np.mean(list(score_queries(rankings, qrels, list(qrels))["ndcg@10"].values())))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sample", type=int, default=300)
    parser.add_argument("--depth", type=int, default=10)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--cache-dir", type=Path, default=Path(".newsrag") / "eval-cache")
    args = parser.parse_args()
    embedder = shared_embedder()
    report = {}
    for name, as_asked in (("realtimeqa-news", True), ("squad-v2.0-dev", False)):
        dataset = load_dataset(SHARED / name)
        engine, _ = open_indexed(dataset, args.cache_dir, EngineConfig(), embedder)
        parts = {}
        for part in ("train", "test"):
            qids = [q for q in select_queries(dataset, part=part) if dataset.is_judged(q)]
            qids = sorted(random.Random(args.seed).sample(qids, min(args.sample, len(qids))))
            parts[part] = collect(engine, dataset, qids, args.depth, as_asked)
        tuned = {w: mean_ndcg(parts["train"], w) for w in WEIGHTS}
        weight = max(tuned, key=lambda w: tuned[w])
        report[name] = {
            "questions": len(parts["test"]),
            "weight (chosen on train part)": weight,
            "train part nDCG@10 by weight": tuned,
            "test nDCG@10 hybrid": mean_ndcg(parts["test"], None),
            "test nDCG@10 hybrid + reader": mean_ndcg(parts["test"], weight),
            "reader ms per query p50": float(np.median([r["ms"] for r in parts["test"]])),
        }
        print(name, json.dumps(report[name]), flush=True)


if __name__ == "__main__":
    main()
