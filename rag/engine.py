"""The Engine facade: open a store with a model, ingest, search, delete, report."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime

import numpy as np

from index import FORMAT_VERSION, Backend, DocumentRow, ManifestMismatchError, ReadView, StoreError
from index.location import Location, open_store, shown
from rag.budget import NO_DEADLINE, Deadline
from rag.compose.ask import Asking, answer_question
from rag.compose.reader import Reader, shared_reader
from rag.config import EngineConfig
from rag.errors import CorpusFormatError, IndexMismatchError, InvalidRequestError, ReadOnlyError
from rag.errors import StoreError as DomainStoreError
from rag.ingest.chunking import ENCODING
from rag.ingest.embedder import Embedder
from rag.ingest.loaders import parse_date, web_address
from rag.ingest.records import BuildBatches, content_hash, local_batches
from rag.limits import MAX_K, require_text
from rag.retrieve.pipeline import retrieve, to_row_filter
from rag.types import (
    DEFAULT_MODE,
    Answer,
    Document,
    Filters,
    IngestReport,
    Passage,
    Query,
    Rejected,
    StoredDocument,
    StoreStats,
    Turn,
)

REFRESH_SECONDS = 1.0  # how stale a reader may be about writes made by another process


class Engine:
    """One store and one embedder: everything the CLI, the API and the eval harness call."""

    def __init__(self, store: Backend, embedder: Embedder, config: EngineConfig, reader: Reader) -> None:
        self.store = store
        self.embedder = embedder
        self.reader = reader
        self.config = config
        self._checked_at = time.monotonic()

    def snapshot(self) -> ReadView:
        """The current read view, first picking up commits made by other processes (at most once a second)."""
        now = time.monotonic()
        if now - self._checked_at >= REFRESH_SECONDS:
            self._checked_at = now
            try:
                self.store.refresh()
            except StoreError as exc:
                raise DomainStoreError(str(exc)) from None
        return self.store.snapshot()

    @classmethod
    def open(
        cls,
        path: Location,
        config: EngineConfig | None = None,
        *,
        embedder: Embedder | None = None,
        reader: Reader | None = None,
        create: bool = True,
        read_only: bool = False,
    ) -> Engine:
        """Open the store at path (a folder, or a Milvus URI: index.location) with the configured model
        and the reader (each loaded unless passed in; the reader file is checked against its card
        here, so a damaged one fails now)."""
        config = config or EngineConfig()
        embedder = embedder or Embedder(config.embedder)
        reader = reader or shared_reader()
        manifest = manifest_for(embedder, config)
        try:
            store = open_store(
                path, manifest, create=create, read_only=read_only, recorded=recorded_for(config)
            )
        except ManifestMismatchError as exc:
            raise IndexMismatchError(
                f"the store at {shown(path)} was built with {exc.key} {exc.stored!r}, but this configuration "
                f"uses {exc.requested!r}; open it with the settings it was built with, or rebuild it "
                f"into a new folder (newsrag --store NEW_FOLDER ingest ...)"
            ) from None
        except StoreError as exc:
            raise DomainStoreError(str(exc)) from None
        return cls(store, embedder, config, reader)

    def ingest(
        self,
        documents: Iterable[Document],
        progress: Callable[[int], None] | None = None,
        *,
        build: BuildBatches | None = None,
    ) -> IngestReport:
        """Add new documents, replace changed ones, skip unchanged ones; one transaction per batch.

        build makes each batch's records (default: build_records here, with this engine's model;
        rag.ingest.distributed.RayBatches makes them on Ray); the writes stay here, in batch order.
        """
        self._check_writable()
        started = time.perf_counter()
        unique = {d.doc_id: d for d in documents}  # a later copy of an id wins
        docs = list(unique.values())
        for document in docs:  # documents built in code skip the record parser: check what clients link to
            try:
                web_address(document.url)
            except CorpusFormatError as exc:
                raise InvalidRequestError(
                    f"document {document.doc_id!r}: {exc.reason}; nothing was written"
                ) from None
        hashes = self.store.content_hashes([d.doc_id for d in docs])
        changed = [d for d in docs if hashes.get(d.doc_id) != content_hash(d)]
        unchanged = len(docs) - len(changed)
        if progress is not None and unchanged:
            progress(unchanged)
        added = updated = chunks = sentences = 0
        batch = self.config.ingest_batch
        parts = [changed[start : start + batch] for start in range(0, len(changed), batch)]
        built = (build or local_batches(self.embedder))(
            parts, self.config.chunking, sentence_vectors_of(self.store)
        )
        try:
            for part, records in zip(parts, built, strict=True):
                result = self.store.write(records)
                added, updated = added + result.added, updated + result.updated
                chunks, sentences = chunks + result.chunks, sentences + result.sentences
                if progress is not None:
                    progress(len(part))
        except StoreError as exc:
            raise DomainStoreError(str(exc)) from None
        finally:
            if changed:
                self.store.save_vectors()
        return IngestReport(
            added=added,
            updated=updated,
            unchanged=unchanged,
            chunks=chunks,
            sentences=sentences,
            seconds=time.perf_counter() - started,
        )

    def search(
        self,
        query: str,
        k: int = 10,
        filters: Filters | None = None,
        mode: str = DEFAULT_MODE,
        half_life_days: float | None = None,
        deadline: Deadline = NO_DEADLINE,
    ) -> list[Passage]:
        """The k passages that best match query, best first; half_life_days favours recent ones.

        Past the deadline the work stops with OverBudgetError.
        """
        require_text(query, "query")
        if not 1 <= k <= MAX_K:
            raise InvalidRequestError(f"k of {k} is out of range: use 1 to {MAX_K}")
        request = Query(query, k, mode, filters, half_life_days)
        return retrieve(self.snapshot(), request, self.embed_query, self.config.retrieval, deadline)

    def ask(
        self,
        question: str,
        filters: Filters | None = None,
        history: Sequence[Turn] | None = None,
        top_k: int | None = None,
        half_life_days: float | None = None,
        deadline: Deadline = NO_DEADLINE,
    ) -> Answer:
        """Answer with verbatim cited sentences from the summaries, or abstain and offer related ones.

        half_life_days draws on recent passages first (see Engine.search); past the deadline the
        work stops with OverBudgetError.
        """
        return answer_question(
            self.asking(), question, filters, history or (), top_k, half_life_days, deadline
        )

    def asking(self) -> Asking:
        """What one question is answered with: the current read view of the store and the models."""
        return Asking(self.embedder, self.snapshot(), self.reader, self.config.retrieval, self.config.answer)

    def embed_query(self, query: str) -> np.ndarray:
        """The query's vector."""
        return self.embedder.embed(query)

    def delete(self, doc_ids: Iterable[str]) -> int:
        """Remove documents with their chunks, sentences, vectors and terms; returns how many existed."""
        self._check_writable()
        ids = list(dict.fromkeys(doc_ids))
        if not ids:
            return 0
        try:
            result = self.store.write([], delete=ids)
        except StoreError as exc:
            raise DomainStoreError(str(exc)) from None
        self.store.save_vectors()
        return result.deleted

    def _check_writable(self) -> None:
        if self.store.read_only:
            raise ReadOnlyError(
                "this store is served read-only (--read-only, NEWSRAG_READ_ONLY): writes are refused; "
                "write to the store it was copied from"
            )

    def document(self, doc_id: str) -> Document | None:
        """A stored document, or None."""
        row = self.snapshot().document(doc_id)
        return to_document(row) if row else None

    def documents(self, filters: Filters | None, offset: int, limit: int) -> list[StoredDocument]:
        """Stored documents passing the filters, newest first, paged."""
        rows = self.snapshot().documents(to_row_filter(filters), offset, limit)
        return [StoredDocument(to_document(row), _when(row.ingested_at)) for row in rows]

    def stats(self) -> StoreStats:
        """What the store holds and how it was built."""
        snapshot = self.snapshot()
        manifest = self.store.manifest
        return StoreStats(
            documents=snapshot.count("documents"),
            chunks=snapshot.count("chunks"),
            sentences=snapshot.count("sentences"),
            model=str(manifest["embedder"]),
            dimension=int(manifest["dimension"]),
            format_version=int(manifest["format_version"]),
            generation=snapshot.generation,
            size_bytes=self.store.size_bytes(),
            wal_bytes=self.store.wal_bytes(),
        )

    def close(self) -> None:
        """Persist derived files and release the store."""
        self.store.close()

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def manifest_for(embedder: Embedder, config: EngineConfig) -> dict[str, object]:
    """The facts a store records at creation and checks at every open."""
    return {
        "format_version": FORMAT_VERSION,
        "embedder": embedder.name,
        "dimension": embedder.dimension,
        "fingerprint": embedder.fingerprint,
        "tokenizer": ENCODING,
        "chunk_tokens": config.chunking.chunk_tokens,
        "overlap_tokens": config.chunking.overlap_tokens,
    }


def recorded_for(config: EngineConfig) -> dict[str, object]:
    """What a new store records of how it was built, beside the manifest, without checking it
    at open: a store keeps being written the way it was built (sentence_vectors_of)."""
    return {"sentence_vectors": config.sentence_vectors}


def sentence_vectors_of(store: Backend) -> str:
    """How the store's sentence vectors are made; a store from before late chunking has its own."""
    return str(store.manifest.get("sentence_vectors", "separate"))


def _when(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def to_document(row: DocumentRow) -> Document:
    """A stored document row as a domain Document."""
    return Document(
        doc_id=row.doc_id,
        text=row.text,
        title=row.title,
        source=row.source,
        url=row.url,
        published_at=parse_date(row.published_at),
        metadata=row.metadata,
    )


__all__ = ["Engine", "Rejected"]
