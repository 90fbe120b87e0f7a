"""The Milvus store's read view: every query filtered to the rows visible at one generation."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from pymilvus import MilvusClient

from index.lexical import NEWS_ANALYZER, TITLE_REPEATS
from index.milvus_schema import Names, filter_expression, literal, milvus_errors, one_of, visible
from index.records import ChunkRow, DocumentRow, RowFilter, SentenceRow

MAX_LIMIT = 16_384  # Milvus's largest top-k and query window
_BATCH = 1_000  # rows per query_iterator batch
_RANGES_PER_QUERY = 100  # bound on one expression's size
_IDS_PER_QUERY = 1_000
_DOCUMENT_FIELDS = ["doc_id", "title", "source", "url", "published_at", "metadata"]
_CHUNK_FIELDS = ["chunk_id", "ordinal", "start_char", "end_char", "text", *_DOCUMENT_FIELDS]
_STRONG = {"consistency_level": "Strong"}


class MilvusView:
    """The store at one published generation (index/milvus.py says what that guarantees)."""

    def __init__(self, client: MilvusClient, names: Names, generation: int) -> None:
        self._client = client
        self._names = names
        self.generation = generation
        self._visible = visible(generation)

    def _where(self, *clauses: str) -> str:
        return " and ".join([self._visible, *(f"({c})" for c in clauses if c)])

    def _query(self, collection: str, where: str, fields: list[str]) -> list[dict[str, Any]]:
        """Every row passing where, in batches (a single query returns at most MAX_LIMIT)."""
        with milvus_errors(f"reading {collection}"):
            rows: list[dict[str, Any]] = list(
                self._client.query(collection, filter=where, output_fields=fields, limit=MAX_LIMIT, **_STRONG)
            )
            if len(rows) < MAX_LIMIT:
                return rows
            rows = []  # more than one window holds: read them all again, batch by batch
            iterator = self._client.query_iterator(
                collection, batch_size=_BATCH, filter=where, output_fields=fields, **_STRONG
            )
            try:
                while batch := iterator.next():
                    rows.extend(batch)
            finally:
                iterator.close()
        return rows

    def _by_ids(
        self, collection: str, key: str, ids: Sequence[int], fields: list[str]
    ) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        for at in range(0, len(ids), _IDS_PER_QUERY):
            part = [int(i) for i in ids[at : at + _IDS_PER_QUERY]]
            rows.extend(self._query(collection, self._where(one_of(key, part)), fields))
        return rows

    def _search(
        self, data: list[Any], field: str, k: int, where: str, metric: str
    ) -> list[tuple[int, float]]:
        params: dict[str, Any] = {"metric_type": metric}
        if metric == "IP":
            params["params"] = {"ef": max(k, 64)}  # HNSW's candidate list; FLAT ignores it
        with milvus_errors("searching chunks"):
            found = self._client.search(
                self._names.chunks,
                data=data,
                anns_field=field,
                limit=min(k, MAX_LIMIT),
                filter=where,
                output_fields=["chunk_id"],
                search_params=params,
                **_STRONG,
            )
        return [(int(hit["entity"]["chunk_id"]), float(hit["distance"])) for hit in found[0]]

    def dense(self, vector: np.ndarray, k: int, allowed: np.ndarray | None = None) -> list[tuple[int, float]]:
        """Nearest chunks by inner product (ReadView.dense)."""
        if k <= 0 or (allowed is not None and len(allowed) == 0):
            return []
        where = self._where(one_of("chunk_id", allowed.tolist()) if allowed is not None else "")
        return self._search([np.asarray(vector, np.float32).tolist()], "vector", k, where, "IP")

    def lexical(
        self, phrases: Sequence[str], k: int, allowed: np.ndarray | None = None
    ) -> list[tuple[int, float]]:
        """Chunks matching any phrase's terms by BM25 (ReadView.lexical; terms, not phrases)."""
        text = query_text(phrases)
        if not text or k <= 0 or (allowed is not None and len(allowed) == 0):
            return []
        where = self._where(one_of("chunk_id", allowed.tolist()) if allowed is not None else "")
        # milvus-lite 3.2 reports BM25 as a negated distance, Milvus as the score: the magnitude is both.
        return [(i, abs(s)) for i, s in self._search([text], "sparse", k, where, "BM25") if s != 0]

    def lexical_scores(self, phrases: Sequence[str], chunk_ids: list[int]) -> dict[int, float]:
        """BM25 of the given chunks for the phrases (ReadView.lexical_scores)."""
        if not chunk_ids:
            return {}
        return dict(self.lexical(phrases, len(chunk_ids), np.asarray(chunk_ids, dtype=np.int64)))

    def chunk_vectors(self, chunk_ids: list[int]) -> dict[int, np.ndarray]:
        """The stored unit vectors of the given chunks, by id."""
        rows = self._by_ids(self._names.chunks, "chunk_id", chunk_ids, ["chunk_id", "vector"])
        return {int(r["chunk_id"]): np.asarray(r["vector"], dtype=np.float32) for r in rows}

    def allowed_chunks(self, row_filter: RowFilter) -> np.ndarray:
        """Ids of the chunks whose documents pass the filter."""
        rows = self._query(self._names.chunks, self._where(filter_expression(row_filter)), ["chunk_id"])
        return np.asarray([r["chunk_id"] for r in rows], dtype=np.int64)

    def chunks(self, chunk_ids: list[int]) -> dict[int, ChunkRow]:
        """Chunks with their documents' attributes, by id."""
        rows = self._by_ids(self._names.chunks, "chunk_id", chunk_ids, _CHUNK_FIELDS)
        return {int(r["chunk_id"]): _chunk_row(r) for r in rows}

    def sentences(self, ranges: Sequence[tuple[str, int, int]]) -> list[SentenceRow]:
        """The sentences starting inside the (doc_id, start, end) ranges, once each, in document order."""
        fields = ["sentence_id", "doc_id", "ordinal", "start_char", "end_char", "vector"]
        found: dict[int, SentenceRow] = {}
        for at in range(0, len(ranges), _RANGES_PER_QUERY):
            within = " or ".join(
                f"(doc_id == {literal(doc_id)} and start_char >= {int(lo)} and start_char < {int(hi)})"
                for doc_id, lo, hi in ranges[at : at + _RANGES_PER_QUERY]
            )
            for r in self._query(self._names.sentences, self._where(within), fields):
                found[int(r["sentence_id"])] = SentenceRow(
                    int(r["sentence_id"]),
                    r["doc_id"],
                    int(r["ordinal"]),
                    int(r["start_char"]),
                    int(r["end_char"]),
                    np.asarray(r["vector"], dtype=np.float32),
                )
        return sorted(found.values(), key=lambda s: (s.doc_id, s.ordinal))

    def document(self, doc_id: str) -> DocumentRow | None:
        """One stored document, or None."""
        found = self._documents([doc_id])
        return found[0] if found else None

    def _documents(self, doc_ids: Sequence[str]) -> list[DocumentRow]:
        """The listed documents, each joined from its text parts, in the order listed."""
        fields = [*_DOCUMENT_FIELDS, "part", "text", "ingested_at"]
        parts: dict[str, list[dict[str, Any]]] = {}
        for at in range(0, len(doc_ids), _IDS_PER_QUERY):
            where = self._where(one_of("doc_id", list(doc_ids[at : at + _IDS_PER_QUERY])))
            for row in self._query(self._names.documents, where, fields):
                parts.setdefault(row["doc_id"], []).append(row)
        return [_document_row(sorted(parts[d], key=lambda r: r["part"])) for d in doc_ids if d in parts]

    def documents(self, row_filter: RowFilter | None, offset: int, limit: int) -> list[DocumentRow]:
        """Documents passing the filter, newest first, paged: sorted here, as Milvus queries have no order."""
        where = self._where("part == 0", filter_expression(row_filter))
        heads = self._query(self._names.documents, where, ["doc_id", "published_at"])
        heads.sort(key=lambda r: r["doc_id"])  # each sort is stable: the later ones keep this order in ties
        heads.sort(key=lambda r: r["published_at"] or "", reverse=True)
        heads.sort(key=lambda r: r["published_at"] is None)
        return self._documents([r["doc_id"] for r in heads[max(offset, 0) : max(offset, 0) + max(limit, 0)]])

    def count(self, table: str) -> int:
        """Rows in documents, chunks or sentences."""
        if table not in ("documents", "chunks", "sentences"):
            raise ValueError(f"unknown table {table!r}")
        collection = getattr(self._names, table)
        where = self._where("part == 0" if table == "documents" else "")
        with milvus_errors(f"counting {table}"):
            rows = self._client.query(collection, filter=where, output_fields=["count(*)"], **_STRONG)
        return int(rows[0]["count(*)"])


