"""The store in Milvus: documents, chunks (dense vector + BM25) and sentences in four collections.

Opened from a URI: `milvus-lite:PATH.db` (milvus-lite, in this process, data in the folder PATH.db)
or `milvus://HOST:PORT/PREFIX` (a Milvus server or cluster, no TLS or credentials here); the
collections are PREFIX_state, PREFIX_documents, PREFIX_chunks and PREFIX_sentences (index/
milvus_schema.py), made with their indexes on first open. PREFIX defaults to `newsrag`.

What a snapshot is here. Milvus has no transactions and no snapshot isolation, so the store
keeps its own visibility scheme over consistency level Strong (every read sees every write
acknowledged before it). Each row carries `born`, the generation of the write that made it, and
`died`, the generation of the write that replaced or deleted it (ALIVE until then). A write at
generation G+1 marks the rows it replaces died=G+1, inserts the new rows born=G+1, and only then
publishes G+1 by upserting one row of the state collection; a view at generation G reads only
rows with born <= G < died. So a reader sees a write whole or not at all, and an interrupted
write (a crash, a lost connection) is invisible: the next writer deletes its rows and revives
those it had marked before writing anything of its own.

What the embedded store guarantees and this one does not:
- An old view is complete for as long as it is held (SQLite pins it). Here replaced rows are
  deleted RETAIN_SECONDS after the write that replaced them (at the next write): a view held
  longer than that may find documents gone (the retrieval pipeline drops ids it cannot fetch).
- One writer, enforced (SQLite's write lock). Here nothing stops two processes writing the
  same collections at once; they would interleave generations and counters. Run one writer.
- Lexical search is Milvus's BM25 function over a field that holds each chunk's terms as the
  project's analyzer (index/lexical.py: simple tokenizer, long tokens dropped, lowercase, ASCII
  folding, Snowball English) made them, space-separated; queries go through the same analyzer.
  Milvus then only splits at spaces (a server's whitespace tokenizer; milvus-lite's standard one,
  runs of word characters lowercased, which differs only for the rare term holding a character
  Python does not count as a word character or lowercases differently). So both backends index
  the same terms, with the same BM25 parameters (k1 1.2, b 0.75) and the title counted twice.
  What differs: a phrase is ranked by its terms, not as a phrase: "U.S." matches chunks with `u`
  and `s` anywhere (tantivy requires them adjacent, and scores the phrase's frequency). Scores
  differ a little even on a fresh store (tantivy counts its generation marker as a document and
  rounds lengths to one-byte field norms: 4% on the contract suite's summaries, same order).
  BM25's corpus statistics here include rows kept for old views and rows of an interrupted write
  until they are purged, and milvus-lite keeps them per sealed segment (each write seals one;
  compaction merges them), not for the whole collection: on a store with a history, scores drift
  further from tantivy's, and differ between the two Milvus kinds.
- Dense search on a server uses HNSW (approximate); milvus-lite and the embedded store up to
  50,000 chunks are exact.
- Ids are the embedded store's for the same writes into a new store (counters from 1), except
  that an interrupted write's ids are skipped, not reused (SQLite rolls its counter back).
- read_only refuses writes but milvus-lite may still write its own files; size_bytes and
  wal_bytes are those files for milvus-lite and 0 for a server; save_vectors does nothing.
Records are checked whole (index/validate.py and the field limits of index/milvus_schema.py)
before anything is written; a write that fails later is undone as an interrupted one is.
"""

from __future__ import annotations

import fcntl
import json
import threading
import time
from collections.abc import Sequence
from contextlib import suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pymilvus import MilvusClient

from index.errors import ManifestMismatchError, ReadOnlyStoreError, StoreError
from index.milvus_rows import encode_records
from index.milvus_schema import ALIVE, Names, create_collections, milvus_errors, one_of, visible
from index.milvus_view import MilvusView
from index.records import DocumentRecord, WriteResult
from index.schema import FORMAT_VERSION
from index.validate import check_records

LITE = "milvus-lite:"
SERVER = "milvus://"
DEFAULT_PREFIX = "newsrag"
RETAIN_SECONDS = 600  # how long rows replaced by a write stay readable by views taken before it
_STRONG = {"consistency_level": "Strong"}
_lite_users: dict[str, int] = {}  # open stores per milvus-lite folder: its server stops with the last
_lite_lock = threading.Lock()


