"""kill -9 during `newsrag ingest`: on reopen the store holds exactly the committed batches, and
its vector file and lexical index agree with them."""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import time
from dataclasses import dataclass, replace
from pathlib import Path

from index.lexical import LexicalIndex
from index.vectors import VectorIndex
from rag.engine import Engine
from rag.ingest.embedder import Embedder
from rag.ingest.loaders import load_documents

REPO = Path(__file__).resolve().parents[1]
NEWSRAG = REPO / ".venv" / "bin" / "newsrag"
BATCH = 20
DOCUMENTS = 160
_WORDS = (
    "council harbour budget storm election river vaccine court strike festival rail bridge "
    "drought market museum school airport factory wildfire treaty minister police hospital"
).split()


@dataclass(frozen=True)
class Trial:
    """What one killed ingest left behind."""

    seed: int
    target_generation: int
    generation_at_kill: int
    documents_after_kill: int
    finished_before_kill: bool


def write_corpus(path: Path, count: int = DOCUMENTS, seed: int = 0) -> list[str]:
    """A JSONL file of small documents, each with a unique code word; returns the ids in file order."""
    rng = random.Random(seed)
    ids = []
    with path.open("w", encoding="utf-8") as out:
        for i in range(count):
            sentences = [
                " ".join(rng.choice(_WORDS) for _ in range(rng.randint(5, 12))).capitalize() + "."
                for _ in range(rng.randint(1, 4))
            ]
            text = f"Report zqx{i:04d} from the desk. " + " ".join(sentences)
            doc_id = f"doc-{i:04d}"
            ids.append(doc_id)
            out.write(json.dumps({"id": doc_id, "text": text, "title": f"Item {i}"}) + "\n")
    return ids


def db_generation(store: Path) -> int:
    """The committed generation, read without disturbing the writer (0 before the schema exists)."""
    db = store / "store.sqlite"
    if not db.exists():
        return 0
    try:
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1)
        try:
            return int(conn.execute("SELECT value FROM state WHERE key = 'generation'").fetchone()[0])
        finally:
            conn.close()
    except sqlite3.Error:
        return 0


def kill_ingest(store: Path, corpus: Path, seed: int, batches: int) -> Trial:
    """Start `newsrag ingest`, wait for a seeded generation plus a seeded delay, then SIGKILL it."""
    rng = random.Random(seed)
    target = rng.randint(1, max(1, batches - 1))
    delay = rng.uniform(0.0, 0.4)
    proc = subprocess.Popen(
        [str(NEWSRAG), "--store", str(store), "ingest", "--batch", str(BATCH), str(corpus)],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 240
    while proc.poll() is None and db_generation(store) < target and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(delay)
    finished = proc.poll() is not None
    if not finished:
        os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    return Trial(seed, target, db_generation(store), 0, finished)


def check_whole_batches(engine: Engine, ids: list[str]) -> int:
    """Assert the store holds exactly a prefix of whole batches, consistent everywhere; returns its size."""
    snapshot = engine.store.snapshot()
    conn = sqlite3.connect(f"file:{engine.store.folder / 'store.sqlite'}?mode=ro", uri=True)
    try:
        stored = sorted(r[0] for r in conn.execute("SELECT doc_id FROM documents"))
        count = len(stored)
        assert count % BATCH == 0 or count == len(ids), count
        assert stored == ids[:count]  # the file's order: committed batches are a prefix
        assert snapshot.generation == -(-count // BATCH)  # one generation per committed batch
        bare = conn.execute(
            "SELECT count(*) FROM documents AS d WHERE NOT EXISTS "
            "(SELECT 1 FROM chunks AS c WHERE c.doc_id = d.doc_id) OR NOT EXISTS "
            "(SELECT 1 FROM sentences AS s WHERE s.doc_id = d.doc_id)"
        ).fetchone()[0]
        assert bare == 0
        chunks = conn.execute(
            "SELECT c.text, d.text, c.start, c.end FROM chunks AS c JOIN documents AS d USING (doc_id)"
        ).fetchall()
        assert all(chunk == text[start:end] for chunk, text, start, end in chunks)
        lexical = snapshot.lexical_view
        assert lexical.size == len(chunks) and lexical.generation == snapshot.generation
        assert snapshot.vectors.size == len(chunks)
        assert snapshot.vectors.generation == snapshot.generation
    finally:
        conn.close()
    saved = VectorIndex.load(engine.store.folder / "vectors.faiss")
    assert saved is not None and saved.generation == snapshot.generation
    on_disk = LexicalIndex.open(engine.store.folder / "lexical")  # what the next open will read
    assert on_disk is not None and on_disk.view().generation == snapshot.generation
    assert on_disk.view().size == len(chunks)
    return count


def check_search(engine: Engine, count: int) -> None:
    """A committed document is found by its code word; the store answers queries."""
    if count == 0:
        return
    last = count - 1
    hits = engine.search(f"zqx{last:04d}", k=3, mode="lexical")
    assert hits and hits[0].doc_id == f"doc-{last:04d}"
    assert engine.search("storm over the harbour", k=5)


def run_trial(tmp: Path, corpus: Path, ids: list[str], seed: int, embedder: Embedder) -> Trial:
    """Kill one ingest, check the reopened store, finish the ingest, check again."""
    store = tmp / f"store-{seed}"
    trial = kill_ingest(store, corpus, seed, batches=-(-len(ids) // BATCH))
    engine = Engine.open(store, embedder=embedder)
    try:
        count = check_whole_batches(engine, ids)
        check_search(engine, count)
        conn = sqlite3.connect(f"file:{store / 'store.sqlite'}?mode=ro", uri=True)
        before = conn.execute("SELECT chunk_id, doc_id, text FROM chunks ORDER BY chunk_id").fetchall()
        conn.close()
        engine.config = replace(engine.config, ingest_batch=BATCH)
        report = engine.ingest(load_documents([corpus]).documents)
        assert (report.unchanged, report.added, report.updated) == (count, len(ids) - count, 0)
        assert check_whole_batches(engine, ids) == len(ids)
        conn = sqlite3.connect(f"file:{store / 'store.sqlite'}?mode=ro", uri=True)
        after = conn.execute("SELECT chunk_id, doc_id, text FROM chunks ORDER BY chunk_id").fetchall()
        conn.close()
        assert after[: len(before)] == before  # committed chunks untouched by the re-run
        check_search(engine, len(ids))
    finally:
        engine.close()
    return replace(trial, documents_after_kill=count)


def test_kill_during_ingest_keeps_exactly_the_committed_batches(tmp_path: Path, embedder: Embedder) -> None:
    corpus = tmp_path / "corpus.jsonl"
    ids = write_corpus(corpus)
    trials = [run_trial(tmp_path, corpus, ids, seed, embedder) for seed in (11, 12, 13)]
    # The kills landed inside the ingest, not after it: some batches committed, not all.
    assert any(0 < t.documents_after_kill < len(ids) for t in trials), trials
