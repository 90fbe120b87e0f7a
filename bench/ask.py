"""What composing an answer costs over retrieving: Engine.ask against Engine.search at the same k.

Run from the repository root: .venv/bin/python -m bench.ask [--dataset DIR] [--queries N] [--rounds R] [--k K]

Indexes the dataset's corpus through the evaluation cache (reused when built), then calls search
and ask in turn for each question, in process, and prints both medians and their difference.
Both include embedding the question; ask adds ranking the passages' stored sentences, the
reader over the windows around the best of them (one onnxruntime thread), and the cited
composition.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from eval.datasets import load_dataset
from eval.index_cache import open_indexed
from rag.config import EngineConfig
from rag.ingest.embedder import shared_embedder

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATASET = REPO.parent / "shared" / "datasets" / "realtimeqa-news"


def main() -> None:
    """Time search and ask over the same questions and print the medians."""
    parser = argparse.ArgumentParser(prog="python -m bench.ask")
    parser.add_argument("--dataset", type=Path, default=DEFAULT_DATASET)
    parser.add_argument("--cache-dir", type=Path, default=REPO / ".newsrag" / "eval-cache")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--k", type=int, default=5)
    args = parser.parse_args()
    dataset = load_dataset(args.dataset)
    engine, _ = open_indexed(dataset, args.cache_dir, EngineConfig(), shared_embedder())
    questions = list(dataset.queries.values())[: args.queries]
    engine.search(questions[0], k=args.k)  # warm-up
    engine.ask(questions[0], top_k=args.k)
    search: list[float] = []
    ask: list[float] = []
    for _ in range(args.rounds):
        for question in questions:
            started = time.perf_counter()
            engine.search(question, k=args.k)
            search.append(time.perf_counter() - started)
            started = time.perf_counter()
            engine.ask(question, top_k=args.k)
            ask.append(time.perf_counter() - started)
    s, a = float(np.median(search)) * 1000, float(np.median(ask)) * 1000
    print(f"{dataset.name}, k={args.k}, {len(search)} calls each")
    print(f"search p50 {s:.1f} ms, p95 {np.percentile(search, 95) * 1000:.1f} ms")
    print(f"ask    p50 {a:.1f} ms, p95 {np.percentile(ask, 95) * 1000:.1f} ms")
    print(f"ask - search at the p50: {a - s:+.1f} ms")
    engine.close()


if __name__ == "__main__":
    main()
