"""The embedded default corpus: the news digest the service ships with."""

from __future__ import annotations

from pathlib import Path

from index.location import Location, as_location, is_milvus, shown, store_exists
from rag.config import EngineConfig
from rag.engine import Engine
from rag.ingest.embedder import Embedder
from rag.ingest.loaders import load_documents

DATA_DIR = Path(__file__).resolve().parents[1] / "data"
DEFAULT_CORPUS = DATA_DIR / "news-digest.txt"


def open_or_seed(
    path: Location, config: EngineConfig | None = None, embedder: Embedder | None = None
) -> Engine:
    """Open the store at path; when there is none yet, create it and index the shipped digest."""
    is_new = not store_exists(path)
    engine = Engine.open(path, config, embedder=embedder)
    if is_new and DEFAULT_CORPUS.is_file():
        engine.ingest(load_documents([DEFAULT_CORPUS]).documents)
    return engine


__all__ = ["DEFAULT_CORPUS", "Location", "as_location", "is_milvus", "open_or_seed", "shown", "store_exists"]
