"""IVF cells after an archive grows: kept from the switch against retrained at 4x (index/vectors.py).

Run: .venv/bin/python -m bench.ivf_growth STORE [--first 0.25] [--out FILE]

STORE is a RealTimeQA store (bench/http.py builds one; so does `newsrag eval` in its cache). Its
chunks are taken in publication order: the IVF index is switched on over the oldest quarter
(the cells fitted to them), then the rest arrive in write batches of 100, as an archive grows
over the following years. Two indexes take the same writes: one under the old rule (cells kept
whatever the size) and one under RETRAIN_GROWTH. Queries are the questions dated after the first
quarter's last story (the news the old cells never saw); recall@10 and @100 are against exact
search, over an nprobe sweep scaled to the cell count as NPROBE is to MAX_CELLS (64 of 1,024).
Retraining here also adds cells (32 at the switch, 131 after); `--max-cells 32` holds the count
fixed, as MAX_CELLS does past 65k chunks, so only the fit of the cells differs. Cells here are
fewer than at 50k chunks, and this corpus is small: the figures show the direction and size of
the drift, not the recall of a 1M-chunk archive.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
from pathlib import Path
from typing import Any

import numpy as np

import index.vectors as vectors
from index.vectors import VectorIndex, VectorPolicy
from rag.ingest.embedder import shared_embedder

DATASET = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "realtimeqa-news"
BATCH = 100


def chunks_by_date(store: Path) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Chunk ids, vectors and dates of the dated chunks, oldest first."""
    conn = sqlite3.connect(f"file:{store / 'store.sqlite'}?mode=ro", uri=True)
    rows = conn.execute(
        "SELECT c.chunk_id, c.vector, d.published_at FROM chunks AS c JOIN documents AS d "
        "ON d.doc_id = c.doc_id WHERE d.published_at IS NOT NULL ORDER BY d.published_at, c.chunk_id"
    ).fetchall()
    conn.close()
    ids = np.asarray([r[0] for r in rows], np.int64)
    stacked = np.frombuffer(b"".join(r[1] for r in rows), np.float32).reshape(len(rows), -1)
    return ids, stacked, [r[2] for r in rows]


def later_questions(after: str) -> list[str]:
    """RealTimeQA questions dated (their id's YYYYMMDD) after `after` (ISO)."""
    day = after[:10].replace("-", "")
    with (DATASET / "queries.jsonl").open(encoding="utf-8") as handle:
        records = [json.loads(line) for line in handle]
    return [r["text"] for r in records if r["_id"][:8] > day]


def grow(first: VectorIndex, ids: np.ndarray, stacked: np.ndarray, growth: int) -> VectorIndex:
    """The index after the later chunks arrive in batches, under the given retraining growth."""
    saved, vectors.RETRAIN_GROWTH = vectors.RETRAIN_GROWTH, growth
    try:
        index = first
        for at in range(0, len(ids), BATCH):
            batch = slice(at, at + BATCH)
            index = index.updated(ids[:0], ids[batch], stacked[batch], index.generation + 1)
        return index
    finally:
        vectors.RETRAIN_GROWTH = saved


def recall(index: VectorIndex, exact: VectorIndex, queries: np.ndarray, nprobe: int) -> dict[str, float]:
    """recall@10 and @100 against exact at one nprobe."""
    probe = index.with_policy(VectorPolicy(0, nprobe))
    r10, r100 = [], []
    for q in queries:
        want = [i for i, _ in exact.search(q, 100)]
        got = [i for i, _ in probe.search(q, 100)]
        r10.append(len(set(got[:10]) & set(want[:10])) / 10)
        r100.append(len(set(got) & set(want)) / 100)
    return {"recall@10": float(np.mean(r10)), "recall@100": float(np.mean(r100))}


def main() -> None:
    """Build, grow both ways, measure."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("store", type=Path)
    parser.add_argument("--first", type=float, default=0.25, help="share of chunks present at the switch")
    parser.add_argument(
        "--max-cells", type=int, default=0, help="cap the cells (as MAX_CELLS caps them past 65k chunks)"
    )
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    if args.max_cells:
        vectors.MAX_CELLS = args.max_cells
    ids, stacked, dates = chunks_by_date(args.store)
    cut = int(len(ids) * args.first)
    first = VectorIndex.build(stacked.shape[1], ids[:cut], stacked[:cut], 1, VectorPolicy(approximate_from=0))
    kept = grow(first, ids[cut:], stacked[cut:], 10**9)
    retrained = grow(first, ids[cut:], stacked[cut:], vectors.RETRAIN_GROWTH)
    exact = VectorIndex.build(stacked.shape[1], ids, stacked, 1, VectorPolicy(approximate_from=10**9))
    questions = later_questions(dates[cut - 1])
    queries = shared_embedder().encode(questions)
    result: dict[str, Any] = {
        "chunks": len(ids),
        "at_switch": cut,
        "switch_dates": [dates[0], dates[cut - 1]],
        "cells": {"kept": kept.cells, "retrained": retrained.cells},
        "trained_on": {"kept": kept.trained_on, "retrained": retrained.trained_on},
        "questions": len(questions),
        "recall": {},
    }
    scaled = max(1, round(64 * kept.cells / 1024))  # NPROBE's share of MAX_CELLS
    for nprobe in sorted({max(1, scaled // 2), scaled, scaled * 2, scaled * 4}):
        result["recall"][nprobe] = {
            "kept": recall(kept, exact, queries, nprobe),
            "retrained": recall(retrained, exact, queries, nprobe * retrained.cells // kept.cells),
        }
        print(nprobe, result["recall"][nprobe], flush=True)
    print(json.dumps(result, indent=2))
    if args.out:
        args.out.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
