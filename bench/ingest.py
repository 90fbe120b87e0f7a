"""Ingest throughput against the raw encoder on the same texts, and store size per chunk.

Run from the repository root: .venv/bin/python -m bench.ingest [--corpus PATH] [--limit N] [--threads T]

Ingests a BEIR corpus.jsonl into a fresh store, then encodes the very texts the ingest
embedded (chunk inputs and sentences) with the bare model in the same process, and
prints docs/s, chunks/s, the ingest/encoder throughput ratio and bytes on disk per chunk.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path

from rag.config import EngineConfig
from rag.engine import Engine
from rag.ingest.chunking import chunk_document
from rag.ingest.embedder import EmbedderConfig, shared_embedder
from rag.ingest.loaders import parse_record
from rag.ingest.records import embedding_input
from rag.language.text import sentence_spans
from rag.types import Document

DEFAULT_CORPUS = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "scifact" / "corpus.jsonl"


def load(path: Path, limit: int | None) -> list[Document]:
    """BEIR records as documents (title, text, and the source/date/url metadata when present)."""
    documents = []
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            record = json.loads(line)
            meta = record.get("metadata") or {}
            documents.append(
                parse_record(
                    {
                        "id": record["_id"],
                        "text": record["text"],
                        "title": record.get("title") or None,
                        "source": meta.get("source"),
                        "url": meta.get("url"),
                        "published_at": meta.get("date"),
                    }
                )
            )
            if limit and len(documents) >= limit:
                break
    return documents


def main() -> None:
    """Measure and print."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    documents = load(args.corpus, args.limit)
    config = EngineConfig(embedder=EmbedderConfig(threads=args.threads))
    embedder = shared_embedder(config.embedder)
    folder = Path(tempfile.mkdtemp(prefix="newsrag-bench-"))
    try:
        engine = Engine.open(folder / "store", config, embedder=embedder)
        started = time.perf_counter()
        report = engine.ingest(documents)
        ingest_seconds = time.perf_counter() - started
        engine.close()
        size = sum(p.stat().st_size for p in (folder / "store").iterdir())
        texts = []
        for document in documents:
            chunks = chunk_document(document, config.chunking, embedder.fits)
            texts += [embedding_input(document, c) for c in chunks]
            texts += [document.text[s.start : s.end] for s in sentence_spans(document.text)]
        started = time.perf_counter()
        embedder.encode(texts)
        encode_seconds = time.perf_counter() - started
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    print(f"corpus            {args.corpus} ({len(documents)} documents)")
    print(f"chunks/sentences  {report.chunks} / {report.sentences} ({len(texts)} texts embedded)")
    print(
        f"ingest            {ingest_seconds:.1f} s: {len(documents) / ingest_seconds:.1f} docs/s, "
        f"{report.chunks / ingest_seconds:.1f} chunks/s"
    )
    print(
        f"raw encoder       {encode_seconds:.1f} s on the same {len(texts)} texts: "
        f"{len(texts) / encode_seconds:.1f} texts/s"
    )
    print(f"ratio             {encode_seconds / ingest_seconds:.3f} (ingest throughput / encoder throughput)")
    print(f"store size        {size / 1e6:.1f} MB, {size / max(report.chunks, 1):.0f} bytes per chunk")


if __name__ == "__main__":
    main()
