"""The lexical index: BM25 over chunk titles and text in tantivy, derived from SQLite like the vector file.

SQLite stays the source of truth. The index lives in the store's `lexical/` folder and every
commit carries the store generation it matches, in one marker document (chunk id -1, no text),
so the generation and the postings are published by the same atomic tantivy commit. A store
write commits here first and in SQLite second: a crash between the two leaves the index one
generation ahead, and an index whose generation is not SQLite's (ahead, behind, missing, or
unreadable) is rebuilt from SQLite when the store opens.

One analyzer, `NEWS_ANALYZER`, splits text for indexing and for querying: tantivy's simple
tokenizer (runs of letters and digits), tokens longer than 40 bytes dropped, lowercase, ASCII
folding ("Rzeszów" is `rzeszow`) and the Snowball English stemmer, the same Porter2 stemmer
rag.language.terms uses. So "U.S." is indexed as the adjacent tokens `u s`, "$1.44" as `1 44` and
"F-16s" as `f 16s`; a query phrase goes through `analyze` and becomes a term or phrase query.
Which phrases a question asks for is rag.retrieve.lexical's business, not this module's.

A chunk is one field, `body`: its title TITLE_REPEATS times, then its text (values of one field,
so a phrase never spans two). A title match thus counts double in the term frequency that BM25
saturates once over the whole chunk, which is BM25F and what FTS5's column-weighted bm25() did.
Two fields with a boosted title score each field's BM25 apart and add them: a title word, in
a field of ten tokens, saturates at once and outweighs the text. That lost SciFact test 0.069
nDCG@10 lexically (0.617 against 0.686 for FTS5; one field: 0.686).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import tantivy

FOLDER = "lexical"
ANALYZER = "news"
MARKER = -1  # the chunk id of the document that carries the generation
TITLE_REPEATS = 2  # title matches count double (chosen on SciFact train, as FTS5's column weights were)
_WRITE_HEAP = 64_000_000  # one indexing thread; a store write batch is small
_REBUILD_HEAP = 256_000_000


def news_analyzer() -> tantivy.TextAnalyzer:
    """The one analyzer of indexed and queried text (module docstring)."""
    return (
        tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple())
        .filter(tantivy.Filter.remove_long(40))
        .filter(tantivy.Filter.lowercase())
        .filter(tantivy.Filter.ascii_fold())
        .filter(tantivy.Filter.stemmer("english"))
        .build()
    )


NEWS_ANALYZER = news_analyzer()


def _schema() -> tantivy.Schema:
    builder = tantivy.SchemaBuilder()
    builder.add_integer_field("chunk_id", indexed=True, fast=True)
    builder.add_integer_field("generation", fast=True)
    builder.add_text_field("body", tokenizer_name=ANALYZER, index_option="position")
    return builder.build()


SCHEMA = _schema()


@dataclass(frozen=True)
class LexicalChunk:
    """What the index holds of one chunk."""

    chunk_id: int
    title: str
    text: str


class LexicalIndex:
    """The tantivy index of one store: on disk in its folder, or in memory for a read-only store."""

    def __init__(self, index: tantivy.Index, path: Path | None) -> None:
        index.register_tokenizer(ANALYZER, NEWS_ANALYZER)
        self._index = index
        self.path = path

    @classmethod
    def open(cls, folder: Path) -> LexicalIndex | None:
        """The index saved in folder, or None when it is missing or unreadable."""
        try:
            if not tantivy.Index.exists(str(folder)):
                return None
            index = tantivy.Index.open(str(folder))
            tantivy.Query.term_query(index.schema, "body", "")  # an index of another schema: ValueError
            found = cls(index, folder)
            found.view()  # opens every segment: a damaged index fails here, not mid-query
            return found
        except BaseException as exc:  # a damaged file can make tantivy panic (pyo3's PanicException)
            if isinstance(exc, OSError | ValueError | RuntimeError) or type(exc).__name__ == "PanicException":
                return None
            raise

    @classmethod
    def create(cls, folder: Path) -> LexicalIndex:
        """A new, empty index in folder; whatever was there is removed."""
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        return cls(tantivy.Index(SCHEMA, path=str(folder)), folder)

    @classmethod
    def in_memory(cls) -> LexicalIndex:
        """A new, empty index that lives in RAM only."""
        return cls(tantivy.Index(SCHEMA), None)

    def view(self) -> LexicalView:
        """An immutable searcher over the last commit."""
        self._index.reload()
        return LexicalView(self._index.searcher())

    def write(self, remove: Iterable[int], add: Iterable[LexicalChunk], generation: int) -> None:
        """Delete and add chunks and set the generation, in one commit (all or nothing)."""
        self._commit(remove, add, generation, rebuild=False)

    def rebuild(self, chunks: Iterable[LexicalChunk], generation: int) -> None:
        """Replace every chunk with the given ones, in one commit."""
        self._commit((), chunks, generation, rebuild=True)

    def _commit(
        self, remove: Iterable[int], add: Iterable[LexicalChunk], generation: int, rebuild: bool
    ) -> None:
        # A writer per commit, released before returning: tantivy allows one per index folder, and
        # another store object (another process) writes the same folder under SQLite's write lock.
        heap, threads = (_REBUILD_HEAP, 2) if rebuild else (_WRITE_HEAP, 1)
        writer = self._index.writer(heap_size=heap, num_threads=threads)
        try:
            if rebuild:
                writer.delete_all_documents()
            else:
                for chunk_id in remove:
                    writer.delete_documents_by_term("chunk_id", int(chunk_id))
                writer.delete_documents_by_term("chunk_id", MARKER)
            for chunk in add:
                writer.add_document(tantivy.Document(chunk_id=chunk.chunk_id, body=_body(chunk)))
            writer.add_document(tantivy.Document(chunk_id=MARKER, generation=generation))
            writer.commit()
        except BaseException:
            writer.rollback()
            raise
        finally:
            writer.wait_merging_threads()


class LexicalView:
    """BM25 search over one commit of the index; never changes."""

    def __init__(self, searcher: tantivy.Searcher) -> None:
        self._searcher = searcher
        marker = searcher.search(tantivy.Query.term_query(SCHEMA, "chunk_id", MARKER), 1).hits
        found = searcher.fast_field_values("generation", [address for _, address in marker])
        self.generation: int | None = int(found[0] or 0) if found else None
        self.size = searcher.num_docs - len(found)  # chunks held

    def search(
        self, phrases: Sequence[str], k: int, allowed: np.ndarray | None = None
    ) -> list[tuple[int, float]]:
        """The k chunks with the highest BM25 for any of the phrases, optionally only `allowed`."""
        query = _match(phrases)
        if query is None or k <= 0 or (allowed is not None and len(allowed) == 0):
            return []
        if allowed is not None:
            query = _within(query, allowed)
        return self._ranked(query, k)

    def scores(self, phrases: Sequence[str], chunk_ids: Sequence[int]) -> dict[int, float]:
        """BM25 of the given chunks (corpus-wide statistics); absent when they match no phrase."""
        query = _match(phrases)
        if query is None or not chunk_ids:
            return {}
        return dict(self._ranked(_within(query, np.asarray(chunk_ids)), len(chunk_ids)))

    def _ranked(self, query: tantivy.Query, k: int) -> list[tuple[int, float]]:
        hits = self._searcher.search(query, k, count=False).hits
        ids = self._searcher.fast_field_values("chunk_id", [address for _, address in hits])
        return [(int(i or 0), float(score)) for (score, _), i in zip(hits, ids, strict=True)]


def _body(chunk: LexicalChunk) -> list[str]:
    """The values of a chunk's one indexed field (module docstring)."""
    return [chunk.title] * TITLE_REPEATS + [chunk.text] if chunk.title else [chunk.text]


def _match(phrases: Sequence[str]) -> tantivy.Query | None:
    """Any of the phrases, by BM25; None when analysis leaves nothing."""
    analysed = dict.fromkeys(tuple(NEWS_ANALYZER.analyze(p)) for p in phrases)
    clauses = [
        (
            tantivy.Occur.Should,
            tantivy.Query.term_query(SCHEMA, "body", tokens[0])
            if len(tokens) == 1
            else tantivy.Query.phrase_query(SCHEMA, "body", list(tokens)),
        )
        for tokens in analysed
        if tokens
    ]
    return tantivy.Query.boolean_query(clauses) if clauses else None


def _within(query: tantivy.Query, chunk_ids: np.ndarray) -> tantivy.Query:
    """The query restricted to the listed chunks, scores unchanged."""
    allowed = tantivy.Query.term_set_query(SCHEMA, "chunk_id", [int(i) for i in chunk_ids])
    return tantivy.Query.boolean_query(
        [(tantivy.Occur.Must, query), (tantivy.Occur.Must, tantivy.Query.const_score_query(allowed, 0.0))]
    )
