"""Reading in two rounds: the first windows, then the rest only when no finding is sure enough.

Run from the repository root:
    .venv/bin/python -m bench.reading_rounds DATASET [--part P] [--ids-from ID] [--as-asked]
        [--variants 5:1.0,2:0.8,...] [--timing-queries N]

A variant FIRST:ENOUGH reads FIRST windows, then the other windows of the five only when the
first round's best finding is under ENOUGH probable (5:1.0 reads all five, as one round). For each
variant it prints the answer metrics of `newsrag eval` over the questions chosen, the windows the
reader read per question, and, timed interleaved on the same questions (one onnxruntime thread),
`ask` at the p50 and over `search`. Choose on calibration data (the digest, `--part calibration`);
report the held-out parts.
"""

from __future__ import annotations

import argparse
import statistics
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from eval.datasets import load_dataset, select_queries
from eval.harness import Plan, as_of_filters, evaluate
from eval.index_cache import open_indexed
from rag.compose.reader import Reader
from rag.config import EngineConfig
from rag.engine import Engine
from rag.ingest.embedder import shared_embedder

REPO = Path(__file__).resolve().parents[1]
METRICS = ("answer_hit", "answer_hit_first", "em", "f1", "abstention_precision", "abstention_recall")


def parse_variants(text: str) -> list[tuple[int, float]]:
    """ "5:1.0,2:0.8" as [(5, 1.0), (2, 0.8)]."""
    variants = []
    for part in text.split(","):
        first, enough = part.split(":")
        variants.append((int(first), float(enough)))
    return variants


def configured(engine: Engine, first: int, enough: float) -> EngineConfig:
    """The engine's configuration reading `first` windows first and the rest below `enough`."""
    answer = replace(engine.config.answer, read_first=first, read_enough=enough)
    return replace(engine.config, answer=answer)


class Counting:
    """Counts the windows Reader.read is given while installed."""

    def __init__(self) -> None:
        self.windows = 0
        self._read = Reader.read

    def __enter__(self) -> Counting:
        counter = self

        def read(reader: Reader, question: str, windows: Any) -> Any:
            counter.windows += len(windows)
            return counter._read(reader, question, windows)

        Reader.read = read  # type: ignore[method-assign]
        return self

    def __exit__(self, *exc: object) -> None:
        Reader.read = self._read  # type: ignore[method-assign]


def main() -> None:
    """Score and time each variant on one dataset part."""
    parser = argparse.ArgumentParser(prog="python -m bench.reading_rounds")
    parser.add_argument("dataset", type=Path)
    parser.add_argument("--part", choices=("train", "calibration", "test"))
    parser.add_argument("--ids-from")
    parser.add_argument("--as-asked", action="store_true")
    parser.add_argument("--variants", type=parse_variants, default=parse_variants("5:1.0,2:0.8,2:0.7,2:0.6"))
    parser.add_argument("--timing-queries", type=int, default=150)
    parser.add_argument("--cache-dir", type=Path, default=REPO / ".newsrag" / "eval-cache")
    args = parser.parse_args()

    dataset = load_dataset(args.dataset)
    qids = select_queries(dataset, ids_from=args.ids_from, part=args.part)
    engine, index = open_indexed(dataset, args.cache_dir, EngineConfig(), shared_embedder())
    base = engine.config
    plan = Plan(tuple(qids), (), as_asked=args.as_asked)
    print(f"{dataset.name} {args.part or ''} {args.ids_from or ''}: {len(qids)} questions")
    print("| first:enough | " + " | ".join(METRICS) + " | windows read per question |")
    print("|---" * (len(METRICS) + 2) + "|")
    for first, enough in args.variants:
        engine.config = configured(engine, first, enough)
        with Counting() as counting:
            result = evaluate(dataset, engine, index, plan).answers
        asked = len(result.outcomes) or 1
        figures = " | ".join(_figure(result.summary.get(m)) for m in METRICS)
        print(f"| {first}:{enough} | {figures} | {counting.windows / asked:.2f} |")

    filters = as_of_filters(dataset, qids) if args.as_asked else {}
    questions = [(qid, dataset.queries[qid]) for qid in qids[: args.timing_queries]]
    times: dict[tuple[int, float], list[float]] = {v: [] for v in args.variants}
    search: list[float] = []
    engine.config = base
    engine.ask(questions[0][1])  # warm-up
    for qid, question in questions:
        started = time.perf_counter()
        engine.search(question, k=base.answer.top_k, filters=filters.get(qid))
        search.append(time.perf_counter() - started)
        for variant in args.variants:
            engine.config = configured(engine, *variant)
            started = time.perf_counter()
            engine.ask(question, filters=filters.get(qid))
            times[variant].append(time.perf_counter() - started)
    s = statistics.median(search) * 1000
    print(f"\ninterleaved over {len(questions)} questions: search p50 {s:.1f} ms")
    for (first, enough), spent in times.items():
        a = statistics.median(spent) * 1000
        print(f"{first}:{enough}: ask p50 {a:.1f} ms, over search {a - s:+.1f} ms")
    engine.close()


def _figure(value: float | None) -> str:
    return "—" if value is None else f"{value:.3f}"


if __name__ == "__main__":
    main()
