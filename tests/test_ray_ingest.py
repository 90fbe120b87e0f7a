"""Ingest on Ray (rag.ingest.distributed) writes the same store, byte for byte, as the plain ingest.

One local Ray with two CPUs serves the module; every comparison reads each store's SQLite rows,
the vectors' bytes included. Only the two wall-clock stamps are left out of it: each document's
ingested_at and the manifest's created_at say when, not what.
"""

from __future__ import annotations

import socket
import sqlite3
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from index.store import DB_NAME
from newsrag.cli import main
from rag.config import EngineConfig
from rag.engine import Engine
from rag.errors import ClusterError
from rag.ingest.chunking import ChunkingConfig
from rag.ingest.distributed import RAY_MISSING, RayBatches, RayConfig, ray_cluster
from rag.ingest.embedder import Embedder, EmbedderConfig
from rag.ingest.loaders import parse_record
from rag.types import Document, IngestReport

STAMPS = {"documents": "ingested_at"}  # per table, the column that records when, not what


@pytest.fixture(scope="module")
def workers() -> Iterator[int]:
    """A local Ray with two CPUs, started once for the module; yields its encoder actors (2)."""
    with ray_cluster(RayConfig(cpus=2)) as count:
        yield count


@pytest.fixture(scope="module")
def corpus(digest_documents: list[Document]) -> list[Document]:
    """A small corpus besides the digest, with what build_records treats apart: titles, dates,
    metadata, documents of several chunks, and a sentence longer than a chunk (embedded alone)."""
    texts = [d.text for d in digest_documents]
    run_on = ", and ".join(t.replace(".", "") for t in texts[:3]) + "."
    records = [
        {"id": "long", "title": "Week in review", "text": " ".join(texts[:6]), "source": "Digest"},
        {"id": "run-on", "text": run_on, "published_at": "2024-03-04T10:00:00Z"},
        {"id": "tagged", "text": texts[6], "metadata": {"desk": "world", "rank": 2}},
        {"id": "short", "title": "Brief", "text": "Snow delayed trains in the north."},
        {"id": "both", "text": texts[7] + "\n\n" + texts[8], "url": "https://example.org/b"},
    ]
    return [parse_record(r) for r in records]


def store_rows(folder: Path) -> dict[str, list[tuple[object, ...]]]:
    """Every row of every table of the store's database, in rowid order, stamps left out."""
    with sqlite3.connect(folder / DB_NAME) as conn:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        rows = {}
        for table in tables:
            names = [r[1] for r in conn.execute(f"PRAGMA table_info({table})") if r[1] != STAMPS.get(table)]
            rows[table] = conn.execute(f"SELECT {', '.join(names)} FROM {table} ORDER BY rowid").fetchall()
    rows["manifest"] = [r for r in rows["manifest"] if r[0] != "created_at"]
    return rows


def counts(report: IngestReport) -> tuple[int, ...]:
    """What an ingest did, without how long it took."""
    return (report.added, report.updated, report.unchanged, report.chunks, report.sentences)


