"""In-process cost of each retrieval stage on one store: open, embed, dense, lexical, fill, fusion, ask.

Run: .venv/bin/python -m bench.stages STORE [--questions N] [--out FILE]

Opens the store (recording seconds and the peak RSS the open reached), then for each RealTimeQA
question times, on one thread: embedding it; the dense top 100; the lexical top 100; the fill
(the BM25 of the dense-only candidates and the vectors of the lexical-only ones); the score fusion;
a whole `search` (k=10, hybrid) and a whole `ask`. Prints one JSON object of medians and p95s in
ms. The engine is configured as the service is (api.app.engine_config over NEWSRAG_* settings,
so NEWSRAG_READ_FIRST reads in two rounds here too). It uses only calls that the store has had
since before the lexical index moved to tantivy, so bench/scale_lexical.py runs it against either
checkout (PYTHONPATH).
"""

from __future__ import annotations

import sys
from pathlib import Path

if sys.path and Path(sys.path[0]).resolve() == Path(__file__).resolve().parent:
    sys.path.pop(0)  # bench/http.py would shadow the standard library's http (see bench/http.py)

import argparse
import json
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from api.app import engine_config
from api.settings import Settings
from rag.engine import Engine
from rag.ingest.embedder import shared_embedder
from rag.retrieve.candidates import Candidates
from rag.retrieve.pipeline import PLANS, RetrievalConfig, fuse

try:  # the query side of the tantivy index
    from rag.retrieve.lexical import lexical_phrases as lexical_query
except ImportError:  # the FTS5 expression of the checkout before it
    from rag.retrieve.lexical import fts_query as lexical_query  # type: ignore[attr-defined,no-redef]

DATASET = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "realtimeqa-news"


def peak_rss_mb() -> dict[str, float]:
    """This process's VmRSS and VmHWM, in MB."""
    fields = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines())
    return {key: int(fields[key].split()[0]) / 1024 for key in ("VmRSS", "VmHWM")}


def questions(count: int) -> list[str]:
    """The first `count` RealTimeQA questions."""
    with (DATASET / "queries.jsonl").open(encoding="utf-8") as handle:
        return [json.loads(line)["text"] for line in handle][:count]


def main() -> None:
    """Time every stage over the questions and print the medians."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("store", type=Path)
    parser.add_argument("--questions", type=int, default=100)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    embedder = shared_embedder()
    before = peak_rss_mb()
    started = time.perf_counter()
    # The service's own configuration from NEWSRAG_* (reading rounds and all), as `newsrag serve` has it.
    engine = Engine.open(args.store, engine_config(Settings()), embedder=embedder, create=False)
    result: dict[str, Any] = {"open_s": time.perf_counter() - started, "rss_before_open_mb": before}
    result["rss_after_open_mb"] = peak_rss_mb()
    snapshot, config = engine.store.snapshot(), RetrievalConfig()
    result["chunks"] = snapshot.count("chunks")
    times: dict[str, list[float]] = {}

    def timed(stage: str, work: Callable[[], Any]) -> Any:
        at = time.perf_counter()
        value = work()
        times.setdefault(stage, []).append(time.perf_counter() - at)
        return value

    asked = questions(args.questions)
    for text in asked[:3]:  # warm the caches and the model
        engine.ask(text)
    for text in asked:
        vector = timed("embed", lambda text=text: engine.embed_query(text))
        match = lexical_query(text)
        dense = timed("dense", lambda vector=vector: snapshot.dense(vector, config.depth))
        lexical = timed("lexical", lambda match=match: snapshot.lexical(match, config.depth))
        dense_scores, lexical_scores = dict(dense), dict(lexical)

        def fill(match=match, vector=vector, dense=dense_scores, lexical=lexical_scores) -> dict:
            vectors = snapshot.chunk_vectors([i for i in lexical if i not in dense])
            dense.update({i: float(v @ vector) for i, v in vectors.items()})
            lexical.update(snapshot.lexical_scores(match, [i for i in dense if i not in lexical]))
            return vectors

        vectors = timed("fill", fill)
        candidates = Candidates(dense, lexical, dense_scores, lexical_scores, vectors)
        timed("fusion", lambda candidates=candidates: fuse(PLANS["hybrid"], candidates, config))
        timed("search", lambda text=text: engine.search(text, k=10))
        timed("ask", lambda text=text: engine.ask(text))
    result["ms"] = {
        stage: {"p50": float(np.median(ts) * 1000), "p95": float(np.percentile(ts, 95) * 1000)}
        for stage, ts in times.items()
    }
    result["questions"] = len(asked)
    engine.close()
    print(json.dumps(result, indent=2))
    if args.out:
        args.out.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
