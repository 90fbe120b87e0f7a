"""Load with an ingest in the middle: 50 concurrent clients for 60 s, `newsrag ingest` while they run.

Run: .venv/bin/python -m bench.load [--clients 50] [--seconds 60] [--documents 200] [--out FILE]

Copies the RealTimeQA store (bench/http.py builds it) to a temporary folder, starts `newsrag serve`
on it (loopback, rate limit off), and runs N client threads, each with its own keep-alive
connection, asking real RealTimeQA questions (three /v1/search to one /v1/ask) until the time is up.
A third of the way in it runs `newsrag ingest` of a batch of new documents as a separate process
on the same store; the clients go on for the full time and at least SETTLE seconds after the ingest
ends (so a slow ingest stretches the run). It reports transport errors, failed queries (any status
but 200), p50/p95/p99 and req/s per endpoint, before/during/after the ingest, and checks that every
new document is searchable at the end: lexical top 1 for its unique place name, hybrid top 10.
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
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
import numpy as np

from bench.http import DATASET, DEFAULT_STORE, build_store, load_questions, start_server

SETTLE = 10.0  # seconds of load after the ingest ends, to see the new snapshot served


@dataclass
class Outcome:
    """Every request's end time, endpoint, latency and result (status code, or 0 for a transport error)."""

    rows: list[tuple[float, str, float, int]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, ended: float, endpoint: str, latency: float, status: int) -> None:
        """Record one request."""
        with self.lock:
            self.rows.append((ended, endpoint, latency, status))


def new_documents(count: int) -> list[dict[str, str]]:
    """A batch of news-like documents, each with a made-up place name no other document contains."""
    return [
        {
            "id": f"load-{i}",
            "source": "LoadWire",
            "published_at": "2024-05-01",
            "text": f"The harbour council of Quellmarsh{i} approved a new ferry terminal on Tuesday. "
            f"Construction of the {i * 7 + 3}-berth terminal starts in June, officials said. "
            "Local fishermen welcomed the plan but asked for a quieter night schedule.",
        }
        for i in range(count)
    ]


def client_loop(url: str, questions: list[str], offset: int, stop: threading.Event, outcome: Outcome) -> None:
    """One client: search, search, search, ask, ... until stopped; every request recorded."""
    with httpx.Client(base_url=url, timeout=120) as client:
        n = offset
        while not stop.is_set():
            question = questions[n % len(questions)]
            endpoint = "ask" if n % 4 == 3 else "search"
            started = time.perf_counter()
            try:
                if endpoint == "ask":
                    status = client.post("/v1/ask", json={"question": question}).status_code
                else:
                    status = client.get("/v1/search", params={"q": question, "k": 10}).status_code
            except httpx.HTTPError:
                status = 0
            ended = time.perf_counter()
            outcome.add(ended, endpoint, ended - started, status)
            n += 1


def run_ingest(store: Path, documents: list[dict[str, str]], folder: Path) -> dict[str, Any]:
    """`newsrag ingest` of the documents as another process; its exit code, output and duration."""
    path = folder / "new.jsonl"
    path.write_text("".join(json.dumps(d) + "\n" for d in documents))
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSRAG_")}
    command = [sys.executable, "-m", "newsrag.cli", "--store", str(store), "ingest", str(path)]
    started = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    return {
        "started": started,
        "ended": time.perf_counter(),
        "returncode": done.returncode,
        "output": done.stdout.strip().splitlines()[-1:] + done.stderr.strip().splitlines()[-1:],
    }


def run_load(
    url: str, store: Path, questions: list[str], clients: int, seconds: float, documents: list[dict[str, str]]
) -> tuple[Outcome, dict[str, Any]]:
    """Clients for `seconds` (and SETTLE after the ingest), the ingest started a third of the way in."""
    outcome = Outcome()
    stop = threading.Event()
    deadline = time.perf_counter() + seconds
    threads = [
        threading.Thread(target=client_loop, args=(url, questions, i * 7, stop, outcome))
        for i in range(clients)
    ]
    for thread in threads:
        thread.start()
    time.sleep(seconds / 3)
    with tempfile.TemporaryDirectory() as folder:
        ingest = run_ingest(store, documents, Path(folder))
    time.sleep(max(deadline - time.perf_counter(), SETTLE))
    stop.set()
    for thread in threads:
        thread.join()
    return outcome, ingest


