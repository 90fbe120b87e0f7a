"""Damaged files and a full disk, through the CLI: one clear line, never a traceback or a lost batch."""

from __future__ import annotations

import json
import os
import resource
import signal
import sqlite3
import subprocess
from pathlib import Path

import pytest

from index.vectors import VectorIndex
from newsrag.cli import main
from rag.engine import Engine
from rag.ingest.embedder import Embedder
from rag.types import Document

REPO = Path(__file__).resolve().parents[1]
NEWSRAG = REPO / ".venv" / "bin" / "newsrag"


@pytest.fixture
def store(tmp_path: Path, embedder: Embedder, digest_documents: list[Document]) -> Path:
    """A closed store holding the shipped digest (its WAL checkpointed into store.sqlite)."""
    folder = tmp_path / "store"
    engine = Engine.open(folder, embedder=embedder)
    engine.ingest(digest_documents)
    engine.close()
    return folder


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _damage_db(folder: Path, how: str) -> None:
    db = folder / "store.sqlite"
    for extra in ("store.sqlite-wal", "store.sqlite-shm"):
        (folder / extra).unlink(missing_ok=True)
    data = db.read_bytes()
    if how == "garbage":
        db.write_bytes(bytes((i * 131 + 7) % 256 for i in range(len(data))))
    elif how == "header":
        db.write_bytes(data[:100])
    elif how == "half":
        db.write_bytes(data[: len(data) // 2])
    elif how == "zeroed":  # the header survives, the pages after the first do not
        db.write_bytes(data[:4096] + bytes(len(data) - 4096))


@pytest.mark.parametrize("how", ["garbage", "header", "half", "zeroed"])
@pytest.mark.parametrize("command", [["stats"], ["search", "bridge"], ["ask", "What happened?"]])
def test_damaged_database_is_one_clear_error(
    store: Path, how: str, command: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    _damage_db(store, how)
    code, _, err = _run(capsys, "--store", str(store), *command)
    assert code == 1
    assert err.startswith("newsrag: error: ") and err.count("\n") == 1, err
    assert "Traceback" not in err


@pytest.mark.parametrize("how", ["garbage", "truncated", "empty", "flipped"])
def test_damaged_vector_file_is_rebuilt_silently_through_the_cli(
    store: Path, how: str, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["--store", str(store), "search", "bridge", "-k", "5", "--mode", "dense"]
    code, expected, _ = _run(capsys, *argv)
    assert code == 0 and expected.startswith("1. [")
    vectors = store / "vectors.faiss"
    data = vectors.read_bytes()
    damaged = {
        "garbage": os.urandom(len(data)),
        "truncated": data[: len(data) // 2],
        "empty": b"",
        "flipped": data[:-10] + bytes(b ^ 0xFF for b in data[-10:]),
    }[how]
    vectors.write_bytes(damaged)
    code, out, err = _run(capsys, *argv)
    assert (code, out, err) == (0, expected, "")
    rebuilt = VectorIndex.load(vectors)
    assert rebuilt is not None and rebuilt.size > 0


_FILLER = "The harbour council met again. " * 8


def _documents(count: int, start: int) -> str:
    lines = [
        json.dumps({"id": f"new-{i:04d}", "text": f"Filler report {i}. " + _FILLER})
        for i in range(start, start + count)
    ]
    return "\n".join(lines) + "\n"


def _limit_file_size(limit: int) -> None:
    # ulimit -f: a write past `limit` bytes fails with EFBIG instead of killing the process.
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))


def test_full_disk_during_ingest_fails_clearly_and_keeps_the_store(
    store: Path, tmp_path: Path, embedder: Embedder, digest_documents: list[Document]
) -> None:
    corpus = tmp_path / "more.jsonl"
    corpus.write_text(_documents(200, 0), encoding="utf-8")
    limit = (store / "store.sqlite").stat().st_size + 256 * 1024  # room for a few batches, not all
    proc = subprocess.run(
        [str(NEWSRAG), "--store", str(store), "ingest", "--batch", "20", str(corpus)],
        cwd=REPO,
        capture_output=True,
        text=True,
        preexec_fn=lambda: _limit_file_size(limit),
        timeout=600,
    )
    assert proc.returncode == 1, (proc.returncode, proc.stderr[-2000:])
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("newsrag: error: "), proc.stderr[-2000:]
    assert "full" in last or "disk" in last or "I/O" in last, last
    assert "Traceback" not in proc.stderr

    engine = Engine.open(store, embedder=embedder)
    try:
        snapshot = engine.store.snapshot()
        ids = {r[0] for r in sqlite3.connect(store / "store.sqlite").execute("SELECT doc_id FROM documents")}
        assert {d.doc_id for d in digest_documents} <= ids
        new = len(ids) - len(digest_documents)
        assert new % 20 == 0 and new < 200  # whole batches only, and the disk did fill
        assert snapshot.vectors.size == snapshot.count("chunks")
        hits = engine.search("bridge", k=3)
        assert hits
        for doc in digest_documents:
            stored = engine.document(doc.doc_id)
            assert stored is not None and stored.text == doc.text
    finally:
        engine.close()
