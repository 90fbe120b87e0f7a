"""The persistent store: SQLite (the source of truth), derived FAISS and tantivy indexes, one writer."""

from __future__ import annotations

import json
import sqlite3
import threading
import weakref
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from pathlib import Path
from stat import S_ISREG
from typing import Any

import numpy as np

from index.errors import ManifestMismatchError, ReadOnlyStoreError, StoreError
from index.lexical import FOLDER as LEXICAL_NAME
from index.lexical import LexicalChunk, LexicalIndex, LexicalView
from index.records import DocumentRecord, WriteResult
from index.schema import FORMAT_VERSION, MIGRATIONS, migrate
from index.snapshot import Snapshot, connect, lexical_chunks, read_generation
from index.validate import check_records
from index.vectors import VectorIndex

DB_NAME = "store.sqlite"
VECTORS_NAME = "vectors.faiss"
# The write-ahead log is checkpointed into the database once it is this large, and cut back to
# this size when it restarts.
WAL_LIMIT_BYTES = 8 * 1024 * 1024


class Store:
    """Documents, chunks, sentences and vectors in one folder; see DESIGN.md for the invariants."""

    def __init__(
        self, folder: Path, conn: sqlite3.Connection, manifest: dict[str, Any], read_only: bool = False
    ) -> None:
        self.folder = folder
        self.manifest = manifest
        self.read_only = read_only
        self.dimension = int(manifest["dimension"])
        self._conn = conn
        self._write_lock = threading.Lock()
        saved = VectorIndex.load(folder / VECTORS_NAME)
        self._saved_generation = saved.generation if saved is not None else None
        # Every snapshot handed out, so close() can end the ones readers still hold: a connection
        # left open keeps SQLite's in-process WAL index alive, and a later open of a replaced or
        # damaged file in the same process would read through it.
        self._snapshots: weakref.WeakSet[Snapshot] = weakref.WeakSet()
        self._lexical = self._open_lexical()
        self._snapshot = self._new_snapshot(saved, self._lexical_view())
        self.save_vectors()  # writes only when the file was missing, stale or corrupt (just rebuilt)

    @classmethod
    def open(
        cls,
        folder: Path,
        manifest: dict[str, Any],
        *,
        create: bool = True,
        read_only: bool = False,
        recorded: dict[str, Any] | None = None,
    ) -> Store:
        """Open (or create) the store in folder; a manifest that disagrees with the stored one is
        refused. recorded: facts a new store records beside the manifest, never checked (a store
        made before one existed lacks it). read_only never writes a byte to the folder (a read-only
        mount, a baked image): writes are refused, and the store must be as a clean close left it."""
        path = folder / DB_NAME
        if read_only:
            return cls._open_read_only(folder, manifest)
        empty = not path.exists() or path.stat().st_size == 0
        others = [name for name in (DB_NAME + "-wal", VECTORS_NAME, LEXICAL_NAME) if (folder / name).exists()]
        if empty and others:  # the source of truth is gone, not new: never serve it as an empty store
            raise StoreError(
                f"the store at {folder} has {others[0]} but its database {DB_NAME} is "
                f"{'empty' if path.exists() else 'missing'}; restore {DB_NAME} from a backup, or "
                "move the folder aside and ingest into a new one"
            )
        if empty and not create:
            raise StoreError(f"no store at {folder}: ingest documents first")
        try:
            folder.mkdir(parents=True, exist_ok=True)
            conn = connect(path)
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute(f"PRAGMA journal_size_limit = {WAL_LIMIT_BYTES}")
            tables = _tables(conn)
            if tables and "manifest" not in tables:
                conn.close()
                raise StoreError(f"{path} is an SQLite database but not a newsrag store; open another folder")
            if not tables and (others or not create):
                conn.close()
                raise StoreError(
                    f"no store at {folder}: ingest documents first"
                    if not others
                    else f"the store at {folder} has {others[0]} but its database {DB_NAME} holds "
                    f"no tables; restore {DB_NAME} from a backup, or move the folder aside"
                )
            migrate(conn)
            stored = _check_manifest(conn, {"format_version": FORMAT_VERSION, **manifest}, recorded or {})
            return cls(folder, conn, stored)
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"cannot open the store at {folder}: {exc}") from None
        except OSError as exc:
            raise StoreError(f"cannot open the store at {folder}: {exc.strerror or exc}") from None

    @classmethod
    def _open_read_only(cls, folder: Path, manifest: dict[str, Any]) -> Store:
        path = folder / DB_NAME
        if not path.is_file() or path.stat().st_size == 0:
            raise StoreError(f"no store at {folder} to serve read-only")
        wal = folder / (DB_NAME + "-wal")
        if wal.exists() and wal.stat().st_size > 0:
            raise StoreError(
                f"the store at {folder} has writes still in its write-ahead log; open it writable once "
                "(newsrag stats) to fold them in, then serve it read-only"
            )
        try:
            conn = connect(path, read_only=True)
            if conn.execute("PRAGMA user_version").fetchone()[0] != len(MIGRATIONS):
                raise StoreError(
                    f"the store at {folder} is in an older format; open it writable once to upgrade it"
                )
            if "manifest" not in _tables(conn):
                raise StoreError(f"{path} is an SQLite database but not a newsrag store")
            stored = {k: json.loads(v) for k, v in conn.execute("SELECT key, value FROM manifest")}
            for key, value in {"format_version": FORMAT_VERSION, **manifest}.items():
                if stored.get(key) != value:
                    raise ManifestMismatchError(key, stored.get(key), value)
            return cls(folder, conn, stored, read_only=True)
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"cannot open the store at {folder} read-only: {exc}") from None

    def snapshot(self) -> Snapshot:
        """The current read view; hold on to it for a whole query."""
        return self._snapshot

    def _new_snapshot(self, vectors: VectorIndex | None, lexical: LexicalView | None) -> Snapshot:
        snapshot = Snapshot(self.folder / DB_NAME, vectors, lexical, self.dimension, self.read_only)
        self._snapshots.add(snapshot)
        return snapshot

    def _open_lexical(self) -> LexicalIndex | None:
        """The lexical index on disk, rebuilt from SQLite when it is missing, unreadable or at another
        generation. A read-only store never writes it: its snapshots build one in memory instead."""
        folder = self.folder / LEXICAL_NAME
        found = LexicalIndex.open(folder)
        if self.read_only:
            return found
        if found is not None and found.view().generation == read_generation(self._conn):
            return found
        with self._transaction() as conn:  # the write lock: no other writer commits meanwhile
            try:
                index = found or LexicalIndex.create(folder)
                index.rebuild(lexical_chunks(conn), read_generation(conn))
            except (ValueError, RuntimeError) as exc:
                raise StoreError(f"cannot rebuild the lexical index in {folder}: {exc}") from None
        return index

    def _lexical_view(self) -> LexicalView | None:
        return self._lexical.view() if self._lexical is not None else None

    def refresh(self) -> bool:
        """Publish a new snapshot when another process has committed since ours; True if it did."""
        with self._write_lock:
            if read_generation(self._conn) == self._snapshot.generation:
                return False
            self._snapshot = self._new_snapshot(None, self._lexical_view())
            return True

    def content_hashes(self, doc_ids: Sequence[str]) -> dict[str, str]:
        """Stored content hashes of those documents that exist."""
        found: dict[str, str] = {}
        for start in range(0, len(doc_ids), 500):
            part = list(doc_ids[start : start + 500])
            marks = ",".join("?" * len(part))
            sql = f"SELECT doc_id, content_hash FROM documents WHERE doc_id IN ({marks})"
            with self._write_lock:
                found.update(self._conn.execute(sql, part).fetchall())
        return found

    def write(self, records: Sequence[DocumentRecord], delete: Sequence[str] = ()) -> WriteResult:
        """Upsert records and delete ids in one transaction, then publish the next snapshot."""
        if self.read_only:
            raise ReadOnlyStoreError("the store is open read-only: nothing can be written")
        check_records(records, self.dimension)
        with self._write_lock:
            lexical_written = False
            try:
                with self._transaction() as conn:
                    removed = _remove_documents(conn, [r.doc_id for r in records] + list(delete))
                    new_ids, new_vectors, new_chunks = _insert_documents(conn, records)
                    generation = read_generation(conn) + 1
                    conn.execute("UPDATE state SET value = ? WHERE key = 'generation'", (generation,))
                    # The lexical index commits first, SQLite last: see index/lexical.py.
                    old_ids = [i for chunk_ids in removed.values() for i in chunk_ids]
                    self._write_lexical(old_ids, new_chunks, generation)
                    lexical_written = True
            except StoreError:
                if lexical_written:  # SQLite's commit failed after the index's: put the index back
                    self._lexical = self._open_lexical_quietly()
                raise
            self._publish(removed, new_ids, new_vectors, generation)
            if self.wal_bytes() > WAL_LIMIT_BYTES:
                self._checkpoint()
        existing = set(removed)
        return WriteResult(
            added=sum(r.doc_id not in existing for r in records),
            updated=sum(r.doc_id in existing for r in records),
            deleted=len([d for d in delete if d in removed]),
            chunks=len(new_ids),
            sentences=sum(len(r.sentences) for r in records),
            generation=generation,
        )

    def _write_lexical(self, remove: list[int], add: list[LexicalChunk], generation: int) -> None:
        if self._lexical is None:  # rebuilt at open; gone only when that failed
            raise StoreError("the lexical index is unavailable; reopen the store to rebuild it")
        try:
            self._lexical.write(remove, add, generation)
        except (OSError, ValueError, RuntimeError) as exc:
            raise StoreError(f"the write to the lexical index failed, nothing was changed: {exc}") from None

    def _open_lexical_quietly(self) -> LexicalIndex | None:
        with suppress(StoreError, OSError, ValueError, RuntimeError):
            return self._open_lexical()
        return None

    def _publish(
        self, removed: dict[str, list[int]], ids: list[int], vectors: list[np.ndarray], generation: int
    ) -> None:
        old_ids = np.asarray([i for chunk_ids in removed.values() for i in chunk_ids], dtype=np.int64)
        add = np.vstack(vectors) if vectors else np.zeros((0, self.dimension), dtype=np.float32)
        candidate = self._snapshot.vectors.updated(old_ids, np.asarray(ids, dtype=np.int64), add, generation)
        self._snapshot = self._new_snapshot(candidate, self._lexical_view())

    def _checkpoint(self) -> None:
        """Copy the log into the database, without waiting for readers; when it all went in, take
        a fresh snapshot, which then reads the database file alone, so that the next write can
        start the log over (and cut it back to WAL_LIMIT_BYTES). Otherwise the current snapshot
        always reads from the log and the log never shrinks. A reader still on an older snapshot
        stops the copy short: the next write tries again."""
        busy, logged, copied = self._conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        if not busy and logged == copied:
            self._snapshot = self._new_snapshot(self._snapshot.vectors, self._snapshot.lexical_view)

    def wal_bytes(self) -> int:
        """Bytes in the write-ahead log file."""
        wal = self.folder / (DB_NAME + "-wal")
        return wal.stat().st_size if wal.exists() else 0

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        try:
            self._conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            raise StoreError(f"cannot write to the store: {exc}") from None
        try:
            yield self._conn
            self._conn.execute("COMMIT")
        except sqlite3.Error as exc:
            self._rollback()
            raise StoreError(f"the write to the store failed, nothing was changed: {exc}") from None
        except BaseException:
            self._rollback()
            raise

    def _rollback(self) -> None:
        # SQLite may have rolled back already (a full disk or an I/O error fails COMMIT that way).
        if self._conn.in_transaction:
            self._conn.execute("ROLLBACK")

    def save_vectors(self) -> None:
        """Persist the current FAISS index beside the database unless the file already holds it
        (atomic; derived, so best effort: a missing or stale file is rebuilt from SQLite at open)."""
        vectors = self._snapshot.vectors
        if self.read_only or vectors.generation == self._saved_generation:
            return  # a reader never rewrites the file (and never puts an older generation back)
        with suppress(OSError):
            vectors.save(self.folder / VECTORS_NAME)
            self._saved_generation = vectors.generation

    def size_bytes(self) -> int:
        """Bytes on disk: database, its write-ahead log, the vector file and the lexical index."""
        names = (DB_NAME, DB_NAME + "-wal", VECTORS_NAME)
        files = [self.folder / n for n in names] + list((self.folder / LEXICAL_NAME).glob("*"))
        return sum(_file_size(f) for f in files)

    def close(self) -> None:
        """Save the vectors and close the connections."""
        with self._write_lock:
            self.save_vectors()
            for snapshot in list(self._snapshots):
                snapshot.close()
            self._conn.close()


