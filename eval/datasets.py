"""BEIR-layout datasets: corpus.jsonl, queries.jsonl, qrels/<split>.tsv and optional answers.jsonl."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from eval.splits import Split, rtqa_split, squad_article, squad_splits
from rag.errors import CorpusFormatError, InvalidRequestError
from rag.ingest.loaders import parse_date
from rag.types import Document

CORPUS_FILE = "corpus.jsonl"
QUERIES_FILE = "queries.jsonl"
ANSWERS_FILE = "answers.jsonl"
QRELS_HEADER = ("query-id", "corpus-id", "score")
_DOCUMENT_FIELDS = frozenset({"source", "url", "date"})


@dataclass(frozen=True)
class AnswerKey:
    """The gold answers of one question; None flags mean the set does not say."""

    answers: tuple[str, ...]
    is_impossible: bool | None = None
    answer_in_evidence: bool | None = None
    asked: datetime | None = None  # when the question was asked (a bare date means its last instant)
    corpus_id: str | None = None  # the document the question was written about, where the set says


@dataclass(frozen=True)
class Dataset:
    """One evaluation set: documents, queries in file order, judgements of one split, answers."""

    name: str
    root: Path
    split: str
    corpus_path: Path
    documents: tuple[Document, ...]
    queries: Mapping[str, str]
    qrels: Mapping[str, Mapping[str, int]]
    answers: Mapping[str, AnswerKey] = field(default_factory=dict)
    # The earlier questions of a conversation a query follows up ("history" in queries.jsonl).
    histories: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def relevant(self, qid: str) -> dict[str, int]:
        """The documents judged relevant (score > 0) to qid, with their grades."""
        return {doc_id: grade for doc_id, grade in self.qrels.get(qid, {}).items() if grade > 0}

    def is_judged(self, qid: str) -> bool:
        """True when qid has at least one relevant document, so retrieval can be scored."""
        return any(grade > 0 for grade in self.qrels.get(qid, {}).values())

    def sizes(self) -> dict[str, int]:
        """Counts for the report: documents, queries, judged queries, qrels lines, answers."""
        return {
            "documents": len(self.documents),
            "queries": len(self.queries),
            "judged_queries": sum(1 for qid in self.queries if self.is_judged(qid)),
            "qrels_lines": sum(len(judged) for judged in self.qrels.values()),
            "answer_records": len(self.answers),
            "unanswerable": sum(1 for key in self.answers.values() if key.is_impossible),
        }


def load_dataset(root: Path, split: str = "test", queries_file: str = QUERIES_FILE) -> Dataset:
    """Read a BEIR folder; a missing file or malformed line raises CorpusFormatError naming it."""
    root = Path(root)
    if not root.is_dir():
        raise InvalidRequestError(f"dataset folder {root} does not exist: pass a BEIR-layout folder")
    corpus_path = _required(root / CORPUS_FILE, "the corpus")
    queries_path = _required(root / queries_file, "the queries")
    qrels_path = _required(root / "qrels" / f"{split}.tsv", f"the qrels of split {split!r}")
    answers_path = root / ANSWERS_FILE
    queries, histories = _queries(queries_path)
    return Dataset(
        name=root.resolve().name,
        root=root,
        split=split,
        corpus_path=corpus_path,
        documents=tuple(_documents(corpus_path)),
        queries=queries,
        qrels=_qrels(qrels_path),
        answers=_answers(answers_path) if answers_path.is_file() else {},
        histories=histories,
    )


def select_queries(
    dataset: Dataset,
    limit: int | None = None,
    sample: int | None = None,
    seed: int = 0,
    ids_from: str | None = None,
    part: Split | None = None,
) -> list[str]:
    """The query ids to run, in file order: judged or answer-keyed ones, from an id on, of one part
    of the reader's split (eval/splits.py), cut or sampled.

    ids_from keeps the ids that sort at or after it: RealTimeQA's ids start with the question's
    date, so ids_from="2022" is its held-out part (the earlier questions are the dev data).
    """
    useful = [qid for qid in dataset.queries if dataset.is_judged(qid) or qid in dataset.answers]
    if ids_from is not None:
        useful = [qid for qid in useful if qid >= ids_from]
    if part is not None:
        splits = article_splits(dataset)
        useful = [qid for qid in useful if split_of(dataset, qid, splits) == part]
    if sample is not None and sample < len(useful):
        chosen = set(random.Random(seed).sample(useful, sample))
        useful = [qid for qid in useful if qid in chosen]
    return useful[:limit] if limit is not None else useful


def article_splits(dataset: Dataset) -> dict[str, Split]:
    """Each SQuAD article's part of the reader's split (empty for other sets)."""
    if not dataset.name.startswith("squad"):
        return {}
    return squad_splits({squad_article(k.corpus_id) for k in dataset.answers.values() if k.corpus_id})


def split_of(dataset: Dataset, qid: str, articles: Mapping[str, Split]) -> Split:
    """Which part of the reader's split a question is in: SQuAD by its article (articles from
    article_splits), RealTimeQA by its year; any other set was never trained on, so all is test."""
    key = dataset.answers.get(qid)
    if key is not None and key.corpus_id is not None and articles:
        return articles[squad_article(key.corpus_id)]
    if dataset.name.startswith("realtimeqa") and key is not None and key.asked is not None:
        return rtqa_split(key.asked.strftime("%Y"))
    return "test"


def _required(path: Path, what: str) -> Path:
    if not path.is_file():
        raise CorpusFormatError(f"{what} file is missing: expected {path}")
    return path


def _records(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise CorpusFormatError(f"malformed JSON: {exc.msg}", path=str(path), line=number) from None
            if not isinstance(record, dict):
                raise CorpusFormatError("each line must be a JSON object", path=str(path), line=number)
            yield number, record


def _string(record: dict[str, Any], key: str, path: Path, line: int, *, required: bool = True) -> str | None:
    value = record.get(key)
    if value is None and not required:
        return None
    if isinstance(value, int) and not isinstance(value, bool) and key == "_id":
        return str(value)
    if not isinstance(value, str) or (required and not value.strip()):
        raise CorpusFormatError(f"field {key!r} must be a non-empty string", path=str(path), line=line)
    return value


def _documents(path: Path) -> Iterator[Document]:
    seen: set[str] = set()
    for line, record in _records(path):
        doc_id = _string(record, "_id", path, line) or ""
        if doc_id in seen:
            raise CorpusFormatError(f"duplicate document id {doc_id!r}", path=str(path), line=line)
        seen.add(doc_id)
        yield to_document(record, doc_id, path, line)


def to_document(record: dict[str, Any], doc_id: str, path: Path, line: int) -> Document:
    """A BEIR corpus record as a Document; metadata source, url and date fill the Document fields."""
    metadata = record.get("metadata") or {}
    if not isinstance(metadata, dict):
        raise CorpusFormatError("field 'metadata' must be an object", path=str(path), line=line)
    try:
        published_at = parse_date(metadata.get("date"))
    except CorpusFormatError as exc:
        raise CorpusFormatError(exc.reason, path=str(path), line=line) from None
    return Document(
        doc_id=doc_id,
        text=_string(record, "text", path, line) or "",
        title=(_string(record, "title", path, line, required=False) or "").strip() or None,
        source=_optional(metadata.get("source")),
        url=_optional(metadata.get("url")),
        published_at=published_at,
        metadata={k: v for k, v in metadata.items() if k not in _DOCUMENT_FIELDS},
    )


def _optional(value: Any) -> str | None:
    return value.strip() or None if isinstance(value, str) else None


def _queries(path: Path) -> tuple[dict[str, str], dict[str, tuple[str, ...]]]:
    """The queries by id, and the earlier questions of those that follow up a conversation."""
    queries: dict[str, str] = {}
    histories: dict[str, tuple[str, ...]] = {}
    for line, record in _records(path):
        qid = _string(record, "_id", path, line) or ""
        if qid in queries:
            raise CorpusFormatError(f"duplicate query id {qid!r}", path=str(path), line=line)
        queries[qid] = _string(record, "text", path, line) or ""
        history = record.get("history")
        if history is None:
            continue
        if not isinstance(history, list) or not all(isinstance(q, str) and q.strip() for q in history):
            raise CorpusFormatError(
                "field 'history' must be a list of the earlier questions (non-empty strings)",
                path=str(path),
                line=line,
            )
        histories[qid] = tuple(history)
    return queries, histories


def _qrels(path: Path) -> dict[str, dict[str, int]]:
    qrels: dict[str, dict[str, int]] = {}
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            parts = line.split()
            if not parts or (number == 1 and tuple(parts) == QRELS_HEADER):
                continue
            if len(parts) not in (3, 4):
                raise CorpusFormatError(
                    "expected 'query-id corpus-id score' (or TREC 'qid 0 docid score')",
                    path=str(path),
                    line=number,
                )
            qid, doc_id, grade = (
                (parts[0], parts[1], parts[2]) if len(parts) == 3 else (parts[0], parts[2], parts[3])
            )
            try:
                qrels.setdefault(qid, {})[doc_id] = int(grade)
            except ValueError:
                raise CorpusFormatError(
                    f"score {grade!r} is not an integer", path=str(path), line=number
                ) from None
    return qrels


def _answers(path: Path) -> dict[str, AnswerKey]:
    answers: dict[str, AnswerKey] = {}
    for line, record in _records(path):
        qid = _string(record, "_id", path, line) or ""
        golds = record.get("answers", [])
        if not isinstance(golds, list) or not all(isinstance(g, str) for g in golds):
            raise CorpusFormatError("field 'answers' must be a list of strings", path=str(path), line=line)
        answers[qid] = AnswerKey(
            answers=tuple(g for g in golds if g.strip()),
            is_impossible=_flag(record, "is_impossible", path, line),
            answer_in_evidence=_flag(record, "answer_in_evidence", path, line),
            asked=_asked(record.get("date"), path, line),
            corpus_id=_string(record, "corpus_id", path, line, required=False),
        )
    return answers


def _asked(value: Any, path: Path, line: int) -> datetime | None:
    """The moment a question was asked: a bare date stands for the end of that day."""
    try:
        moment = parse_date(value)
    except CorpusFormatError as exc:
        raise CorpusFormatError(
            exc.reason.replace("'published_at'", "'date'"), path=str(path), line=line
        ) from None
    if moment is not None and len(str(value).strip()) <= len("2024-12-05"):
        moment += timedelta(days=1) - timedelta(microseconds=1)
    return moment


def _flag(record: dict[str, Any], key: str, path: Path, line: int) -> bool | None:
    value = record.get(key)
    if value is not None and not isinstance(value, bool):
        raise CorpusFormatError(f"field {key!r} must be true or false", path=str(path), line=line)
    return value
