"""Index a dataset's corpus once per configuration and reuse the store on later runs.

The store is the embedded one, in a folder of the cache, unless a run asks for Milvus: `milvus-lite`
keeps it in a milvus-lite file beside where the folder would be (`<name>.db`), and a server URI
`milvus://HOST:PORT` in collections prefixed with the same name. Either way the completion marker
stays in the cache (beside the file, or named for the server), and the cache key is the same, so
the two backends index the same documents with the same settings and can be compared side by side.
A Milvus index whose embedded entry is already built is copied from it (index/migrate.py) rather
than embedded again.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from eval.datasets import Dataset
from index.atomic import write_text_atomic
from index.location import Location, open_store
from index.migrate import copy_store
from rag.config import EngineConfig
from rag.engine import Engine, manifest_for, recorded_for
from rag.errors import InvalidRequestError
from rag.ingest.embedder import Embedder

MARKER = "eval-cache.json"  # written last: its presence means the ingest completed
EMBEDDED = "embedded"
LITE = "milvus-lite"
STORE_BACKENDS_HELP = f"{EMBEDDED} (default), {LITE}, or a Milvus server as milvus://HOST:PORT"
MAPPING_VERSION = 1  # bump when eval.datasets maps BEIR records to Documents differently


@dataclass(frozen=True)
class IndexInfo:
    """Where the dataset's store lives, whether it was reused, and what building it cost."""

    path: Location
    key: str
    reused: bool
    seconds: float
    documents: int
    chunks: int
    sentences: int


def cache_key(dataset: Dataset, config: EngineConfig, embedder: Embedder) -> dict[str, object]:
    """What the cached store depends on: the corpus file's content, chunking and the model. The
    content, not the file's path or mtime: a checkout elsewhere, or a copy, of the same corpus
    reuses the store; an edit in place does not."""
    return {
        "corpus_sha256": _sha256(dataset.corpus_path),
        "mapping_version": MAPPING_VERSION,
        **manifest_for(embedder, config),
        **recorded_for(config),
    }


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def cache_folder(cache_dir: Path, dataset: Dataset, key: dict[str, object]) -> Path:
    """The store folder for this key: the dataset name and a hash of the key."""
    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", dataset.name).strip("-") or "dataset"
    return Path(cache_dir) / f"{slug}-{digest}"


def cache_location(folder: Path, store_backend: str) -> tuple[Location, Path]:
    """Where the store of this cache entry lives for the backend, and its completion marker."""
    if store_backend == EMBEDDED:
        return folder, folder / MARKER
    if store_backend == LITE:
        return f"milvus-lite:{folder}.db", folder.with_name(f"{folder.name}.db.{MARKER}")
    server = urlsplit(store_backend)
    if server.scheme == "milvus" and server.hostname and server.path.strip("/") == "":
        # A collection name starts with a letter and holds letters, digits and underscores.
        prefix = "eval_" + re.sub(r"[^A-Za-z0-9_]", "_", folder.name)
        marker = folder.with_name(f"{folder.name}.{server.hostname}-{server.port or 19530}.{MARKER}")
        return f"milvus://{server.netloc}/{prefix}", marker
    raise InvalidRequestError(f"unknown index store {store_backend!r}: use {STORE_BACKENDS_HELP}")


def open_indexed(
    dataset: Dataset,
    cache_dir: Path,
    config: EngineConfig,
    embedder: Embedder,
    progress: Callable[[int], None] | None = None,
    store_backend: str = EMBEDDED,
) -> tuple[Engine, IndexInfo]:
    """An engine over the dataset's corpus: the cached store when complete, else built (resumably)."""
    key = cache_key(dataset, config, embedder)
    folder = cache_folder(cache_dir, dataset, key)
    location, marker = cache_location(folder, store_backend)
    reused = _complete(marker, key)
    started = time.perf_counter()
    marker.parent.mkdir(parents=True, exist_ok=True)
    engine = Engine.open(location, config, embedder=embedder)
    if not reused:
        embedded_built = _complete(folder / MARKER, key)
        copied = store_backend != EMBEDDED and embedded_built and not engine.stats().documents
        if copied:
            # The embedded entry of the same key is built: copy it (index/migrate.py) instead of
            # embedding the corpus again; the same vectors, and the same ids (it has no gaps).
            source = open_store(folder, {}, create=False, read_only=True)
            try:
                copy_store(source, engine.store, progress=progress)
            finally:
                source.close()
        # An interrupted build resumes: ingest skips documents already stored unchanged (after a copy,
        # all of them, already counted by the copy's progress).
        engine.ingest(dataset.documents, progress=None if copied else progress)
        _write_marker(marker, key)
    stats = engine.stats()
    info = IndexInfo(
        path=location,
        key=folder.name,
        reused=reused,
        seconds=0.0 if reused else time.perf_counter() - started,
        documents=stats.documents,
        chunks=stats.chunks,
        sentences=stats.sentences,
    )
    return engine, info


def _complete(marker: Path, key: dict[str, object]) -> bool:
    """True when the marker says a build under this key finished."""
    return marker.is_file() and json.loads(marker.read_text(encoding="utf-8")).get("key") == key


def _write_marker(marker: Path, key: dict[str, object]) -> None:
    payload = json.dumps({"key": key, "completed_at": time.strftime("%Y-%m-%dT%H:%M:%S%z")}, indent=2)
    write_text_atomic(marker, payload)
