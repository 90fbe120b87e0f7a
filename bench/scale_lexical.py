"""Before and after the lexical index moved to tantivy: one sitting, 10k to 1M chunks, interleaved.

Run: .venv/bin/python -m bench.scale_lexical --before TREE [--sizes 10000,100000,1000000]
         [--rounds 2] [--requests 60] [--seconds 20] [--out FILE]

TREE is a checkout of the commit before tantivy (FTS5 in SQLite), e.g. `git worktree add
/tmp/before 1d81229`. Two stores grow side by side from the RealTimeQA store (bench/http.py), by
the replicas of bench/scale.py with the same seed, so they hold the same documents, chunks and
vectors; the FTS5 one also gets its FTS rows. At each size both get the same vector file (the
index kind the store itself would choose there: exact under 50k chunks, IVF past it). Then, in
`--rounds` alternations, each checkout serves its store (`newsrag serve`, rate limit off) and
takes the questions at one client on /v1/search (k=10) and /v1/ask; p50/p95/p99 pool the rounds.
After the servers, bench/stages.py runs against each store in its own process for the per-stage
breakdown, the open time and the peak RSS of opening the store. The first open of a grown
tantivy store rebuilds its lexical index from SQLite (the store's generation moved): that cost
is reported on its own, as `rebuild_s`.
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
import socket
import sqlite3
import subprocess
import time
from typing import Any

import httpx
import numpy as np

from bench.http import DATASET, DEFAULT_STORE, Phase, build_store, load_questions, run_phase
from bench.scale import Replicator, caller, copy_database, rss_mb
from index.vectors import VectorIndex

REPO = Path(__file__).resolve().parents[1]
CACHE = Path(__file__).resolve().parent / ".cache"
WARMUP = 3


def fts5_base(base: Path, folder: Path) -> Path:
    """A copy of the base store in the format before tantivy: FTS5 rows, schema version 1."""
    if (folder / "store.sqlite").exists():
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    copy_database(base / "store.sqlite", folder / "store.sqlite")
    conn = sqlite3.connect(folder / "store.sqlite", isolation_level=None)
    conn.executescript(
        "BEGIN; CREATE VIRTUAL TABLE chunks_fts USING fts5 (title, text, "
        "tokenize = 'porter unicode61 remove_diacritics 2'); "
        "INSERT INTO chunks_fts (rowid, title, text) SELECT c.chunk_id, coalesce(d.title, ''), c.text "
        "FROM chunks AS c JOIN documents AS d ON d.doc_id = c.doc_id; PRAGMA user_version = 1; COMMIT;"
    )
    conn.close()
    return folder


class FtsReplicator(Replicator):
    """bench/scale.py's replicas, plus the FTS5 rows of every copied chunk."""

    def _copy(self, take: list[tuple], suffix: str) -> None:
        first = int(self.conn.execute("SELECT max(chunk_id) FROM chunks").fetchone()[0]) + 1
        super()._copy(take, suffix)
        self.conn.execute(
            "INSERT INTO chunks_fts (rowid, title, text) SELECT c.chunk_id, coalesce(d.title, ''), c.text "
            "FROM chunks AS c JOIN documents AS d ON d.doc_id = c.doc_id WHERE c.chunk_id >= ?",
            (first,),
        )


def start(
    tree: Path, store: Path, settings: dict[str, str] | None = None
) -> tuple[subprocess.Popen[bytes], str, float]:
    """`newsrag serve` from a checkout (with these NEWSRAG_* settings besides the rate limit off);
    returns the process, its URL and the seconds to ready."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSRAG_")}
    env |= {"NEWSRAG_RATE_LIMIT": "0", "PYTHONPATH": str(tree), **(settings or {})}
    command = [sys.executable, "-m", "newsrag.cli", "--store", str(store), "serve", "--port", str(port)]
    started = time.monotonic()
    quiet = subprocess.DEVNULL
    process = subprocess.Popen(command, env=env, cwd=tree, stdout=quiet, stderr=quiet)
    url = f"http://127.0.0.1:{port}"
    while time.monotonic() < started + 900 and process.poll() is None:
        try:
            if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                return process, url, time.monotonic() - started
        except httpx.TransportError:
            time.sleep(0.2)
    process.kill()
    raise SystemExit(f"server from {tree} did not become ready (exit code {process.poll()})")


def stages(tree: Path, store: Path, settings: dict[str, str] | None = None) -> dict[str, Any]:
    """bench/stages.py in its own process, against the checkout's code (and these settings)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSRAG_")} | {"PYTHONPATH": str(tree)}
    env |= settings or {}
    command = [sys.executable, str(REPO / "bench" / "stages.py"), str(store), "--questions", "60"]
    done = subprocess.run(command, env=env, cwd=tree, capture_output=True, text=True, check=True)
    return json.loads(done.stdout[done.stdout.index("{") :])


