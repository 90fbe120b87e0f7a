"""Query latency at scale: stores of 10k, 100k (and 1M) chunks, exact FAISS against the IVF index.

Run: .venv/bin/python -m bench.scale [--sizes 10000,100000] [--requests N] [--seconds S] [--out FILE]

Grows one store (bench/.cache/scale) from the RealTimeQA store that bench/http.py builds: every
replica copies the corpus's documents, chunks and sentences in SQL under new ids
(`doc_id~r`), each chunk vector perturbed by Gaussian noise (norm ~0.3) and renormalised so copies
do not tie. Nothing is re-embedded. At each size it builds both index kinds over the same vectors,
measures recall@10/@100 of IVF against exact and in-process FAISS latency for the dataset's question
vectors (nprobe sweep), then saves each kind in turn as the store's vector file, starts `newsrag
serve` on it and measures /v1/search and /v1/ask p50/p95/p99 at 1 and 8 clients, the server's RSS
and the overlap of its search results with the exact server's. The first server at each size
rebuilds the lexical index from SQLite (the store's generation moved).
"""

from __future__ import annotations

import sys
from pathlib import Path

if sys.path and Path(sys.path[0]).resolve() == Path(__file__).resolve().parent:
    sys.path.pop(0)  # bench/http.py would shadow the standard library's http (see bench/http.py)

import argparse
import json
import os
import shutil
import signal
import sqlite3
import threading
import time
from collections.abc import Callable
from typing import Any

import httpx
import numpy as np

from bench.http import DATASET, DEFAULT_STORE, Phase, build_store, load_questions, run_phase, start_server
from index.vectors import VectorIndex, VectorPolicy, default_policy
from rag.ingest.embedder import shared_embedder

SCALE_STORE = Path(__file__).resolve().parent / ".cache" / "scale"
NOISE_NORM = 0.3
EXACT = VectorPolicy(approximate_from=2**62)
SWEEP = (8, 16, 32, 64)
WARMUP = 5


def copy_database(source: Path, target: Path) -> None:
    """A consistent copy of an SQLite database, write-ahead log included (the backup API)."""
    src, dst = sqlite3.connect(source), sqlite3.connect(target)
    try:
        src.backup(dst)
    finally:
        src.close()
        dst.close()


class Replicator:
    """Grows the scale store by copies of the base corpus with distinct ids and perturbed vectors."""

    def __init__(self, folder: Path, base: Path) -> None:
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        copy_database(base / "store.sqlite", folder / "store.sqlite")
        self.folder = folder
        self.conn = sqlite3.connect(folder / "store.sqlite", isolation_level=None)
        self.conn.execute("PRAGMA journal_mode = DELETE")
        self.conn.execute("PRAGMA synchronous = OFF")
        self.conn.execute("ATTACH DATABASE ? AS base", (str(base / "store.sqlite"),))
        rows = self.conn.execute(
            "SELECT c.chunk_id, d.rowid, c.doc_id, c.ordinal, c.start, c.end, c.text, c.vector "
            "FROM base.chunks AS c JOIN base.documents AS d ON d.doc_id = c.doc_id ORDER BY c.chunk_id"
        ).fetchall()
        self.chunks = [r[1:7] for r in rows]  # doc rowid, doc_id, ordinal, start, end, text
        dim = len(rows[0][7]) // 4
        self.base_vectors = np.frombuffer(b"".join(r[7] for r in rows), np.float32).reshape(len(rows), dim)
        self.ids = [np.asarray([r[0] for r in rows], np.int64)]
        self.vectors = [self.base_vectors]
        self.replica = 0
        self.rng = np.random.default_rng(7)

    @property
    def count(self) -> int:
        """Chunks in the store."""
        return sum(len(i) for i in self.ids)

    def grow(self, target: int) -> None:
        """Add replicas (the last one partial, whole documents) until the store holds >= target chunks."""
        while self.count < target:
            self.replica += 1
            take = [c for c in self.chunks if c[0] <= self._doc_limit(target - self.count)]
            self._copy(take, f"~{self.replica}")
        self.conn.execute("UPDATE state SET value = value + 1 WHERE key = 'generation'")

    def _doc_limit(self, missing: int) -> int:
        """The base documents (by rowid) whose chunks number at least `missing`, or all of them."""
        if missing >= len(self.chunks):
            return self.chunks[-1][0] + 1
        return int(self.chunks[missing - 1][0])

    def _copy(self, take: list[tuple], suffix: str) -> None:
        first = int(self.conn.execute("SELECT max(chunk_id) FROM chunks").fetchone()[0]) + 1
        ids = np.arange(first, first + len(take), dtype=np.int64)
        noise = self.rng.standard_normal((len(take), self.base_vectors.shape[1])).astype(np.float32)
        noisy = self.base_vectors[: len(take)] + noise * (NOISE_NORM / np.sqrt(noise.shape[1]))
        noisy = (noisy / np.linalg.norm(noisy, axis=1, keepdims=True)).astype(np.float32)
        limit = take[-1][0]
        self.conn.execute("BEGIN")
        self.conn.execute(
            "INSERT INTO documents SELECT doc_id || ?, content_hash, text, title, source, url, "
            "published_at, metadata, ingested_at FROM base.documents WHERE rowid <= ?",
            (suffix, limit),
        )
        self.conn.executemany(
            "INSERT INTO chunks (chunk_id, doc_id, ordinal, start, end, text, vector) VALUES (?,?,?,?,?,?,?)",
            [(int(i), c[1] + suffix, *c[2:6], v.tobytes()) for i, c, v in zip(ids, take, noisy, strict=True)],
        )
        self.conn.execute(
            "INSERT INTO sentences (doc_id, ordinal, start, end, vector) SELECT s.doc_id || ?, s.ordinal, "
            "s.start, s.end, s.vector FROM base.sentences AS s JOIN base.documents AS d "
            "ON d.doc_id = s.doc_id WHERE d.rowid <= ?",
            (suffix, limit),
        )
        self.conn.execute("COMMIT")
        self.ids.append(ids)
        self.vectors.append(noisy)

    def generation(self) -> int:
        """The store's generation, which a saved vector file must carry."""
        return int(self.conn.execute("SELECT value FROM state WHERE key = 'generation'").fetchone()[0])


