"""The approximate (IVF) vector index past the size threshold, with seeded clustered unit vectors."""

from __future__ import annotations

from pathlib import Path

import faiss
import numpy as np
import pytest

import index.vectors
from index import ChunkRecord, DocumentRecord, Store
from index.store import VECTORS_NAME
from index.vectors import VectorIndex, VectorPolicy

DIM = 32
N = 3000
APPROX = VectorPolicy(approximate_from=1000, nprobe=8)
EXACT = VectorPolicy(approximate_from=10**9)


def _clustered(count: int, seed: int, topics: int = 0) -> np.ndarray:
    """Unit vectors around 40 seeded centres: clustered, as sentence embeddings are. Another
    `topics` seed gives other centres: what an archive holds a year later."""
    rng = np.random.default_rng(seed)
    centres = np.random.default_rng(topics).standard_normal((40, DIM))
    points = centres[rng.integers(0, 40, count)] + 0.6 * rng.standard_normal((count, DIM))
    return (points / np.linalg.norm(points, axis=1, keepdims=True)).astype(np.float32)


VECTORS = _clustered(N, 1)
IDS = np.arange(1000, 1000 + N, dtype=np.int64)
QUERIES = _clustered(200, 2)


def _top(index: VectorIndex, query: np.ndarray, k: int = 10, allowed: np.ndarray | None = None) -> list[int]:
    return [i for i, _ in index.search(query, k, allowed)]


def _recall(approx: VectorIndex, exact: VectorIndex, allowed: np.ndarray | None = None) -> float:
    found = [
        len(set(_top(approx, q, allowed=allowed)) & set(_top(exact, q, allowed=allowed))) for q in QUERIES
    ]
    return sum(found) / (10 * len(QUERIES))


def _centroids(index: VectorIndex) -> np.ndarray:
    ivf = faiss.try_extract_index_ivf(index._index)
    return ivf.quantizer.reconstruct_n(0, ivf.nlist)


def test_below_the_threshold_is_exact_and_past_it_approximate_with_high_recall() -> None:
    exact = VectorIndex.build(DIM, IDS, VECTORS, 1, EXACT)
    approx = VectorIndex.build(DIM, IDS, VECTORS, 1, APPROX)
    assert (exact.approximate, approx.approximate) == (False, True)
    assert approx.cells == N // 39 and approx.size == exact.size == N
    assert _recall(approx, exact) >= 0.95
    assert _top(approx, VECTORS[17], 1) == [int(IDS[17])]  # a stored vector finds itself


def test_writes_convert_once_at_the_threshold_then_keep_the_cells() -> None:
    small = VectorIndex.build(DIM, IDS[:900], VECTORS[:900], 1, APPROX)
    assert not small.approximate
    crossed = small.updated(np.array([], np.int64), IDS[900:1200], VECTORS[900:1200], 2)
    assert crossed.approximate and crossed.size == 1200 and crossed.generation == 2
    assert not small.approximate and small.size == 900  # the old index is untouched
    removed, added = IDS[:50], IDS[1200:1300]
    later = crossed.updated(removed, added, VECTORS[1200:1300], 3)
    np.testing.assert_array_equal(_centroids(later), _centroids(crossed))  # no retraining
    assert later.size == 1250
    hits = {i for q in VECTORS[:50] for i in _top(later, q, 20)}
    assert hits.isdisjoint(set(removed.tolist()))
    assert all(_top(later, VECTORS[1200 + j], 1) == [int(added[j])] for j in range(100))
    shrunk = crossed.updated(IDS[:1100], IDS[:0], VECTORS[:0], 4)
    assert shrunk.approximate and shrunk.size == 100  # it stays approximate below the threshold


