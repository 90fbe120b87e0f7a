"""Run queries against an engine: document rankings per retrieval mode, and composed answers."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from eval.metrics import DEPTH
from rag.limits import MAX_K
from rag.types import Answer, Document, Filters, Passage, Turn

Progress = Callable[[int], None]


class Searcher(Protocol):
    """What the harness needs from an engine for retrieval."""

    def search(self, query: str, k: int = 10, filters: Any = None, mode: str = "hybrid") -> list[Passage]: ...


@runtime_checkable
class Asker(Protocol):
    """What the harness needs from an engine for answers."""

    def ask(self, question: str, filters: Any = None, history: Sequence[Turn] | None = None) -> Answer: ...

    def document(self, doc_id: str) -> Document | None: ...


@dataclass(frozen=True)
class ModeRun:
    """One retrieval mode over the queries: (doc_id, score) rankings, best first, and timings."""

    mode: str
    rankings: Mapping[str, tuple[tuple[str, float], ...]]
    seconds: float
    latencies_ms: tuple[float, ...]

    def doc_ids(self) -> dict[str, list[str]]:
        """The rankings as doc ids only, for the metrics."""
        return {qid: [doc_id for doc_id, _ in ranked] for qid, ranked in self.rankings.items()}


@dataclass(frozen=True)
class AnswerRun:
    """engine.ask over the answer-keyed queries, with timings."""

    answers: Mapping[str, Answer]
    seconds: float
    latencies_ms: tuple[float, ...]


def rank_documents(
    engine: Searcher, query: str, mode: str, depth: int = DEPTH, filters: Filters | None = None
) -> tuple[tuple[str, float], ...]:
    """The depth best documents, each scored by its best chunk; asks for more chunks until depth is met."""
    k = min(MAX_K, depth * 2)
    while True:
        passages = engine.search(query, k=k, filters=filters, mode=mode)
        best: dict[str, float] = {}
        for passage in passages:  # engine order is best first, whatever the score's scale
            best.setdefault(passage.doc_id, passage.score)
        if len(best) >= depth or len(passages) < k or k == MAX_K:
            return tuple(best.items())[:depth]
        k = min(MAX_K, k * 2)


def run_mode(
    engine: Searcher,
    queries: Mapping[str, str],
    mode: str,
    depth: int = DEPTH,
    progress: Progress | None = None,
    filters: Mapping[str, Filters] | None = None,
) -> ModeRun:
    """Rank documents for every query under one mode, each under its filters when given."""
    rankings: dict[str, tuple[tuple[str, float], ...]] = {}
    latencies: list[float] = []
    started = time.perf_counter()
    for qid, text in queries.items():
        tick = time.perf_counter()
        rankings[qid] = rank_documents(engine, text, mode, depth, (filters or {}).get(qid))
        latencies.append((time.perf_counter() - tick) * 1000)
        if progress is not None:
            progress(1)
    return ModeRun(mode, rankings, time.perf_counter() - started, tuple(latencies))


def ask_all(
    engine: Asker,
    queries: Mapping[str, str],
    progress: Progress | None = None,
    filters: Mapping[str, Filters] | None = None,
    histories: Mapping[str, Sequence[str]] | None = None,
) -> AnswerRun:
    """Compose an answer for every query, each under its filters and after its conversation when given."""
    answers: dict[str, Answer] = {}
    latencies: list[float] = []
    started = time.perf_counter()
    for qid, text in queries.items():
        history = [Turn(question) for question in (histories or {}).get(qid, ())]
        tick = time.perf_counter()
        answers[qid] = engine.ask(text, filters=(filters or {}).get(qid), history=history)
        latencies.append((time.perf_counter() - tick) * 1000)
        if progress is not None:
            progress(1)
    return AnswerRun(answers, time.perf_counter() - started, tuple(latencies))


def percentile(values: Sequence[float], q: float) -> float | None:
    """The q-th percentile (0-100) by linear interpolation between order statistics; None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)