def parse_uri(uri: str) -> tuple[str, Names, Path | None]:
    """The client URI, the collection names and (for milvus-lite) the data folder of a store URI."""
    if uri.startswith(LITE):
        path = Path(uri[len(LITE) :]).expanduser().resolve()
        if path.suffix != ".db":
            raise StoreError(f"{uri}: a milvus-lite store is a path ending in .db, e.g. milvus-lite:store.db")
        return str(path), Names(DEFAULT_PREFIX), path
    parts = urlsplit(uri)
    prefix = parts.path.strip("/") or DEFAULT_PREFIX
    usable = (
        prefix.replace("_", "a").isascii() and prefix.replace("_", "a").isalnum() and not prefix[0].isdigit()
    )
    if parts.scheme != "milvus" or not parts.hostname or not usable:
        raise StoreError(
            f"{uri}: name a Milvus store as milvus://HOST:PORT/PREFIX (ASCII letters, digits and _, "
            "not starting with a digit: Milvus's rule for collection names)"
        )
    return f"http://{parts.hostname}:{parts.port or 19530}", Names(prefix), None


def milvus_store_exists(uri: str) -> bool:
    """True when the URI's state collection exists."""
    client_uri, names, lite = parse_uri(uri)
    if lite is not None and not lite.exists():
        return False
    client = _connect(client_uri, lite)
    try:
        with milvus_errors("looking for the store"):
            return bool(client.has_collection(names.state))
    finally:
        _disconnect(client, lite)


