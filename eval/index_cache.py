"""Index a dataset's corpus once per configuration and reuse the store on later runs."""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from eval.datasets import Dataset
from index.atomic import write_text_atomic
from rag.config import EngineConfig
from rag.engine import Engine, manifest_for, recorded_for
from rag.ingest.embedder import Embedder

MARKER = "eval-cache.json"  # written last: its presence means the ingest completed
MAPPING_VERSION = 1  # bump when eval.datasets maps BEIR records to Documents differently


@dataclass(frozen=True)
class IndexInfo:
    """Where the dataset's store lives, whether it was reused, and what building it cost."""

    path: Path
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


def open_indexed(
    dataset: Dataset,
    cache_dir: Path,
    config: EngineConfig,
    embedder: Embedder,
    progress: Callable[[int], None] | None = None,
) -> tuple[Engine, IndexInfo]:
    """An engine over the dataset's corpus: the cached store when complete, else built (resumably)."""
    key = cache_key(dataset, config, embedder)
    folder = cache_folder(cache_dir, dataset, key)
    marker = folder / MARKER
    reused = marker.is_file() and json.loads(marker.read_text(encoding="utf-8")).get("key") == key
    started = time.perf_counter()
    engine = Engine.open(folder, config, embedder=embedder)
    if not reused:
        # An interrupted build resumes: ingest skips documents already stored unchanged.
        engine.ingest(dataset.documents, progress=progress)
        _write_marker(marker, key)
    stats = engine.stats()
    info = IndexInfo(
        path=folder,
        key=folder.name,
        reused=reused,
        seconds=0.0 if reused else time.perf_counter() - started,
        documents=stats.documents,
        chunks=stats.chunks,
        sentences=stats.sentences,
    )
    return engine, info


def _write_marker(marker: Path, key: dict[str, object]) -> None:
    payload = json.dumps({"key": key, "completed_at": time.strftime("%Y-%m-%dT%H:%M:%S%z")}, indent=2)
    write_text_atomic(marker, payload)
