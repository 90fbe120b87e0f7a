"""The checks every backend runs on a write's records before it writes anything."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from index.errors import InvalidRecordError
from index.records import DocumentRecord


def check_records(records: Sequence[DocumentRecord], dimension: int) -> None:
    """Refuse a batch that repeats a doc_id, or holds a span outside its document, a chunk whose text
    is not its span, or a vector that is not `dimension` finite floats (InvalidRecordError)."""
    seen: set[str] = set()
    for record in records:
        if not record.doc_id:
            raise InvalidRecordError("a record has an empty doc_id; give every document an id")
        if record.doc_id in seen:
            raise InvalidRecordError(f"doc_id {record.doc_id!r} appears twice in one write; send it once")
        seen.add(record.doc_id)
        size = len(record.text)
        for chunk in record.chunks:
            where = f"chunk {chunk.ordinal} of {record.doc_id!r}"
            _check_span(where, chunk.start, chunk.end, size)
            if record.text[chunk.start : chunk.end] != chunk.text:
                raise InvalidRecordError(
                    f"{where}: its text is not the document's text at {chunk.start}-{chunk.end}"
                )
            _check_vector(where, chunk.vector, dimension)
        for sentence in record.sentences:
            where = f"sentence {sentence.ordinal} of {record.doc_id!r}"
            _check_span(where, sentence.start, sentence.end, size)
            _check_vector(where, sentence.vector, dimension)


def _check_span(where: str, start: int, end: int, size: int) -> None:
    if not 0 <= start <= end <= size:
        raise InvalidRecordError(f"{where}: span {start}-{end} is outside the document's {size} characters")


def _check_vector(where: str, vector: object, dimension: int) -> None:
    if not isinstance(vector, np.ndarray) or vector.shape != (dimension,):
        shape = getattr(vector, "shape", type(vector).__name__)
        raise InvalidRecordError(f"{where}: vector of shape {shape}, the store holds {dimension}-d vectors")
    if not np.isfinite(vector).all():
        raise InvalidRecordError(f"{where}: vector holds NaN or infinity")