class MilvusStore:
    """The Backend over Milvus collections (module docstring)."""

    def __init__(
        self, client: MilvusClient, names: Names, manifest: dict[str, Any], lite: Path | None, read_only: bool
    ) -> None:
        self._client = client
        self._names = names
        self._lite = lite
        self.manifest = manifest
        self.read_only = read_only
        self.dimension = int(manifest["dimension"])
        self._write_lock = threading.Lock()
        self._snapshot = MilvusView(client, names, self._state("generation", 0))

    @classmethod
    def open(
        cls,
        uri: str,
        manifest: dict[str, Any],
        *,
        create: bool = True,
        read_only: bool = False,
        recorded: dict[str, Any] | None = None,
    ) -> MilvusStore:
        """Open (or create) the store the URI names; as Store.open, a differing manifest is refused."""
        client_uri, names, lite = parse_uri(uri)
        if lite is not None and not lite.exists() and (read_only or not create):
            raise StoreError(f"no store at {uri}: ingest documents first")
        client = _connect(client_uri, lite)
        try:
            with milvus_errors(f"opening {uri}"):
                stored = _open_collections(
                    client, names, manifest, create and not read_only, recorded or {}, uri
                )
            store = cls(client, names, stored, lite, read_only)
            if not read_only:
                with store._write_lock:
                    store._recover(store._snapshot.generation)
            return store
        except BaseException:
            _disconnect(client, lite)
            raise

    def _state(self, key: str, default: Any) -> Any:
        with milvus_errors("reading the store's state"):
            rows = self._client.query(
                self._names.state, filter=one_of("key", [key]), output_fields=["value"], **_STRONG
            )
        return json.loads(rows[0]["value"]) if rows else default

    def _set_state(self, values: dict[str, Any]) -> None:
        rows = [{"key": k, "value": json.dumps(v), "_unused": [0.0, 0.0]} for k, v in values.items()]
        self._client.upsert(self._names.state, rows)

    def snapshot(self) -> MilvusView:
        """The latest published view; hold on to it for a whole query."""
        return self._snapshot

    def refresh(self) -> bool:
        """Take up a generation another client published since ours; True if there was one."""
        with self._write_lock:
            generation = self._state("generation", 0)
            if generation == self._snapshot.generation:
                return False
            self._snapshot = MilvusView(self._client, self._names, generation)
            return True

    def content_hashes(self, doc_ids: Sequence[str]) -> dict[str, str]:
        """Stored content hashes of those documents that exist (at the latest published generation)."""
        where = f"part == 0 and {visible(self._state('generation', 0))}"
        found: dict[str, str] = {}
        for at in range(0, len(doc_ids), 1000):
            part = list(doc_ids[at : at + 1000])
            with milvus_errors("reading content hashes"):
                rows = self._client.query(
                    self._names.documents,
                    filter=f"{where} and {one_of('doc_id', part)}",
                    output_fields=["doc_id", "content_hash"],
                    **_STRONG,
                )
            found.update({r["doc_id"]: r["content_hash"] for r in rows})
        return found

    def write(self, records: Sequence[DocumentRecord], delete: Sequence[str] = ()) -> WriteResult:
        """Upsert records and delete ids as one generation, published last (module docstring)."""
        if self.read_only:
            raise ReadOnlyStoreError("the store is open read-only: nothing can be written")
        check_records(records, self.dimension)
        with self._write_lock:
            published = self._state("generation", 0)
            self._recover(published)
            counters = self._state("counters", {"row": 1, "chunk": 1, "sentence": 1})
            generation = published + 1
            encoded = encode_records(records, generation, counters)  # refuses what Milvus cannot hold
            try:
                with milvus_errors("writing"):
                    removed = self._replace(records, delete, generation, encoded)
                    self._set_state({"generation": generation})  # the write becomes visible here
            except BaseException:
                self._recover(published)
                raise
            self._snapshot = MilvusView(self._client, self._names, generation)
            self._purge(generation)
            self._seal()
        return WriteResult(
            added=sum(r.doc_id not in removed for r in records),
            updated=sum(r.doc_id in removed for r in records),
            deleted=len([d for d in delete if d in removed]),
            chunks=sum(len(r.chunks) for r in records),
            sentences=sum(len(r.sentences) for r in records),
            generation=generation,
        )

    def _replace(
        self, records: Sequence[DocumentRecord], delete: Sequence[str], generation: int, encoded: Any
    ) -> set[str]:
        """Mark the live rows of every named document ended at generation, then insert the new rows."""
        self._set_state({"counters": encoded.counters})  # before the rows: an interrupted write skips ids
        doc_ids = list(dict.fromkeys([r.doc_id for r in records] + list(delete)))
        removed: set[str] = set()
        now = int(time.time())
        for name, key in zip(self._names.data(), ("row_id", "chunk_id", "sentence_id"), strict=True):
            for at in range(0, len(doc_ids), 1000):
                where = f"died == {ALIVE} and {one_of('doc_id', doc_ids[at : at + 1000])}"
                rows = self._client.query(name, filter=where, output_fields=[key, "doc_id"], **_STRONG)
                if name == self._names.documents:
                    removed.update(r["doc_id"] for r in rows)
                ended = [{key: r[key], "died": generation, "died_at": now} for r in rows]
                for start in range(0, len(ended), 1000):
                    self._client.upsert(name, ended[start : start + 1000], partial_update=True)
        for name, rows in zip(self._names.data(), encoded.rows(), strict=True):
            for start in range(0, len(rows), 500):
                self._client.insert(name, rows[start : start + 500])
        return removed

    def _recover(self, published: int) -> None:
        """Undo an unpublished write: delete the rows it made, revive the rows it had ended."""
        with milvus_errors("recovering from an interrupted write"):
            for name, key in zip(self._names.data(), ("row_id", "chunk_id", "sentence_id"), strict=True):
                self._client.delete(name, filter=f"born > {published}")
                where = f"died > {published} and died < {ALIVE}"
                rows = self._client.query(name, filter=where, output_fields=[key], **_STRONG)
                if rows:
                    revived = [{key: r[key], "died": ALIVE, "died_at": 0} for r in rows]
                    self._client.upsert(name, revived, partial_update=True)

    def _purge(self, published: int) -> None:
        """Delete rows ended more than RETAIN_SECONDS ago (best effort: the next write tries again)."""
        cutoff = int(time.time()) - RETAIN_SECONDS
        try:
            with milvus_errors("purging replaced rows"):
                for name in self._names.data():
                    self._client.delete(name, filter=f"died <= {published} and died_at < {cutoff}")
        except StoreError:
            return

    def _seal(self) -> None:
        """milvus-lite: seal the chunks just written into a segment. Until then its BM25 takes corpus
        statistics from only the rows a search's filter lets through, so a chunk's score would depend
        on the filter (lexical_scores would disagree with lexical); a segment's are its own. A server
        keeps collection-wide statistics and flushes on its own schedule."""
        if self._lite is None:
            return
        with suppress(StoreError), milvus_errors("sealing the chunks"):
            self._client.flush(self._names.chunks)

    def save_vectors(self) -> None:
        """Nothing to do: Milvus persists its own indexes."""

    def size_bytes(self) -> int:
        """Bytes of the milvus-lite folder; 0 for a server, whose disk is not ours to measure."""
        return _folder_bytes(self._lite) if self._lite is not None else 0

    def wal_bytes(self) -> int:
        """Bytes of milvus-lite's write-ahead logs; 0 for a server."""
        if self._lite is None:
            return 0
        return sum(_folder_bytes(wal) for wal in self._lite.glob("collections/*/wal"))

    def close(self) -> None:
        """Close the client (and, with the last store on it, the milvus-lite server)."""
        with self._write_lock:
            _disconnect(self._client, self._lite)


