"""Chunk invariants: exact spans, order, coverage, and never more than the embedder's window."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rag.ingest.chunking import ChunkingConfig, chunk_document
from rag.ingest.embedder import Embedder
from rag.types import Document


def _check_invariants(document: Document, chunks: list) -> None:
    covered = [False] * len(document.text)
    previous_start = -1
    for ordinal, chunk in enumerate(chunks):
        assert chunk.ordinal == ordinal
        assert document.text[chunk.start : chunk.end] == chunk.text
        assert chunk.start > previous_start
        previous_start = chunk.start
        for i in range(chunk.start, chunk.end):
            covered[i] = True
    assert all(covered[i] for i, ch in enumerate(document.text) if not ch.isspace())


@settings(max_examples=100, deadline=None)
@given(
    text=st.one_of(
        st.lists(st.sampled_from([*"ab Ab. ,\n0", "Rzeszów ", "F-16s ", "$1.44 "]), max_size=600).map(
            "".join
        ),
        # Periodic text cut by characters: the same piece fits in many places.
        st.tuples(st.text(alphabet="01Rzów .", min_size=1, max_size=9), st.integers(2, 60)).map(
            lambda unit_times: unit_times[0] * unit_times[1]
        ),
    ),
    size=st.integers(min_value=16, max_value=120),
    overlap=st.integers(min_value=0, max_value=15),
)
def test_chunks_slice_their_document_in_order_and_cover_it(text: str, size: int, overlap: int) -> None:
    document = Document(doc_id="d", text=text)
    _check_invariants(document, chunk_document(document, ChunkingConfig(size, overlap)))


def test_a_piece_that_restarts_where_the_last_began_is_kept_once() -> None:
    # With an overlap near the chunk size the splitter yields "Rzeszów Rzeszów Rzeszów" and then
    # "Rzeszów Rzeszów Rzeszów a" from the same start; the longer one holds the shorter.
    document = Document(doc_id="d", text=" Rzeszów Rzeszów Rzeszów a")
    chunks = chunk_document(document, ChunkingConfig(16, 15))
    assert [(c.start, c.end) for c in chunks] == [(1, 26)]


@pytest.mark.parametrize("overlap", [11, 13, 15])
def test_periodic_text_without_spaces_is_chunked_without_gaps(overlap: int) -> None:
    # Cut by characters, "RzeszówRzeszówRz" fits at 0 and at 7: the latest place in range is a
    # dead end for the piece after it, so an earlier one must be taken.
    document = Document(doc_id="d", text="Rzeszów" * 4)
    _check_invariants(document, chunk_document(document, ChunkingConfig(16, overlap)))


def test_long_real_text_never_exceeds_the_window(
    embedder: Embedder, digest_documents: list[Document]
) -> None:
    # The whole digest as one document, plus text that costs many word pieces per tiktoken token.
    dense = " ".join(f"{n:,}.{n % 97} F-16s Rzeszów Sørreisa 0x{n:08x}" for n in range(3000))
    long_text = "\n\n".join(d.text for d in digest_documents) + "\n\n" + dense
    document = Document(doc_id="long", text=long_text)
    # The default size, and a size in tiktoken tokens that the window could not hold unchecked.
    for config in (ChunkingConfig(), ChunkingConfig(400, 60)):
        chunks = chunk_document(document, config, embedder.fits)
        _check_invariants(document, chunks)
        assert len(chunks) > 20
        assert max(embedder.wordpieces(c.text) for c in chunks) <= embedder.max_wordpieces
    unchecked = chunk_document(document, ChunkingConfig(400, 60))
    assert max(embedder.wordpieces(c.text) for c in unchecked) > embedder.max_wordpieces


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(min_size=1, max_size=3000))
def test_any_text_fits_the_window(embedder: Embedder, text: str) -> None:
    document = Document(doc_id="d", text=text)
    for chunk in chunk_document(document, ChunkingConfig(), embedder.fits):
        assert document.text[chunk.start : chunk.end] == chunk.text
        assert embedder.fits(chunk.text)
