"""The FAISS index derived from the store's vectors: immutable once built, saved atomically."""

from __future__ import annotations

import hashlib
import struct
from pathlib import Path

import faiss
import numpy as np

from index.atomic import write_bytes_atomic

_MAGIC = b"NRVX1\n"
_HEADER = struct.Struct("<Q16s")  # generation, first 16 bytes of SHA-256 of the payload


class VectorIndex:
    """Inner-product search over unit vectors keyed by chunk id; never mutated after build."""

    def __init__(self, index: faiss.Index, generation: int) -> None:
        self._index = index
        self.generation = generation

    @classmethod
    def build(cls, dimension: int, ids: np.ndarray, vectors: np.ndarray, generation: int) -> VectorIndex:
        """An exact index over the given vectors."""
        index = faiss.IndexIDMap2(faiss.IndexFlatIP(dimension))
        if len(ids):
            index.add_with_ids(_as_vectors(vectors), _as_ids(ids))
        return cls(index, generation)

    @property
    def size(self) -> int:
        """Vectors held."""
        return int(self._index.ntotal)

    @property
    def dimension(self) -> int:
        """Length of each vector."""
        return int(self._index.d)

    def updated(
        self, remove: np.ndarray, add_ids: np.ndarray, add_vectors: np.ndarray, generation: int
    ) -> VectorIndex:
        """A new index: this one without `remove`, plus the added vectors. This one is unchanged."""
        index = faiss.clone_index(self._index)
        if len(remove):
            index.remove_ids(faiss.IDSelectorBatch(_as_ids(remove)))
        if len(add_ids):
            index.add_with_ids(_as_vectors(add_vectors), _as_ids(add_ids))
        return VectorIndex(index, generation)

    def search(
        self, vector: np.ndarray, k: int, allowed: np.ndarray | None = None
    ) -> list[tuple[int, float]]:
        """The k nearest chunk ids with their inner products, best first; optionally only `allowed`."""
        if k <= 0 or self.size == 0 or (allowed is not None and len(allowed) == 0):
            return []
        params = None
        if allowed is not None:
            params = faiss.SearchParameters(sel=faiss.IDSelectorBatch(_as_ids(allowed)))  # type: ignore[call-arg]
        query = _as_vectors(vector.reshape(1, -1))
        scores, ids = self._index.search(query, min(k, self.size), params=params)
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0], strict=True) if i >= 0]

    def save(self, path: Path) -> None:
        """Write the index with its generation and a checksum, atomically."""
        payload = faiss.serialize_index(self._index).tobytes()
        header = _HEADER.pack(self.generation, hashlib.sha256(payload).digest()[:16])
        write_bytes_atomic(path, _MAGIC + header + payload)

    @classmethod
    def load(cls, path: Path) -> VectorIndex | None:
        """Read a saved index; None when it is missing, truncated or fails its checksum."""
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return None
        start = len(_MAGIC) + _HEADER.size
        if not data.startswith(_MAGIC) or len(data) < start:
            return None
        generation, checksum = _HEADER.unpack_from(data, len(_MAGIC))
        payload = data[start:]
        if hashlib.sha256(payload).digest()[:16] != checksum:
            return None
        index = faiss.deserialize_index(np.frombuffer(payload, dtype=np.uint8))
        return cls(index, generation)


def _as_ids(ids: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(ids, dtype=np.int64)


def _as_vectors(vectors: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(vectors, dtype=np.float32)