def dense_quality(
    exact: VectorIndex, approx: VectorIndex, queries: np.ndarray
) -> dict[str, dict[str, float]]:
    """Per nprobe (and exact): recall@10/@100 against exact and in-process FAISS latency p50/p95."""
    truth = [[i for i, _ in exact.search(q, 100)] for q in queries]
    out: dict[str, dict[str, float]] = {}
    kinds = [("exact", exact)] + [(f"nprobe={n}", approx.with_policy(VectorPolicy(0, n))) for n in SWEEP]
    for name, index in kinds:
        times, r10, r100 = [], [], []
        for q, want in zip(queries, truth, strict=True):
            started = time.perf_counter()
            got = [i for i, _ in index.search(q, 100)]
            times.append(time.perf_counter() - started)
            r10.append(len(set(got[:10]) & set(want[:10])) / 10)
            r100.append(len(set(got) & set(want)) / max(len(want), 1))
        ms = np.percentile(np.asarray(times) * 1000, [50, 95])
        out[name] = {"recall@10": float(np.mean(r10)), "recall@100": float(np.mean(r100))}
        out[name] |= {"p50_ms": float(ms[0]), "p95_ms": float(ms[1])}
        print(f"    dense {name:<10} {out[name]}", flush=True)
    return out


def rss_mb(pid: int) -> dict[str, float]:
    """VmRSS and VmHWM of a process, in MB."""
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines())
    return {key: int(fields[key].split()[0]) / 1024 for key in ("VmRSS", "VmHWM")}


def caller(url: str, endpoint: str, seen: dict[str, list[int]]) -> Callable[[str], bool]:
    """One request per question on a per-thread keep-alive client; search hits recorded by question."""
    local = threading.local()

    def call(question: str) -> bool:
        client = getattr(local, "client", None) or httpx.Client(base_url=url, timeout=120)
        local.client = client
        if endpoint == "ask":
            return client.post("/v1/ask", json={"question": question}).status_code == 200
        response = client.get("/v1/search", params={"q": question, "k": 10})
        if response.status_code == 200:
            seen[question] = [h["chunk_id"] for h in response.json()["hits"]]
        return response.status_code == 200

    return call


def serve_and_measure(folder: Path, questions: list[str], args: argparse.Namespace) -> dict[str, Any]:
    """Start the server on the store as it is on disk; every endpoint at 1 and 8 clients; RSS."""
    process, url = start_server(folder)
    seen: dict[str, list[int]] = {}
    result: dict[str, Any] = {"startup_rss_mb": rss_mb(process.pid)["VmRSS"]}
    try:
        for endpoint in ("search", "ask"):
            call = caller(url, endpoint, seen)
            for question in questions[:WARMUP]:
                call(question)
            for concurrency in (1, 8):
                phase: Phase = run_phase(call, questions[WARMUP:], concurrency, args.requests, args.seconds)
                result[f"{endpoint} c={concurrency}"] = summary = phase.summary()
                print(f"    {endpoint} c={concurrency}: {summary}", flush=True)
        result |= rss_mb(process.pid)
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=300)
    result["hits"] = seen
    return result


