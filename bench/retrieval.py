"""Retrieval latency per mode on one store: what each stage adds on top of dense search.

Run from the repository root: .venv/bin/python -m bench.retrieval [--dataset DIR] [--queries N]
    [--rounds R] [--k K] [--modes dense,hybrid,...] [--out FILE]

Indexes the dataset's corpus through the evaluation cache (reused when already built), embeds
the questions once, then times `retrieve` for every mode with those fixed query vectors, so the
figures are retrieval alone (FAISS, FTS5, fusion, row fetches, reranking), not the encoder.
Modes take turns query by query, over several rounds, so a busy second core slows them alike.
Prints p50/p95 per mode and each mode's p50 minus dense's.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from eval.datasets import load_dataset
from eval.index_cache import open_indexed
from rag.config import EngineConfig
from rag.ingest.embedder import shared_embedder
from rag.retrieve.pipeline import MODES, retrieve
from rag.types import Query

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATASET = REPO.parent / "shared" / "datasets" / "realtimeqa-news"


def main() -> None:
    """Time every mode over the same questions and print the table."""
    parser = argparse.ArgumentParser(prog="python -m bench.retrieval")
    parser.add_argument("--dataset", type=Path, default=DEFAULT_DATASET)
    parser.add_argument("--cache-dir", type=Path, default=REPO / ".newsrag" / "eval-cache")
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--modes", default=",".join(MODES))
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    dataset = load_dataset(args.dataset)
    embedder = shared_embedder()
    engine, info = open_indexed(dataset, args.cache_dir, EngineConfig(), embedder)
    questions = list(dataset.queries.values())[: args.queries]
    vectors = embedder.encode(questions)
    snapshot = engine.snapshot()
    timings: dict[str, list[float]] = {mode: [] for mode in modes}
    for question, vector in zip(questions, vectors, strict=True):  # warm-up: caches, lazy loads
        for mode in modes:
            retrieve(snapshot, Query(question, args.k, mode, vector=vector), embedder.embed)
        break
    for _ in range(args.rounds):
        for question, vector in zip(questions, vectors, strict=True):
            for mode in modes:
                started = time.perf_counter()
                retrieve(snapshot, Query(question, args.k, mode, vector=vector), embedder.embed)
                timings[mode].append((time.perf_counter() - started) * 1000)
    stats = engine.stats()
    rows = {
        mode: {"p50_ms": float(np.median(t)), "p95_ms": float(np.percentile(t, 95)), "n": len(t)}
        for mode, t in timings.items()
    }
    dense = rows.get("dense", {}).get("p50_ms")
    print(f"{dataset.name}: {stats.documents} documents, {stats.chunks} chunks; k={args.k}")
    print("| mode | p50 ms | p95 ms | p50 over dense, ms |")
    print("|---|---|---|---|")
    for mode, row in rows.items():
        over = f"{row['p50_ms'] - dense:+.2f}" if dense is not None else "—"
        print(f"| {mode} | {row['p50_ms']:.2f} | {row['p95_ms']:.2f} | {over} |")
    if args.out:
        record = {
            "dataset": dataset.name,
            "chunks": stats.chunks,
            "k": args.k,
            "store": info.key,
            "modes": rows,
        }
        args.out.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    engine.close()


if __name__ == "__main__":
    main()
