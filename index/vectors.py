"""The FAISS index derived from the store's vectors: immutable once built, saved atomically.

Up to `APPROXIMATE_FROM` chunks the index is exact (a flat inner-product scan). Past it the store
switches to an inverted-file index (IVF-Flat): k-means cells trained on the vectors present at the
switch, each query scanning the `nprobe` nearest cells. The cells are retrained, on everything the
index then holds, in the write that takes it to `RETRAIN_GROWTH` times the vectors they were
trained on (50k, 200k, 800k, ... for a store that only grows): cells fitted to an archive's first
months stop fitting what it holds later, as new topics crowd into a few cells. IVF rather than
HNSW because FAISS HNSW cannot remove ids, and every write batch removes the replaced chunks from
a clone.
"""

from __future__ import annotations

import hashlib
import math
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from index.atomic import write_atomic

_MAGIC = b"NRVX2\n"
# generation, vectors the IVF cells were trained on (0: exact), first 16 bytes of SHA-256 of the payload
_HEADER = struct.Struct("<QQ16s")
_BLOCK = 1 << 22  # bytes per read and write of the vector file

# Exact search of one 384-d query (k=100) took 1.4 ms at 25k vectors, 12.6 ms at 50k (the flat
# index outgrows the CPU cache), 15-43 ms at 100k and 148 ms at 1M on the 2-core benchmark machine.
APPROXIMATE_FROM = 50_000
# Cells scanned per query. On replicated RealTimeQA (bench/scale.py) recall@10 against exact was
# 0.981 / 0.965 at nprobe 32 and 0.9995 / 0.995 at nprobe 64, for 100k / 1M chunks; 64 costs
# 0.9 / 13.5 ms a query against 15.5 / 148 ms for exact search.
NPROBE = 64
RETRAIN_GROWTH = 4
MAX_CELLS = 1024  # bounds the one-off switch: 24 s at 100k, 65 s at 1M vectors on the bench machine
_TRAIN_PER_CELL = 50  # k-means sample per cell: FAISS wants >= 39; more only slows the switch
_TRAIN_ITERATIONS = 10
_SEED = 20240601


@dataclass(frozen=True)
class VectorPolicy:
    """When the index turns approximate and how hard an approximate search looks."""

    approximate_from: int = APPROXIMATE_FROM
    nprobe: int = NPROBE


def default_policy() -> VectorPolicy:
    """The policy from the module constants, read at call time (tests may lower the threshold)."""
    return VectorPolicy(APPROXIMATE_FROM, NPROBE)


