"""Per-query run files: run.tsv (TREC format, one tag per mode) and per_query.jsonl."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from eval.answer_metrics import paired_values
from eval.scoring import Evaluation
from index import atomic
from rag.types import Answer

RUN_FILE = "run.tsv"
PER_QUERY_FILE = "per_query.jsonl"
METRICS_FILE = "metrics.json"
REPORT_FILE = "report.md"
JSONL_RANKING = 10  # documents per mode kept in per_query.jsonl; run.tsv holds the full depth


def write_atomic(path: Path, lines: Iterable[str]) -> None:
    """Write lines to a temporary name, fsync, then rename over path: never a half file."""

    def write(temporary: Path) -> None:
        with temporary.open("w", encoding="utf-8") as handle:
            handle.writelines(lines)

    atomic.write_atomic(path, write)


def trec_lines(evaluation: Evaluation) -> Iterable[str]:
    """'qid Q0 docid rank score tag' lines, tagged with the mode, tab-separated."""
    for result in evaluation.modes:
        for qid, ranked in result.run.rankings.items():
            for rank, (doc_id, score) in enumerate(ranked, start=1):
                yield f"{qid}\tQ0\t{doc_id}\t{rank}\t{score:.6f}\t{result.run.mode}\n"


def answer_record(answer: Answer) -> dict[str, Any]:
    """The parts of an Answer worth keeping per query."""
    short = answer.short_answer
    return {
        "text": answer.text,
        "abstained": answer.abstained,
        "confidence": answer.confidence,
        "short_answer": None if short is None else {"text": short.text, "doc_id": short.doc_id},
        "sentences": [
            {
                "text": s.text,
                "score": s.score,
                "citations": [{"doc_id": c.doc_id, "start": c.start, "end": c.end} for c in s.citations],
            }
            for s in answer.sentences
        ],
    }


def per_query_lines(evaluation: Evaluation) -> Iterable[str]:
    """One JSON object per query run: relevant docs, top documents and metrics per mode, the answer."""
    answers = evaluation.answers
    for qid in evaluation.queries:
        record: dict[str, Any] = {
            "qid": qid,
            "query": evaluation.dataset.queries[qid],
            "relevant": evaluation.dataset.relevant(qid),
            "retrieval": {},
            "answer": None,
        }
        for result in evaluation.modes:
            if qid in result.run.rankings:
                record["retrieval"][result.run.mode] = {
                    "ranking": [[d, round(s, 6)] for d, s in result.run.rankings[qid][:JSONL_RANKING]],
                    "metrics": {name: values[qid] for name, values in result.per_query.items()},
                }
        if answers.run is not None and qid in answers.run.answers:
            outcome = answers.outcomes[qid]
            record["answer"] = {
                **answer_record(answers.run.answers[qid]),
                "metrics": paired_values(outcome),
                "cited": list(outcome.cited),
                "bad_citations": outcome.bad_citations,
            }
        yield json.dumps(record, ensure_ascii=False) + "\n"


def write_run_files(evaluation: Evaluation, folder: Path) -> list[Path]:
    """Write run.tsv and per_query.jsonl into folder; returns their paths."""
    run_path, per_query_path = folder / RUN_FILE, folder / PER_QUERY_FILE
    write_atomic(run_path, trec_lines(evaluation))
    write_atomic(per_query_path, per_query_lines(evaluation))
    return [run_path, per_query_path]