def _file_size(path: Path) -> int:
    """A file's size, 0 for one that is not there: the lexical index writes and removes
    temporary files while a reader sums the folder."""
    try:
        status = path.stat()
    except FileNotFoundError:
        return 0
    return status.st_size if S_ISREG(status.st_mode) else 0


def _tables(conn: sqlite3.Connection) -> set[str]:
    return {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def _check_manifest(
    conn: sqlite3.Connection, wanted: dict[str, Any], recorded: dict[str, Any]
) -> dict[str, Any]:
    stored = {k: json.loads(v) for k, v in conn.execute("SELECT key, value FROM manifest")}
    if not stored:
        created = {**recorded, **wanted, "created_at": datetime.now(UTC).isoformat(timespec="seconds")}
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany(
            "INSERT INTO manifest (key, value) VALUES (?, ?)",
            [(k, json.dumps(v)) for k, v in created.items()],
        )
        conn.execute("COMMIT")
        return created
    for key, value in wanted.items():
        if stored.get(key) != value:
            raise ManifestMismatchError(key, stored.get(key), value)
    return stored


def _remove_documents(conn: sqlite3.Connection, doc_ids: list[str]) -> dict[str, list[int]]:
    """Delete documents with their chunks and sentences; returns doc id -> chunk ids."""
    removed: dict[str, list[int]] = {}
    for doc_id in dict.fromkeys(doc_ids):
        if conn.execute("SELECT 1 FROM documents WHERE doc_id = ?", (doc_id,)).fetchone() is None:
            continue
        chunk_ids = [r[0] for r in conn.execute("SELECT chunk_id FROM chunks WHERE doc_id = ?", (doc_id,))]
        conn.execute("DELETE FROM documents WHERE doc_id = ?", (doc_id,))  # cascades
        removed[doc_id] = chunk_ids
    return removed


def _insert_documents(
    conn: sqlite3.Connection, records: Sequence[DocumentRecord]
) -> tuple[list[int], list[np.ndarray], list[LexicalChunk]]:
    now = datetime.now(UTC).isoformat(timespec="seconds")
    ids: list[int] = []
    vectors: list[np.ndarray] = []
    lexical: list[LexicalChunk] = []
    for r in records:
        conn.execute(
            "INSERT INTO documents (doc_id, content_hash, text, title, source, url, published_at, "
            "metadata, ingested_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                r.doc_id,
                r.content_hash,
                r.text,
                r.title,
                r.source,
                r.url,
                r.published_at,
                json.dumps(r.metadata, ensure_ascii=False, default=str),
                now,
            ),
        )
        for c in r.chunks:
            cursor = conn.execute(
                "INSERT INTO chunks (doc_id, ordinal, start, end, text, vector) VALUES (?, ?, ?, ?, ?, ?)",
                (r.doc_id, c.ordinal, c.start, c.end, c.text, _blob(c.vector)),
            )
            chunk_id = int(cursor.lastrowid or 0)
            lexical.append(LexicalChunk(chunk_id, r.title or "", c.text))
            ids.append(chunk_id)
            vectors.append(np.asarray(c.vector, dtype=np.float32).reshape(1, -1))
        conn.executemany(
            "INSERT INTO sentences (doc_id, ordinal, start, end, vector) VALUES (?, ?, ?, ?, ?)",
            [(r.doc_id, s.ordinal, s.start, s.end, _blob(s.vector)) for s in r.sentences],
        )
    return ids, vectors, lexical


def _blob(vector: np.ndarray) -> bytes:
    return np.ascontiguousarray(vector, dtype=np.float32).tobytes()