class VectorIndex:
    """Inner-product search over unit vectors keyed by chunk id; never mutated after build."""

    def __init__(
        self, index: faiss.Index, generation: int, policy: VectorPolicy | None = None, trained_on: int = 0
    ) -> None:
        self._index = index
        self._ivf = faiss.try_extract_index_ivf(index)
        self.generation = generation
        self.policy = policy or default_policy()
        self.trained_on = trained_on if self._ivf is not None else 0  # vectors the cells were fitted to

    @classmethod
    def build(
        cls,
        dimension: int,
        ids: np.ndarray,
        vectors: np.ndarray,
        generation: int,
        policy: VectorPolicy | None = None,
    ) -> VectorIndex:
        """An exact index over the given vectors, or an approximate one past the policy's threshold."""
        policy = policy or default_policy()
        if len(ids) >= policy.approximate_from:
            index = _ivf_index(dimension, _as_ids(ids), _as_vectors(vectors))
            return cls(index, generation, policy, trained_on=len(ids))
        index = faiss.IndexIDMap2(faiss.IndexFlatIP(dimension))
        if len(ids):
            index.add_with_ids(_as_vectors(vectors), _as_ids(ids))
        return cls(index, generation, policy)

    @property
    def size(self) -> int:
        """Vectors held."""
        return int(self._index.ntotal)

    @property
    def dimension(self) -> int:
        """Length of each vector."""
        return int(self._index.d)

    @property
    def approximate(self) -> bool:
        """True for the IVF index, False for the exact one."""
        return self._ivf is not None

    @property
    def cells(self) -> int:
        """IVF cells (k-means centroids); 0 for the exact index."""
        return int(self._ivf.nlist) if self._ivf is not None else 0

    def with_policy(self, policy: VectorPolicy) -> VectorIndex:
        """The same index searched under another policy (nprobe); the FAISS index is shared, not copied."""
        return VectorIndex(self._index, self.generation, policy, self.trained_on)

    def updated(
        self, remove: np.ndarray, add_ids: np.ndarray, add_vectors: np.ndarray, generation: int
    ) -> VectorIndex:
        """A new index: this one without `remove`, plus the added vectors. This one is unchanged.

        The exact index that reaches the threshold becomes approximate here; an approximate index
        stays approximate, and is retrained here once it holds RETRAIN_GROWTH times the vectors
        its cells were trained on.
        """
        index = faiss.clone_index(self._index)
        if len(remove):
            index.remove_ids(faiss.IDSelectorBatch(_as_ids(remove)))
        if len(add_ids):
            index.add_with_ids(_as_vectors(add_vectors), _as_ids(add_ids))
        trained_on = self.trained_on
        if self._ivf is None and index.ntotal >= self.policy.approximate_from:
            ids, vectors = _flat_contents(index)
            index, trained_on = _ivf_index(self.dimension, ids, vectors), len(ids)
        elif self._ivf is not None and index.ntotal >= RETRAIN_GROWTH * max(self.trained_on, 1):
            ids, vectors = _ivf_contents(index)
            index, trained_on = _ivf_index(self.dimension, ids, vectors), len(ids)
        return VectorIndex(index, generation, self.policy, trained_on)

    def search(
        self, vector: np.ndarray, k: int, allowed: np.ndarray | None = None
    ) -> list[tuple[int, float]]:
        """The k nearest chunk ids with their inner products, best first; optionally only `allowed`."""
        if k <= 0 or self.size == 0 or (allowed is not None and len(allowed) == 0):
            return []
        selector = faiss.IDSelectorBatch(_as_ids(allowed)) if allowed is not None else None
        params: faiss.SearchParameters | None
        if self._ivf is not None:
            params = faiss.SearchParametersIVF(  # type: ignore[call-arg]
                sel=selector, nprobe=self._nprobe(len(allowed) if allowed is not None else self.size)
            )
        else:
            params = faiss.SearchParameters(sel=selector) if selector is not None else None  # type: ignore[call-arg]
        query = _as_vectors(vector.reshape(1, -1))
        scores, ids = self._index.search(query, min(k, self.size), params=params)
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0], strict=True) if i >= 0]

    def _nprobe(self, allowed: int) -> int:
        """Cells to scan: more when a filter leaves fewer candidates, so as many allowed ones are seen."""
        scale = self.size / max(allowed, 1)
        return max(1, min(self.cells, math.ceil(self.policy.nprobe * scale)))

    def save(self, path: Path) -> None:
        """Write the index with its generation and a checksum, atomically, streamed: the file is
        never built in memory beside the index (at 1M chunks each is 1.5 GB)."""

        def write(tmp: Path) -> None:
            digest = hashlib.sha256()
            with tmp.open("wb") as handle:
                handle.write(_MAGIC + _HEADER.pack(self.generation, self.trained_on, bytes(16)))

                def out(block: bytes) -> None:
                    digest.update(block)
                    handle.write(block)

                faiss.write_index(self._index, faiss.PyCallbackIOWriter(out, _BLOCK))  # type: ignore[attr-defined]
                handle.seek(len(_MAGIC))
                handle.write(_HEADER.pack(self.generation, self.trained_on, digest.digest()[:16]))

        write_atomic(path, write)

    @classmethod
    def load(cls, path: Path, policy: VectorPolicy | None = None) -> VectorIndex | None:
        """A saved index, exact or approximate as saved; None when missing, truncated or corrupt.

        Read in blocks, twice from one open file: the checksum over the payload first, so FAISS
        never parses a damaged file, then FAISS reads it; the file is never held in memory whole.
        """
        try:
            handle = path.open("rb")
        except FileNotFoundError:
            return None
        with handle:
            start = len(_MAGIC) + _HEADER.size
            head = handle.read(start)
            if not head.startswith(_MAGIC) or len(head) < start:
                return None
            generation, trained_on, checksum = _HEADER.unpack_from(head, len(_MAGIC))
            digest = hashlib.sha256()
            for block in iter(lambda: handle.read(_BLOCK), b""):
                digest.update(block)
            if digest.digest()[:16] != checksum:
                return None
            handle.seek(start)
            try:
                index = faiss.read_index(faiss.PyCallbackIOReader(handle.read, _BLOCK))  # type: ignore[attr-defined]
            except RuntimeError:  # a file this FAISS cannot parse, checksum or not: rebuilt from SQLite
                return None
        return cls(index, generation, policy, trained_on)


