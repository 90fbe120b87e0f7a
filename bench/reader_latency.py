"""/v1/ask against /v1/search on one grown store, served by checkouts that differ in their reader.

Run: .venv/bin/python -m bench.reader_latency --variant NAME=TREE [--variant ...] [--store STORE]
         [--grow CHUNKS] [--setting NAME:VAR=VALUE ...] [--rounds 2] [--requests 60] [--seconds 20]
         [--out FILE]

STORE (default bench/.cache/scale-tantivy, the store bench/scale_lexical.py grows) is a store
grown by replicas of the RealTimeQA store (bench/scale.py); with --grow and no store there, it is
grown here to that many chunks first (the base store built if missing, then the replicas, the
vector file and one open that builds the lexical index: ~17 minutes to 1M). Each TREE is a
checkout (`git worktree add /tmp/before COMMIT`), the current one being this repository;
`--setting` gives a variant's server (and stage run) a NEWSRAG_* variable, so one checkout can be
two variants (`--setting quick:NEWSRAG_READ_FIRST=1`). In `--rounds` alternations each checkout
serves the store in turn (`newsrag serve`, rate limit off, one server at a time) and takes the
RealTimeQA questions at one client on /v1/search (k=10) and /v1/ask; p50/p95/p99 pool the rounds.
Then bench/stages.py runs against the store from each checkout for the in-process breakdown. Read
the variants against each other, not the absolute figures: other work on the box moves them all.
"""

from __future__ import annotations

import sys
from pathlib import Path

if sys.path and Path(sys.path[0]).resolve() == Path(__file__).resolve().parent:
    sys.path.pop(0)  # bench/http.py would shadow the standard library's http (see bench/http.py)

import argparse
import json
import os
import signal
import sqlite3
from typing import Any

import numpy as np

from bench.http import DATASET, DEFAULT_STORE, build_store, load_questions
from bench.scale import Replicator
from bench.scale_lexical import CACHE, REPO, WARMUP, measure, start
from index.vectors import VectorIndex

STAGES = ("embed", "dense", "lexical", "fill", "fusion", "search", "ask")


def table(chunks: int, results: dict[str, Any]) -> str:
    """One row per variant: HTTP percentiles and the in-process stage medians."""
    lines = [
        "| variant | chunks | search p50/p95/p99 ms | ask p50/p95/p99 ms | "
        + " | ".join(f"{s} p50" for s in STAGES)
        + " |",
        "|" + "---|" * (4 + len(STAGES)),
    ]
    for name, r in results.items():
        cells = [name, f"{chunks:,}"]
        for endpoint in ("search", "ask"):
            s = r[endpoint]
            cells.append(f"{s['p50']:.0f}/{s['p95']:.0f}/{s['p99']:.0f} (n={s['n']})")
        cells += [f"{r['stages']['ms'][s]['p50']:.1f}" for s in STAGES]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def grow(folder: Path, chunks: int) -> None:
    """The RealTimeQA store grown by replicas to `chunks`, with its vector file, opened once."""
    build_store(DEFAULT_STORE, DATASET / "corpus.jsonl")
    replicator = Replicator(folder, DEFAULT_STORE)
    replicator.grow(chunks)
    ids, vectors = np.concatenate(replicator.ids), np.concatenate(replicator.vectors)
    VectorIndex.build(vectors.shape[1], ids, vectors, replicator.generation()).save(folder / "vectors.faiss")
    process, _, _ = start(REPO, folder)  # its first open builds the lexical index
    process.send_signal(signal.SIGINT)
    process.wait(timeout=900)
    print(f"grew {folder} to {len(ids):,} chunks", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", type=Path, default=CACHE / "scale-tantivy")
    parser.add_argument("--grow", type=int, help="with no store there: grow one to this many chunks")
    parser.add_argument("--variant", action="append", required=True, metavar="NAME=TREE")
    parser.add_argument("--setting", action="append", default=[], metavar="NAME:VAR=VALUE")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--requests", type=int, default=60, help="requests per phase and round")
    parser.add_argument("--seconds", type=float, default=20.0, help="time budget per phase and round")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    variants = {}
    for spec in args.variant:
        name, _, tree = spec.partition("=")
        if not tree or not (Path(tree) / "newsrag" / "cli.py").is_file():
            raise SystemExit(f"--variant {spec!r}: give NAME=TREE, TREE a checkout of newsrag")
        variants[name] = (Path(tree).resolve(), args.store.resolve())
    settings: dict[str, dict[str, str]] = {}
    for spec in args.setting:
        name, _, assignment = spec.partition(":")
        var, _, value = assignment.partition("=")
        if name not in variants or not var.startswith("NEWSRAG_") or not value:
            raise SystemExit(f"--setting {spec!r}: give NAME:NEWSRAG_VAR=VALUE for a --variant NAME")
        settings.setdefault(name, {})[var] = value
    if not (args.store / "store.sqlite").is_file():
        if not args.grow:
            raise SystemExit(f"no store at {args.store}: pass --grow CHUNKS to grow one")
        grow(args.store, args.grow)
    questions = load_questions(DATASET / "queries.jsonl")[: args.requests + WARMUP]
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores", flush=True)
    results = measure(variants, questions, args, settings)
    with sqlite3.connect(f"file:{args.store / 'store.sqlite'}?mode=ro", uri=True) as conn:
        chunks = int(conn.execute("SELECT count(*) FROM chunks").fetchone()[0])
    print(f"load average {os.getloadavg()[0]:.2f} at the end", flush=True)
    print(table(chunks, results))
    if args.out:
        args.out.write_text(json.dumps(results, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