def test_cells_are_retrained_on_everything_once_the_index_has_grown_fourfold(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    first = VectorIndex.build(DIM, IDS[:1000], VECTORS[:1000], 1, APPROX)
    assert first.trained_on == 1000
    later = _clustered(4000, 3, topics=9)  # the news moved on: other topics, other centres
    later_ids = np.arange(10_000, 14_000, dtype=np.int64)
    grown = first.updated(IDS[:0], later_ids[:2900], later[:2900], 2)  # 3,900: not yet 4x
    np.testing.assert_array_equal(_centroids(grown), _centroids(first))
    retrained = grown.updated(IDS[:0], later_ids[2900:3000], later[2900:3000], 3)  # 4,000
    assert retrained.trained_on == retrained.size == 4000 and retrained.generation == 3
    assert not np.array_equal(_centroids(retrained), _centroids(first))
    assert grown.trained_on == 1000 and grown.size == 3900  # the old index is untouched
    everything = np.concatenate([IDS[:1000], later_ids[:3000]])
    stored = np.concatenate([VECTORS[:1000], later[:3000]])
    assert all(_top(retrained, stored[j], 1) == [int(everything[j])] for j in range(0, 4000, 37))
    exact = VectorIndex.build(DIM, everything, stored, 3, EXACT)
    queries = later[3000:3200]

    def recall(index: VectorIndex) -> float:
        return float(np.mean([len(set(_top(index, q)) & set(_top(exact, q))) / 10 for q in queries]))

    monkeypatch.setattr(index.vectors, "RETRAIN_GROWTH", 10**6)
    stale = grown.updated(IDS[:0], later_ids[2900:3000], later[2900:3000], 3)  # the old rule
    np.testing.assert_array_equal(_centroids(stale), _centroids(first))
    assert recall(retrained) >= 0.9 and recall(retrained) > recall(stale)


def test_filters_are_honoured_and_a_narrow_filter_is_searched_exhaustively() -> None:
    exact = VectorIndex.build(DIM, IDS, VECTORS, 1, EXACT)
    approx = VectorIndex.build(DIM, IDS, VECTORS, 1, APPROX)
    narrow = IDS[::100]  # 30 allowed: the scan widens to every cell, so results equal exact ones
    for query in QUERIES[:50]:
        found = _top(approx, query, allowed=narrow)
        assert found == _top(exact, query, allowed=narrow) and set(found) <= set(narrow.tolist())
    half = IDS[::2]
    assert all(set(_top(approx, q, allowed=half)) <= set(half.tolist()) for q in QUERIES)
    assert _recall(approx, exact, allowed=half) >= 0.95
    assert _top(approx, QUERIES[0], allowed=IDS[:0]) == []


def test_save_and_load_round_trip_keeps_the_approximate_index(tmp_path: Path) -> None:
    approx = VectorIndex.build(DIM, IDS, VECTORS, 7, APPROX)
    approx.save(tmp_path / "v.faiss")
    loaded = VectorIndex.load(tmp_path / "v.faiss", APPROX)
    assert loaded is not None and loaded.approximate and loaded.generation == 7 and loaded.size == N
    assert loaded.trained_on == N
    assert all(loaded.search(q, 10) == approx.search(q, 10) for q in QUERIES[:50])
    data = bytearray((tmp_path / "v.faiss").read_bytes())
    data[-5] ^= 0xFF
    (tmp_path / "v.faiss").write_bytes(bytes(data))
    assert VectorIndex.load(tmp_path / "v.faiss") is None


def _record(number: int) -> DocumentRecord:
    text = f"document {number}"
    chunk = ChunkRecord(0, 0, len(text), text, VECTORS[number])
    return DocumentRecord(doc_id=f"d{number}", content_hash=f"h{number}", text=text, chunks=(chunk,))


def test_store_crosses_the_threshold_through_writes_and_reopens(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(index.vectors, "APPROXIMATE_FROM", 1000)
    monkeypatch.setattr(index.vectors, "NPROBE", 8)
    folder = tmp_path / "s"
    store = Store.open(folder, {"embedder": "test", "dimension": DIM, "fingerprint": "f0"})
    for start in range(0, 1500, 250):
        store.write([_record(n) for n in range(start, start + 250)])
        assert store.snapshot().vectors.approximate == (start + 250 >= 1000)
    store.write([], delete=[f"d{n}" for n in range(10)])
    snap = store.snapshot()
    own = snap.dense(VECTORS[20], 1)[0][0]
    assert snap.chunks([own])[own].doc_id == "d20"
    assert not {snap.chunks([i])[i].doc_id for q in VECTORS[:10] for i, _ in snap.dense(q, 20)} & {
        f"d{n}" for n in range(10)
    }
    store.close()
    for rebuild in (False, True):
        if rebuild:
            (folder / VECTORS_NAME).unlink()  # rebuilt from SQLite: approximate again, by size
        reopened = Store.open(folder, {"embedder": "test", "dimension": DIM, "fingerprint": "f0"})
        vectors = reopened.snapshot().vectors
        assert vectors.approximate and vectors.size == 1490
        hit = reopened.snapshot().dense(VECTORS[20], 1)[0][0]
        assert reopened.snapshot().chunks([hit])[hit].doc_id == "d20"
        reopened.close()