def ingest_both(
    tmp_path: Path, embedder: Embedder, workers: int, documents: list[Document], batch: int
) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Ingest documents into tmp_path/plain in-process and into tmp_path/ray on Ray; both reports."""
    config = EngineConfig(ingest_batch=batch)
    with Engine.open(tmp_path / "plain", config, embedder=embedder) as plain:
        by_plain = plain.ingest(documents)
    with Engine.open(tmp_path / "ray", config, embedder=embedder) as ray:
        by_ray = ray.ingest(documents, build=RayBatches(embedder.config, workers))
    return counts(by_plain), counts(by_ray)


def test_the_digest_on_ray_is_byte_identical(
    tmp_path: Path, embedder: Embedder, workers: int, digest_documents: list[Document]
) -> None:
    plain, ray = ingest_both(tmp_path, embedder, workers, digest_documents, batch=3)  # 4 batches, 2 actors
    assert plain == ray == (10, 0, 0, 10, 42)
    rows = store_rows(tmp_path / "ray")
    assert rows == store_rows(tmp_path / "plain")
    assert [r[0] for r in rows["chunks"]] == list(range(1, 11))  # ids in the plain path's order
    assert all(len(r[-1]) == 384 * 4 for r in rows["chunks"] + rows["sentences"])


def test_a_small_corpus_and_its_reingest_on_ray_are_byte_identical(
    tmp_path: Path,
    embedder: Embedder,
    workers: int,
    corpus: list[Document],
    digest_documents: list[Document],
) -> None:
    documents = corpus + digest_documents[:3]
    plain, ray = ingest_both(tmp_path, embedder, workers, documents, batch=2)
    assert plain == ray and plain[:3] == (8, 0, 0) and plain[3] > len(documents)  # "long" has several chunks
    assert store_rows(tmp_path / "ray") == store_rows(tmp_path / "plain")

    edited = replace(corpus[3], text="Snow delayed trains in the north and closed two schools.")
    again = [*documents[:3], edited, *documents[4:]]
    plain, ray = ingest_both(tmp_path, embedder, workers, again, batch=2)
    assert plain == ray == (0, 1, 7, 1, 1)  # only the edited document is built again
    assert store_rows(tmp_path / "ray") == store_rows(tmp_path / "plain")


def test_cli_ingest_with_ray_matches_the_plain_cli(
    tmp_path: Path, embedder: Embedder, workers: int, capsys: pytest.CaptureFixture[str]
) -> None:
    digest = Path(__file__).resolve().parents[1] / "data" / "news-digest.txt"
    assert main(["--store", str(tmp_path / "plain"), "ingest", str(digest), "--batch", "4"]) == 0
    capsys.readouterr()
    code = main(["--store", str(tmp_path / "ray"), "ingest", str(digest), "--batch", "4", "--ray"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert out.startswith("10 added, 0 updated, 0 unchanged, 0 rejected; 10 chunks, 42 sentences")
    assert store_rows(tmp_path / "ray") == store_rows(tmp_path / "plain")


def test_a_worker_that_cannot_load_the_model_fails_the_ingest_in_one_line(
    tmp_path: Path, workers: int, digest_documents: list[Document]
) -> None:
    build = RayBatches(EmbedderConfig(model_path=str(tmp_path)), workers)
    with pytest.raises(ClusterError) as failed:
        list(build([digest_documents], ChunkingConfig(), "late"))
    message = str(failed.value)
    assert message.startswith("a Ray worker failed: rag.errors.ModelNotFoundError: no sentence-transformers")
    assert str(tmp_path) in message and "\n" not in message


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_an_unreachable_cluster_is_one_line_and_writes_nothing(
    tmp_path: Path, embedder: Embedder, capsys: pytest.CaptureFixture[str]
) -> None:
    digest = Path(__file__).resolve().parents[1] / "data" / "news-digest.txt"
    address = f"127.0.0.1:{_closed_port()}"
    code = main(["--store", str(tmp_path / "s"), "ingest", str(digest), "--ray", address])
    _, err = capsys.readouterr()
    assert code == 1 and err.count("\n") == 1
    assert err.startswith(f"newsrag: error: cannot reach a Ray cluster at {address}: Connection refused;")
    assert not (tmp_path / "s").exists()
    code = main(["--store", str(tmp_path / "s"), "ingest", str(digest), "--ray", "head-node"])
    _, err = capsys.readouterr()
    expected = "newsrag: error: Ray address 'head-node' is not HOST:PORT, ray://HOST:PORT or auto\n"
    assert (code, err) == (1, expected)


def test_without_ray_installed_the_ingest_stops_before_writing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray now raises ImportError
    digest = Path(__file__).resolve().parents[1] / "data" / "news-digest.txt"
    code = main(["--store", str(tmp_path / "s"), "ingest", str(digest), "--ray"])
    _, err = capsys.readouterr()
    assert (code, err) == (1, f"newsrag: error: {RAY_MISSING}\n")
    assert not (tmp_path / "s").exists()
    code = main(["--store", str(tmp_path / "s"), "ingest", str(digest), "--ray-cpus", "2"])
    _, err = capsys.readouterr()
    expected = "newsrag: error: --ray-cpus sets the size of a Ray ingest: add --ray [ADDRESS]\n"
    assert (code, err) == (1, expected)
