"""Hostile input: what pathological documents and questions cost, against ordinary news text.

Run from the repository root: .venv/bin/python -m bench.hostile [ingest|ask|all] [--sizes 100,200,500,1000]

ingest: for each size (KB), ordinary news text (RealTimeQA summaries joined, as one document) and
each pathological pattern of the same size, ingested into a fresh store; prints the wall time,
the part spent in the encoder, and the rest (splitting, chunking, hashing, the store write),
and each pathological document's rest as a ratio of the ordinary one's.

stages: the text passes alone (sentence splitting, chunking with the embedder's fit check) on
each document, timed directly: what ingest costs besides the encoder and the store write.

ask: a store holding the digest and the pathological documents; each hostile question is asked
several times and the worst and median latency printed, against ordinary questions.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from rag.config import EngineConfig
from rag.engine import Engine
from rag.ingest.chunking import chunk_document
from rag.ingest.embedder import Embedder, shared_embedder
from rag.ingest.loaders import load_documents
from rag.language.text import sentence_spans
from rag.types import Document

REPO = Path(__file__).resolve().parents[1]
NEWS = REPO.parent / "shared" / "datasets" / "realtimeqa-news" / "corpus.jsonl"
DIGEST = REPO / "data" / "news-digest.txt"


def ordinary(chars: int) -> str:
    """News summaries joined by blank lines, cut at a paragraph to about `chars` characters."""
    parts: list[str] = []
    size = 0
    with NEWS.open(encoding="utf-8") as lines:
        for line in lines:
            text = json.loads(line)["text"].strip()
            parts.append(text)
            size += len(text) + 2
            if size >= chars:
                break
    return "\n\n".join(parts)[:chars]


def _repeat(unit: str, chars: int) -> str:
    return (unit * (chars // len(unit) + 1))[:chars]


PATTERNS: dict[str, Callable[[int], str]] = {
    "dotted numbers 1.1.1": lambda n: _repeat("1.", n),
    "initials A. B. C.": lambda n: _repeat("A. B. C. ", n),
    "abbreviations U.S. Dr.": lambda n: _repeat("U.S. Dr. Mr. ", n),
    "one long word": lambda n: "x" * n,
    "periodic Rzeszów": lambda n: _repeat("Rzeszów", n),
    "dots only": lambda n: "." * n,
    "spaced dots": lambda n: _repeat(". ", n),
    "newlines": lambda n: _repeat("a\n", n),
    "capitalised names": lambda n: " ".join(f"Name{i} Word{i}." for i in range(n // 16))[:n],
    "numbers and units": lambda n: _repeat("12 years 3 months 4 days, ", n),
}


class TimedEmbedder(Embedder):
    """The shared embedder, with the seconds spent encoding counted."""

    def __init__(self, inner: Embedder) -> None:
        self.__dict__.update(inner.__dict__)
        self.encoding = 0.0

    def encode(self, texts, *, progress=False):  # type: ignore[no-untyped-def,override]
        started = time.perf_counter()
        try:
            return super().encode(texts, progress=progress)
        finally:
            self.encoding += time.perf_counter() - started


def ingest_cost(embedder: TimedEmbedder, document: Document) -> tuple[float, float]:
    """Seconds to ingest one document into a fresh store, and the part spent encoding."""
    with tempfile.TemporaryDirectory() as folder:
        engine = Engine.open(Path(folder) / "store", EngineConfig(), embedder=embedder)
        embedder.encoding = 0.0
        started = time.perf_counter()
        engine.ingest([document])
        total = time.perf_counter() - started
        engine.close()
        return total, embedder.encoding


def bench_ingest(sizes: list[int]) -> None:
    """Ordinary against pathological documents, size by size."""
    embedder = TimedEmbedder(shared_embedder())
    print(f"{'document':28} {'KB':>5} {'total s':>8} {'encode s':>9} {'rest s':>7} {'rest/ordinary':>14}")
    for kb in sizes:
        chars = kb * 1000
        total, encoding = ingest_cost(embedder, Document(f"ordinary-{kb}", ordinary(chars)))
        base = total - encoding
        print(f"{'ordinary news':28} {kb:5d} {total:8.2f} {encoding:9.2f} {base:7.2f} {1.0:14.2f}")
        for name, make in PATTERNS.items():
            total, encoding = ingest_cost(embedder, Document(f"{name}-{kb}", make(chars)))
            rest = total - encoding
            print(
                f"{name:28} {kb:5d} {total:8.2f} {encoding:9.2f} {rest:7.2f} {rest / base:14.2f}", flush=True
            )


def bench_stages(sizes: list[int]) -> None:
    """Sentence splitting and chunking alone, ordinary against pathological text, size by size."""
    embedder = shared_embedder()
    config = EngineConfig()
    print(f"{'document':28} {'KB':>5} {'split s':>8} {'chunk s':>8} {'chunks':>7}")
    for kb in sizes:
        texts = {"ordinary news": ordinary(kb * 1000)} | {n: make(kb * 1000) for n, make in PATTERNS.items()}
        for name, text in texts.items():
            started = time.perf_counter()
            sentence_spans(text)
            split = time.perf_counter() - started
            started = time.perf_counter()
            chunks = chunk_document(Document("d", text), config.chunking, embedder.fits)
            chunked = time.perf_counter() - started
            print(f"{name:28} {kb:5d} {split:8.3f} {chunked:8.3f} {len(chunks):7d}", flush=True)


HOSTILE_QUESTIONS = (
    "How long did the 1.1.1.1 outage last?",
    "How many alpha particles were counted?",
    " ".join(f"Name{i}" for i in range(120)) + "?",
    "What " + "very " * 150 + "long question is this?",
    "Who? " * 100,
)
ORDINARY_QUESTIONS = (
    "Which country is sending Patriot units to Ukraine?",
    "Who won the election?",
    "How long will the strike last?",
)


def bench_ask(chars: int, rounds: int) -> None:
    """Worst and median latency of hostile and ordinary questions over a hostile store."""
    with tempfile.TemporaryDirectory() as folder:
        engine = Engine.open(Path(folder) / "store", EngineConfig(), embedder=shared_embedder())
        engine.ingest(load_documents([DIGEST]).documents)
        engine.ingest(Document(f"hostile-{i}", make(chars)) for i, make in enumerate(PATTERNS.values()))
        engine.ingest([Document("ordinary-long", ordinary(chars))])
        engine.ask(ORDINARY_QUESTIONS[0])  # warm-up
        print(f"store: digest + {len(PATTERNS)} pathological and one ordinary document of {chars} chars")
        print(f"{'question':60} {'p50 ms':>8} {'worst ms':>9}")
        for kind, questions in (("ordinary", ORDINARY_QUESTIONS), ("hostile", HOSTILE_QUESTIONS)):
            for question in questions:
                times = []
                for _ in range(rounds):
                    started = time.perf_counter()
                    engine.ask(question)
                    times.append((time.perf_counter() - started) * 1000)
                label = f"{kind}: {question[:48]!r}"
                print(f"{label:60} {statistics.median(times):8.1f} {max(times):9.1f}", flush=True)
        engine.close()


def main() -> None:
    """Run the chosen part."""
    parser = argparse.ArgumentParser(prog="python -m bench.hostile")
    parser.add_argument("part", choices=("stages", "ingest", "ask", "all"), nargs="?", default="all")
    parser.add_argument("--sizes", default="100,200,500,1000", help="document sizes in KB")
    parser.add_argument("--ask-chars", type=int, default=50_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if args.part in ("stages", "all"):
        bench_stages([int(s) for s in args.sizes.split(",")])
    if args.part in ("ingest", "all"):
        bench_ingest([int(s) for s in args.sizes.split(",")])
    if args.part in ("ask", "all"):
        bench_ask(args.ask_chars, args.rounds)


if __name__ == "__main__":
    main()
