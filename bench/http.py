"""HTTP latency and throughput of /v1/ask and /v1/search, and the overhead over the in-process engine.

Run: .venv/bin/python -m bench.http [--corpus PATH] [--store DIR] [--requests N] [--seconds S] [--out FILE]

Builds the RealTimeQA store once (reused on later runs), starts `newsrag serve` on a free loopback
port with the rate limit off, and fires the dataset's questions at it from a bounded pool of client
threads (1 and 8 concurrent), each phase capped by a request count and a time budget. The same
questions go, at the same concurrency, to the same Engine methods called in-process, alternating
with the HTTP rounds; it prints p50/p95/p99 latency, requests/s and the HTTP/in-process ratios.
"""

from __future__ import annotations

import sys
from pathlib import Path

# Run as a script, this file's folder comes first on sys.path and its name would shadow the
# standard library's `http` package that httpx imports; drop that entry before importing anything.
if sys.path and Path(sys.path[0]).resolve() == Path(__file__).resolve().parent:
    sys.path.pop(0)

import argparse
import json
import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import httpx
import numpy as np

from rag.config import EngineConfig
from rag.engine import Engine
from rag.ingest.embedder import EmbedderConfig, shared_embedder
from rag.ingest.loaders import parse_record
from rag.types import Document

DATASET = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "realtimeqa-news"
DEFAULT_STORE = Path(__file__).resolve().parent / ".cache" / "realtimeqa"
ENDPOINTS = ("search", "ask")
CONCURRENCY = (1, 8)
WARMUP = 5


@dataclass
class Phase:
    """Latencies of one endpoint at one concurrency, with errors and wall time."""

    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    seconds: float = 0.0

    def add(self, other: Phase) -> None:
        """Pool another round into this one."""
        self.latencies += other.latencies
        self.errors += other.errors
        self.seconds += other.seconds

    def summary(self) -> dict[str, float]:
        """p50/p95/p99 in ms and requests/s."""
        ms = np.asarray(self.latencies) * 1000
        p50, p95, p99 = np.percentile(ms, [50, 95, 99]) if len(ms) else (float("nan"),) * 3
        rps = len(ms) / self.seconds if self.seconds else 0.0
        return {"n": len(ms), "errors": self.errors, "p50": p50, "p95": p95, "p99": p99, "rps": rps}


def load_corpus(path: Path) -> list[Document]:
    """RealTimeQA records as documents: _id, text, metadata.source/date/url."""
    documents = []
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            record = json.loads(line)
            meta = record.get("metadata") or {}
            fields = {"id": record["_id"], "text": record["text"], "title": record.get("title") or None}
            fields |= {"source": meta.get("source"), "url": meta.get("url"), "published_at": meta.get("date")}
            documents.append(parse_record(fields))
    return documents


def load_questions(path: Path) -> list[str]:
    """The dataset's questions, in file order."""
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line)["text"] for line in handle if line.strip()]


def engine_config() -> EngineConfig:
    """The configuration the server runs with (one torch thread per request)."""
    return EngineConfig(embedder=EmbedderConfig(threads=1), ingest_batch=1000)


def build_store(store: Path, corpus: Path) -> None:
    """Index the corpus into store unless that was done before."""
    if (store / "store.sqlite").exists():
        print(f"reusing store {store}")
        return
    documents = load_corpus(corpus)
    engine = Engine.open(store, EngineConfig(), embedder=shared_embedder())
    started = time.perf_counter()
    report = engine.ingest(documents)
    engine.close()
    print(
        f"built store {store}: {report.documents} documents, {report.chunks} chunks "
        f"in {time.perf_counter() - started:.1f} s"
    )


