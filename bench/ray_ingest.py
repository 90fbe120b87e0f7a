"""Ingest throughput on Ray (newsrag ingest --ray) against the plain ingest, on the same documents.

Run from the repository root (a short check: --limit 50 --rounds 1):
    OMP_NUM_THREADS=1 .venv/bin/python -m bench.ray_ingest [--corpus PATH] [--limit N] [--rounds R]
        [--batch B] [--workers 1,2]

Starts one local Ray with as many CPUs as the most workers asked for (its start is timed once,
apart), then per round ingests the documents into fresh stores: plainly in this process, and on
Ray with each number of encoder actors (one CPU each), in an order that rotates every round.
Prints median seconds, docs/s and the ratio to the plain ingest, and whether every Ray store's
SQLite rows equal the plain one's (wall-clock stamps left out).

The model of a Ray ingest of P write batches on w actors: T(w) = S + B * ceil(P / w) / P, where
B is the plain ingest's build time (chunking and encoding; its writes overlap the builds on the
driver) and S what Ray adds per ingest: starting the actors, each loading the encoder (in
parallel), and shipping documents and records through the object store. So T(1) - T(plain) ~ S,
and the most w can win is B (1 - 1/w), only when w cores are free: on 2 cores shared with other
work, the plain ingest's onnxruntime already uses both, and Ray mostly adds S.
"""

from __future__ import annotations

import argparse
import shutil
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

from bench.ingest import DEFAULT_CORPUS, load
from index.store import DB_NAME
from rag.config import EngineConfig
from rag.engine import Engine
from rag.ingest.distributed import RayBatches, RayConfig, ray_cluster
from rag.ingest.embedder import Embedder, shared_embedder
from rag.types import Document


def rows(folder: Path) -> dict[str, list[tuple[object, ...]]]:
    """Every table's rows of a store, without the ingested_at and created_at stamps."""
    with sqlite3.connect(folder / DB_NAME) as conn:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        found = {}
        for table in tables:
            names = [r[1] for r in conn.execute(f"PRAGMA table_info({table})") if r[1] != "ingested_at"]
            found[table] = conn.execute(f"SELECT {', '.join(names)} FROM {table} ORDER BY rowid").fetchall()
    found["manifest"] = [r for r in found["manifest"] if r[0] != "created_at"]
    return found


def ingest(
    folder: Path, documents: list[Document], config: EngineConfig, embedder: Embedder, workers: int
) -> float:
    """Seconds to ingest documents into a new store at folder (workers 0: the plain ingest)."""
    build = RayBatches(embedder.config, workers) if workers else None
    with Engine.open(folder, config, embedder=embedder) as engine:
        started = time.perf_counter()
        engine.ingest(documents, build=build)
        return time.perf_counter() - started


def main() -> None:
    """Measure and print."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--limit", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batch", type=int, default=32, help="documents per write batch (one Ray row)")
    parser.add_argument("--workers", default="1,2", help="Ray encoder actors to try, comma-separated")
    args = parser.parse_args()
    documents = load(args.corpus, args.limit)
    config = EngineConfig(ingest_batch=args.batch)
    embedder = shared_embedder(config.embedder)
    modes = [0] + [int(w) for w in args.workers.split(",")]
    started = time.perf_counter()
    with ray_cluster(RayConfig(cpus=max(modes))):
        ray_start = time.perf_counter() - started
        seconds: dict[int, list[float]] = {m: [] for m in modes}
        identical = True
        folder = Path(tempfile.mkdtemp(prefix="newsrag-bench-ray-"))
        try:
            for round_ in range(args.rounds):
                order = modes[round_ % len(modes) :] + modes[: round_ % len(modes)]
                for mode in order:
                    seconds[mode].append(ingest(folder / str(mode), documents, config, embedder, mode))
                plain = rows(folder / "0")
                identical = identical and all(rows(folder / str(m)) == plain for m in modes[1:])
                for mode in modes:
                    shutil.rmtree(folder / str(mode))
        finally:
            shutil.rmtree(folder, ignore_errors=True)
    parts = -(-len(documents) // args.batch)
    print(f"corpus        {args.corpus} ({len(documents)} documents, {parts} write batches of {args.batch})")
    print(f"ray start     {ray_start:.1f} s (once per command, not in the times below)")
    base = statistics.median(seconds[0])
    for mode in modes:
        median = statistics.median(seconds[mode])
        name = "plain" if mode == 0 else f"ray, {mode} actor{'s' if mode > 1 else ''}"
        rate, runs = len(documents) / median, len(seconds[mode])
        print(f"{name:<13} {median:7.1f} s (median of {runs}), {rate:6.1f} docs/s, {base / median:.2f}x")
    if 1 in seconds:
        overhead = statistics.median(seconds[1]) - base
        print(f"Ray's overhead S ~ {overhead:.1f} s per ingest (1 actor - plain)")
    print(f"stores identical to the plain one: {'yes' if identical else 'NO'}")


if __name__ == "__main__":
    main()