def query_text(phrases: Sequence[str]) -> str:
    """The phrases' terms through the store's analyzer, each once, space-separated."""
    return " ".join(dict.fromkeys(token for p in phrases for token in NEWS_ANALYZER.analyze(p)))


def lexical_text(title: str | None, text: str) -> str:
    """What a chunk's BM25 field holds: the analyzed title TITLE_REPEATS times, then the text (as
    index/lexical.py indexes it, so a title match counts double in the chunk's one BM25)."""
    body = [title] * TITLE_REPEATS + [text] if title else [text]
    return " ".join(token for value in body for token in NEWS_ANALYZER.analyze(value))


def _chunk_row(r: dict[str, Any]) -> ChunkRow:
    return ChunkRow(
        int(r["chunk_id"]),
        r["doc_id"],
        int(r["ordinal"]),
        int(r["start_char"]),
        int(r["end_char"]),
        r["text"],
        r["title"],
        r["source"],
        r["url"],
        r["published_at"],
        dict(r["metadata"] or {}),
    )


def _document_row(parts: list[dict[str, Any]]) -> DocumentRow:
    head = parts[0]
    text = "".join(p["text"] for p in parts)
    return DocumentRow(
        head["doc_id"],
        text,
        head["title"],
        head["source"],
        head["url"],
        head["published_at"],
        dict(head["metadata"] or {}),
        head["ingested_at"],
    )
