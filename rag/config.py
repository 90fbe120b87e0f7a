"""Engine configuration: one frozen object with defaults that work."""

from __future__ import annotations

from dataclasses import dataclass, field

from rag.compose.answer import AnswerConfig
from rag.ingest.chunking import ChunkingConfig
from rag.ingest.embedder import EmbedderConfig
from rag.retrieve.pipeline import RetrievalConfig


@dataclass(frozen=True)
class EngineConfig:
    """Everything the engine needs besides the store path."""

    embedder: EmbedderConfig = field(default_factory=EmbedderConfig)
    chunking: ChunkingConfig = field(default_factory=ChunkingConfig)
    ingest_batch: int = 128  # documents per transaction: a crash loses at most this many
    retrieval: RetrievalConfig = field(default_factory=RetrievalConfig)
    answer: AnswerConfig = field(default_factory=AnswerConfig)
