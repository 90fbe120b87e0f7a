"""Shared fixtures: the real model, loaded once per session, and stores under tmp_path."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from rag.corpus import DEFAULT_CORPUS
from rag.engine import Engine
from rag.ingest.embedder import Embedder, shared_embedder
from rag.ingest.loaders import load_documents
from rag.types import Document

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    """The real all-MiniLM-L6-v2, loaded once for the whole test session."""
    return shared_embedder()


@pytest.fixture(scope="session")
def digest_documents() -> list[Document]:
    """The ten summaries of the shipped digest."""
    return load_documents([DEFAULT_CORPUS]).documents


@pytest.fixture
def engine(tmp_path: Path, embedder: Embedder) -> Iterator[Engine]:
    """An empty engine on a fresh store."""
    engine = Engine.open(tmp_path / "store", embedder=embedder)
    yield engine
    engine.close()


@pytest.fixture
def digest_engine(engine: Engine, digest_documents: list[Document]) -> Engine:
    """An engine holding the shipped digest."""
    engine.ingest(digest_documents)
    return engine