def overlap(a: dict[str, list[int]], b: dict[str, list[int]]) -> float:
    """Mean overlap of two servers' top-10 search results on the questions both answered."""
    common = [q for q in a if q in b and a[q]]
    return (
        float(np.mean([len(set(a[q]) & set(b[q])) / len(a[q]) for q in common])) if common else float("nan")
    )


def measure_size(rep: Replicator, folder: Path, questions: list[str], queries: np.ndarray, args) -> dict:
    """Both index kinds at the store's current size."""
    ids, vectors = np.concatenate(rep.ids), np.concatenate(rep.vectors)
    generation = rep.generation()
    exact = VectorIndex.build(vectors.shape[1], ids, vectors, generation, EXACT)
    started = time.perf_counter()
    approx = VectorIndex.build(vectors.shape[1], ids, vectors, generation, VectorPolicy(approximate_from=0))
    row: dict[str, Any] = {"chunks": len(ids), "ivf_build_s": time.perf_counter() - started}
    row["ivf_cells"] = approx.cells
    row["dense"] = dense_quality(exact, approx, queries)
    for name, index in (("exact", exact), ("ivf", approx)):
        index.save(folder / "vectors.faiss")
        row[f"{name}_disk_bytes"] = sum(p.stat().st_size for p in folder.iterdir() if p.is_file())
        print(f"  {len(ids)} chunks, {name} server", flush=True)
        row[name] = serve_and_measure(folder, questions, args)
    row["search_overlap@10"] = overlap(row["ivf"].pop("hits"), row["exact"].pop("hits"))
    return row


def table(rows: list[dict[str, Any]]) -> str:
    """The results as a markdown table."""
    lines = [
        "| chunks | index | recall@10 | FAISS p50 ms | search c=1 p50/p95/p99 ms "
        "| search c=8 p50/p95/p99 ms, req/s | ask c=1 p50/p95/p99 ms | ask c=8 p50/p95/p99 ms, req/s "
        "| errors | RSS MB | RSS KB/chunk | disk B/chunk |",
        "|" + "---|" * 12,
    ]
    for row in rows:
        for name in ("exact", "ivf"):
            r, n = row[name], row["chunks"]
            dense = row["dense"]["exact" if name == "exact" else f"nprobe={row['nprobe']}"]
            cells = [f"{n:,}", name if name == "exact" else f"IVF{row['ivf_cells']} nprobe={row['nprobe']}"]
            cells += [f"{dense['recall@10']:.3f}", f"{dense['p50_ms']:.1f}"]
            for key in ("search c=1", "search c=8", "ask c=1", "ask c=8"):
                s = r[key]
                rps = f", {s['rps']:.1f}" if key.endswith("8") else ""
                cells.append(f"{s['p50']:.0f}/{s['p95']:.0f}/{s['p99']:.0f}{rps}")
            cells.append(str(sum(int(r[k]["errors"]) for k in r if k.endswith(("=1", "=8")))))
            cells += [
                f"{r['VmRSS']:.0f}",
                f"{r['VmRSS'] * 1024 / n:.2f}",
                f"{row[f'{name}_disk_bytes'] / n:,.0f}",
            ]
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    """Grow the store size by size and measure each."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,1000000", help="ascending chunk counts")
    parser.add_argument(
        "--base", type=Path, default=DEFAULT_STORE, help="RealTimeQA store (built if missing)"
    )
    parser.add_argument("--store", type=Path, default=SCALE_STORE)
    parser.add_argument("--requests", type=int, default=200, help="requests per phase (default 200)")
    parser.add_argument("--seconds", type=float, default=30.0, help="time budget per phase (default 30)")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    build_store(args.base, DATASET / "corpus.jsonl")
    questions = load_questions(DATASET / "queries.jsonl")[: args.requests + WARMUP]
    queries = shared_embedder().encode(questions)
    rep = Replicator(args.store, args.base)
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores", flush=True)
    rows = []
    for size in (int(s) for s in args.sizes.split(",")):
        started = time.perf_counter()
        rep.grow(size)
        grow_s = time.perf_counter() - started
        print(f"grew to {rep.count} chunks in {grow_s:.1f} s", flush=True)
        row = measure_size(rep, args.store, questions, queries, args)
        row |= {"nprobe": default_policy().nprobe, "grow_s": grow_s}
        row["load_average"] = os.getloadavg()[0]
        rows.append(row)
        print(table(rows), flush=True)
        if args.out:
            args.out.write_text(json.dumps(rows, indent=2, default=float))


if __name__ == "__main__":
    main()