def unsearchable(url: str, documents: list[dict[str, str]]) -> dict[str, list[str]]:
    """New documents a search misses: lexical top 1 for the place name, hybrid top 10 for name + "ferry".

    Also hybrid top 10 for the name alone: when one document matches the query's terms, score
    fusion's min-max leaves the lexical list constant and the match is lost (rag/retrieve/fusion.py).
    """
    checks = {
        "lexical top 1": ("{name}", 1, "lexical"),
        "hybrid top 10": ("{name} ferry", 10, "hybrid"),
        "hybrid top 10, name alone": ("{name}", 10, "hybrid"),
    }
    missing: dict[str, list[str]] = {check: [] for check in checks}
    with httpx.Client(base_url=url, timeout=60) as client:
        for i, document in enumerate(documents):
            for check, (query, k, mode) in checks.items():
                params = {"q": query.format(name=f"Quellmarsh{i}"), "k": k, "mode": mode}
                hits = client.get("/v1/search", params=params).json()["hits"]
                if document["id"] not in [h["doc_id"] for h in hits]:
                    missing[check].append(document["id"])
    return missing


def summarise(rows: list[tuple[float, str, float, int]], seconds: float) -> dict[str, float]:
    """Count, transport errors, failed queries, p50/p95/p99 in ms and requests/s."""
    ms = np.asarray([r[2] for r in rows if r[3] == 200]) * 1000
    p50, p95, p99 = np.percentile(ms, [50, 95, 99]) if len(ms) else (float("nan"),) * 3
    return {
        "n": len(rows),
        "errors": sum(r[3] == 0 for r in rows),
        "failed": sum(r[3] not in (0, 200) for r in rows),
        "p50": float(p50),
        "p95": float(p95),
        "p99": float(p99),
        "rps": len(rows) / seconds if seconds else 0.0,
    }


def report(outcome: Outcome, ingest: dict[str, Any], started: float, ended: float) -> dict[str, Any]:
    """Summaries per endpoint and per period (before, during and after the ingest)."""
    rows = outcome.rows
    out: dict[str, Any] = {"all": summarise(rows, ended - started)}
    for endpoint in ("search", "ask"):
        out[endpoint] = summarise([r for r in rows if r[1] == endpoint], ended - started)
    periods = {
        "before ingest": (started, ingest["started"]),
        "during ingest": (ingest["started"], ingest["ended"]),
        "after ingest": (ingest["ended"], ended),
    }
    for name, (low, high) in periods.items():
        out[name] = summarise([r for r in rows if low <= r[0] < high], max(high - low, 1e-9))
    return out


def main() -> None:
    """Copy the store, serve it, load it with an ingest in the middle, check and print."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--base", type=Path, default=DEFAULT_STORE, help="RealTimeQA store (built if missing)"
    )
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--documents", type=int, default=200, help="new documents ingested mid-run")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    build_store(args.base, DATASET / "corpus.jsonl")
    questions = load_questions(DATASET / "queries.jsonl")
    documents = new_documents(args.documents)
    with tempfile.TemporaryDirectory(prefix="newsrag-load-") as folder:
        store = Path(folder) / "store"
        shutil.copytree(args.base, store)
        print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores", flush=True)
        process, url = start_server(store)
        try:
            started = time.perf_counter()
            outcome, ingest = run_load(url, store, questions, args.clients, args.seconds, documents)
            result = report(outcome, ingest, started, time.perf_counter())
            result["missing"] = unsearchable(url, documents)
        finally:
            process.send_signal(signal.SIGINT)
            process.wait(timeout=120)
    result["ingest"] = {k: v for k, v in ingest.items() if k not in ("started", "ended")}
    result["ingest"]["seconds"] = ingest["ended"] - ingest["started"]
    result["load_average"] = os.getloadavg()[0]
    print(
        f"\n{args.clients} clients, {args.seconds:.0f} s, {args.documents} new documents: {result['ingest']}"
    )
    print("| requests | n | errors | failed | p50 ms | p95 ms | p99 ms | req/s |\n" + "|---" * 8 + "|")
    for name, s in result.items():
        if isinstance(s, dict) and "p50" in s:
            print(
                f"| {name} | {s['n']} | {s['errors']} | {s['failed']} | {s['p50']:.0f} | {s['p95']:.0f} "
                f"| {s['p99']:.0f} | {s['rps']:.1f} |"
            )
    missed = {name: len(ids) for name, ids in result["missing"].items()}
    print(f"new documents not found at the end, of {args.documents}: {missed}")
    if args.out:
        args.out.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
