"""The persistent store: documents, chunks, sentence spans, vectors and the lexical index."""

from index.errors import ManifestMismatchError, ReadOnlyStoreError, StoreError
from index.records import (
    ChunkRecord,
    ChunkRow,
    DocumentRecord,
    DocumentRow,
    RowFilter,
    SentenceRecord,
    SentenceRow,
    WriteResult,
)
from index.schema import FORMAT_VERSION
from index.snapshot import Snapshot
from index.store import Store

__all__ = [
    "FORMAT_VERSION",
    "ChunkRecord",
    "ChunkRow",
    "DocumentRecord",
    "DocumentRow",
    "ManifestMismatchError",
    "ReadOnlyStoreError",
    "RowFilter",
    "SentenceRecord",
    "SentenceRow",
    "Snapshot",
    "Store",
    "StoreError",
    "WriteResult",
]