def start_server(store: Path) -> tuple[subprocess.Popen[bytes], str]:
    """`newsrag serve` on a free loopback port, rate limit off; returns once /readyz answers."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSRAG_")} | {"NEWSRAG_RATE_LIMIT": "0"}
    command = [sys.executable, "-m", "newsrag.cli", "--store", str(store), "serve", "--port", str(port)]
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                return process, url
        except httpx.TransportError:
            time.sleep(0.2)
    process.kill()
    raise SystemExit(f"server did not become ready (exit code {process.poll()})")


def run_phase(
    call: Callable[[str], bool], questions: list[str], concurrency: int, limit: int, budget: float
) -> Phase:
    """Up to `limit` calls from `concurrency` threads, stopping when `budget` seconds have passed."""
    phase = Phase()
    lock = threading.Lock()
    next_index = iter(range(limit))
    deadline = time.perf_counter() + budget

    def worker() -> None:
        while time.perf_counter() < deadline:
            with lock:
                index = next(next_index, None)
            if index is None:
                return
            started = time.perf_counter()
            ok = call(questions[index % len(questions)])
            elapsed = time.perf_counter() - started
            with lock:
                if ok:
                    phase.latencies.append(elapsed)
                else:
                    phase.errors += 1

    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        for _ in range(concurrency):
            pool.submit(worker)
    phase.seconds = time.perf_counter() - started
    return phase


def http_caller(url: str, endpoint: str) -> Callable[[str], bool]:
    """One request per question, each thread with its own keep-alive connection."""
    local = threading.local()

    def call(question: str) -> bool:
        client = getattr(local, "client", None) or httpx.Client(base_url=url, timeout=60)
        local.client = client
        if endpoint == "search":
            response = client.get("/v1/search", params={"q": question, "k": 10})
        else:
            response = client.post("/v1/ask", json={"question": question})
        return response.status_code == 200

    return call


def engine_caller(engine: Engine, endpoint: str) -> Callable[[str], bool]:
    """The same work as the HTTP route, called directly."""

    def call(question: str) -> bool:
        if endpoint == "search":
            engine.search(question, k=10)
        else:
            engine.ask(question)
        return True

    return call


def measure(
    sides: dict[str, Callable[[str], Callable[[str], bool]]], questions: list[str], args: argparse.Namespace
) -> dict[str, dict[str, Any]]:
    """Every endpoint at every concurrency for each side, alternating sides round by round.

    Alternating short rounds (same questions for both sides) keeps drifting background load from
    favouring whichever side happened to run first.
    """
    results: dict[str, dict[str, Any]] = {side: {} for side in sides}
    per_round = max(1, args.requests // args.rounds)
    for endpoint in ENDPOINTS:
        calls = {side: make(endpoint) for side, make in sides.items()}
        for call in calls.values():
            for question in questions[:WARMUP]:
                call(question)
        for concurrency in CONCURRENCY:
            phases = {side: Phase() for side in sides}
            for round_ in range(args.rounds):
                batch = questions[WARMUP + round_ * per_round :][:per_round]
                for side, call in calls.items():
                    phases[side].add(
                        run_phase(call, batch, concurrency, per_round, args.seconds / args.rounds)
                    )
            for side, phase in phases.items():
                results[side][f"{endpoint} c={concurrency}"] = summary = phase.summary()
                print(f"  {side:<6} {endpoint} c={concurrency}: {format_row(summary)}", flush=True)
    return results


def format_row(s: dict[str, float]) -> str:
    """One result as text."""
    return (
        f"n={s['n']:.0f} err={s['errors']:.0f} p50={s['p50']:.1f} ms p95={s['p95']:.1f} ms "
        f"p99={s['p99']:.1f} ms {s['rps']:.1f} req/s"
    )


def report(http: dict[str, Any], direct: dict[str, Any]) -> None:
    """The table, with HTTP/in-process ratios of median latency and of throughput."""
    print(
        f"\n{'phase':<12} {'HTTP p50/p95/p99 ms':>22} {'req/s':>7} {'engine p50/p95/p99 ms':>23} {'req/s':>7}"
        f" {'p50 ratio':>9} {'rps ratio':>9}"
    )
    for name, h in http.items():
        d = direct[name]
        print(
            f"{name:<12} {h['p50']:>8.1f}/{h['p95']:>5.1f}/{h['p99']:>6.1f} {h['rps']:>7.1f} "
            f"{d['p50']:>9.1f}/{d['p95']:>5.1f}/{d['p99']:>6.1f} {d['rps']:>7.1f} "
            f"{h['p50'] / d['p50']:>9.2f} {h['rps'] / d['rps']:>9.2f}"
        )


def main() -> None:
    """Build or reuse the store, measure over HTTP and in-process, and print the comparison."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=DATASET / "corpus.jsonl")
    parser.add_argument("--queries", type=Path, default=DATASET / "queries.jsonl")
    parser.add_argument("--store", type=Path, default=DEFAULT_STORE)
    parser.add_argument("--requests", type=int, default=300, help="requests per phase (default 300)")
    parser.add_argument("--seconds", type=float, default=30.0, help="time budget per phase (default 30)")
    parser.add_argument(
        "--rounds", type=int, default=3, help="alternations of HTTP and in-process (default 3)"
    )
    parser.add_argument("--out", type=Path, default=None, help="also write the results as JSON here")
    args = parser.parse_args()
    build_store(args.store, args.corpus)
    questions = load_questions(args.queries)
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores", flush=True)
    config = engine_config()
    engine = Engine.open(args.store, config, embedder=shared_embedder(config.embedder))
    process, url = start_server(args.store)
    try:
        sides = {
            "http": lambda endpoint: http_caller(url, endpoint),
            "engine": lambda endpoint: engine_caller(engine, endpoint),
        }
        results = measure(sides, questions, args)
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=60)
        engine.close()
    report(results["http"], results["engine"])
    if args.out:
        args.out.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