def cells_for(count: int) -> int:
    """IVF cells for `count` vectors: the power of two nearest 4·√count, <= MAX_CELLS, >= 39 points each."""
    wanted = 2 ** round(math.log2(max(4 * math.sqrt(count), 1)))
    return max(1, min(wanted, MAX_CELLS, count // 39))


def _ivf_index(dimension: int, ids: np.ndarray, vectors: np.ndarray) -> faiss.Index:
    """IVF-Flat over the vectors, its cells trained on a seeded sample of them; ids kept as given."""
    cells = cells_for(len(ids))
    index = faiss.index_factory(dimension, f"IVF{cells},Flat", faiss.METRIC_INNER_PRODUCT)
    faiss.extract_index_ivf(index).cp.niter = _TRAIN_ITERATIONS
    sample_size = min(len(ids), cells * _TRAIN_PER_CELL)
    sample = np.random.default_rng(_SEED).choice(len(ids), sample_size, replace=False)
    index.train(vectors[np.sort(sample)])
    index.add_with_ids(vectors, ids)
    return index


def _flat_contents(index: faiss.Index) -> tuple[np.ndarray, np.ndarray]:
    """The ids and vectors held by an exact (IDMap2 over flat) index, in insertion order."""
    id_map: Any = faiss.downcast_index(index)  # IndexIDMap2: its .index and .id_map are untyped
    flat = faiss.downcast_index(id_map.index)
    ids = faiss.vector_to_array(id_map.id_map).astype(np.int64)
    vectors = flat.reconstruct_n(0, flat.ntotal) if flat.ntotal else np.zeros((0, flat.d), np.float32)
    return ids, _as_vectors(vectors)


def _ivf_contents(index: faiss.Index) -> tuple[np.ndarray, np.ndarray]:
    """The ids and vectors held by an IVF-Flat index, cell by cell (Flat codes are the vectors)."""
    lists: Any = faiss.extract_index_ivf(index).invlists  # always set on a built IVF index
    ids, vectors = [], []
    for cell in range(lists.nlist):
        size = lists.list_size(cell)
        if size:
            ids.append(faiss.rev_swig_ptr(lists.get_ids(cell), size).copy())
            codes = faiss.rev_swig_ptr(lists.get_codes(cell), size * lists.code_size)
            vectors.append(np.frombuffer(codes.tobytes(), dtype=np.float32).reshape(size, index.d))
    if not ids:
        return np.zeros(0, np.int64), np.zeros((0, index.d), np.float32)
    return _as_ids(np.concatenate(ids)), _as_vectors(np.concatenate(vectors))


def _as_ids(ids: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(ids, dtype=np.int64)


def _as_vectors(vectors: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(vectors, dtype=np.float32)
