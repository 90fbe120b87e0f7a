"""The persistent store: documents, chunks, sentence spans, vectors and the lexical index."""

from index.backend import Backend, ReadView
from index.errors import InvalidRecordError, ManifestMismatchError, ReadOnlyStoreError, StoreError
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
    "Backend",
    "ChunkRecord",
    "ChunkRow",
    "DocumentRecord",
    "DocumentRow",
    "InvalidRecordError",
    "ManifestMismatchError",
    "ReadOnlyStoreError",
    "ReadView",
    "RowFilter",
    "SentenceRecord",
    "SentenceRow",
    "Snapshot",
    "Store",
    "StoreError",
    "WriteResult",
]