def _open_collections(
    client: MilvusClient,
    names: Names,
    manifest: dict[str, Any],
    create: bool,
    recorded: dict[str, Any],
    uri: str,
) -> dict[str, Any]:
    wanted = {"format_version": FORMAT_VERSION, **manifest}
    present = {n: bool(client.has_collection(n)) for n in (names.state, *names.data())}
    if not any(present.values()):
        if not create:
            raise StoreError(f"no store at {uri}: ingest documents first")
        create_collections(client, names, int(manifest["dimension"]), lite=uri.startswith(LITE))
        made = {**recorded, **wanted, "created_at": datetime.now(UTC).isoformat(timespec="seconds")}
        client.upsert(names.state, [{"key": "manifest", "value": json.dumps(made), "_unused": [0.0, 0.0]}])
        return made
    if not all(present.values()):
        missing = [n for n, there in present.items() if not there]
        raise StoreError(
            f"the store at {uri} lacks its collection {missing[0]}; restore it or use another PREFIX"
        )
    for name in present:
        client.load_collection(name)
    rows = client.query(names.state, filter='key == "manifest"', output_fields=["value"], **_STRONG)
    if not rows:
        raise StoreError(f"{uri} has the collections of a newsrag store but no manifest; use another PREFIX")
    stored: dict[str, Any] = json.loads(rows[0]["value"])
    for key, value in wanted.items():
        if stored.get(key) != value:
            raise ManifestMismatchError(key, stored.get(key), value)
    return stored


def _connect(client_uri: str, lite: Path | None) -> MilvusClient:
    if lite is not None:
        lite.parent.mkdir(parents=True, exist_ok=True)
        with _lite_lock:
            if not _lite_users.get(str(lite)):
                _check_not_locked(lite)
            _lite_users[str(lite)] = _lite_users.get(str(lite), 0) + 1
    try:
        with milvus_errors(f"connecting to {client_uri}"):
            return MilvusClient(uri=client_uri)
    except BaseException:
        _release_lite(lite)
        raise


def _check_not_locked(lite: Path) -> None:
    """Refuse, in one line, a milvus-lite folder another process has open: milvus-lite holds an
    advisory lock on its LOCK file while open and would fail with a logged traceback instead."""
    lock_file = lite / "LOCK"
    if not lock_file.is_file():
        return
    with open(lock_file, "a") as probe:
        try:
            fcntl.flock(probe, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise StoreError(
                f"the milvus-lite store {lite} is open in another process, and milvus-lite allows one: "
                "stop that process (or serve the store and use its HTTP API)"
            ) from None
        fcntl.flock(probe, fcntl.LOCK_UN)


def _disconnect(client: MilvusClient, lite: Path | None) -> None:
    client.close()
    _release_lite(lite)


def _release_lite(lite: Path | None) -> None:
    if lite is None:
        return
    with _lite_lock:
        left = _lite_users.get(str(lite), 1) - 1
        _lite_users[str(lite)] = left
    if left <= 0:
        from milvus_lite.server_manager import server_manager_instance

        server_manager_instance.release_server(str(lite))  # its file lock goes with it


def _folder_bytes(folder: Path) -> int:
    total = 0
    for path in folder.rglob("*"):
        try:
            total += path.stat().st_size if path.is_file() else 0
        except FileNotFoundError:  # milvus-lite replaces files while it writes
            continue
    return total