def measure(
    variants: dict[str, tuple[Path, Path]],
    questions: list[str],
    args: argparse.Namespace,
    settings: dict[str, dict[str, str]] | None = None,
) -> dict:
    """Each variant's server in turn, `rounds` times; then each one's stage breakdown. `settings`:
    NEWSRAG_* variables per variant name."""
    settings = settings or {}
    phases = {(v, e): Phase() for v in variants for e in ("search", "ask")}
    out: dict[str, Any] = {v: {} for v in variants}
    for round_ in range(args.rounds):
        for name, (tree, store) in variants.items():
            process, url, ready_s = start(tree, store, settings.get(name))
            out[name].setdefault("ready_s", []).append(ready_s)
            try:
                for endpoint in ("search", "ask"):
                    call = caller(url, endpoint, {})
                    for question in questions[:WARMUP]:
                        call(question)
                    phase = run_phase(call, questions[WARMUP:], 1, args.requests, args.seconds)
                    phases[(name, endpoint)].add(phase)
                    print(f"    round {round_ + 1} {name} {endpoint}: {phase.summary()}", flush=True)
                out[name]["rss_mb"] = rss_mb(process.pid)
            finally:
                process.send_signal(signal.SIGINT)
                process.wait(timeout=300)
    for name, (tree, store) in variants.items():
        for endpoint in ("search", "ask"):
            out[name][endpoint] = phases[(name, endpoint)].summary()
        out[name]["stages"] = stages(tree, store, settings.get(name))
        out[name]["disk_bytes"] = sum(p.stat().st_size for p in store.rglob("*") if p.is_file())
        print(f"  {name}: {json.dumps(out[name]['stages']['ms'])}", flush=True)
    return out


def table(rows: list[dict[str, Any]]) -> str:
    """The results as a markdown table."""
    stage_names = ("embed", "dense", "lexical", "fill", "fusion", "search", "ask")
    lines = [
        "| chunks | lexical index | search p50/p95/p99 ms | ask p50/p95/p99 ms | "
        + " | ".join(f"{s} p50" for s in stage_names)
        + " | open s | peak RSS at open MB | disk B/chunk |",
        "|" + "---|" * (8 + len(stage_names)),
    ]
    for row in rows:
        for name in ("FTS5", "tantivy"):
            r, n = row[name], row["chunks"]
            cells = [f"{n:,}", name]
            for endpoint in ("search", "ask"):
                s = r[endpoint]
                cells.append(f"{s['p50']:.0f}/{s['p95']:.0f}/{s['p99']:.0f} (n={s['n']})")
            cells += [f"{r['stages']['ms'][s]['p50']:.1f}" for s in stage_names]
            cells += [f"{r['stages']['open_s']:.1f}", f"{r['stages']['rss_after_open_mb']['VmHWM']:.0f}"]
            cells.append(f"{r['disk_bytes'] / n:,.0f}")
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    """Grow both stores size by size and measure both checkouts at each."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", type=Path, required=True, help="checkout of the FTS5 commit")
    parser.add_argument("--sizes", default="10000,100000,1000000", help="ascending chunk counts")
    parser.add_argument(
        "--base", type=Path, default=DEFAULT_STORE, help="RealTimeQA store (built if not there)"
    )
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--requests", type=int, default=60, help="requests per phase and round")
    parser.add_argument("--seconds", type=float, default=20.0, help="time budget per phase and round")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    build_store(args.base, DATASET / "corpus.jsonl")
    questions = load_questions(DATASET / "queries.jsonl")[: args.requests + WARMUP]
    after = Replicator(CACHE / "scale-tantivy", args.base)
    before = FtsReplicator(CACHE / "scale-fts5", fts5_base(args.base, CACHE / "realtimeqa-fts5"))
    variants = {"FTS5": (args.before.resolve(), before.folder), "tantivy": (REPO, after.folder)}
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores", flush=True)
    rows = []
    for size in (int(s) for s in args.sizes.split(",")):
        for replicator in (before, after):
            replicator.grow(size)
        ids, vectors = np.concatenate(after.ids), np.concatenate(after.vectors)
        assert np.array_equal(ids, np.concatenate(before.ids)), "the two stores grew apart"
        index = VectorIndex.build(vectors.shape[1], ids, vectors, after.generation())
        for replicator in (before, after):
            index.save(replicator.folder / "vectors.faiss")
        # The tantivy store's first open rebuilds its lexical index (the generation moved): timed apart.
        started = time.perf_counter()
        process, _, _ = start(REPO, after.folder)
        process.send_signal(signal.SIGINT)
        process.wait(timeout=300)
        row: dict[str, Any] = {"chunks": len(ids), "rebuild_s": time.perf_counter() - started}
        print(f"grew to {len(ids)} chunks; tantivy rebuild + first open {row['rebuild_s']:.1f} s", flush=True)
        row |= measure(variants, questions, args)
        row["load_average"] = os.getloadavg()[0]
        rows.append(row)
        print(table(rows), flush=True)
        if args.out:
            args.out.write_text(json.dumps(rows, indent=2, default=float))


if __name__ == "__main__":
    main()
