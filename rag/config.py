"""Engine configuration: one frozen object with defaults that work."""

from __future__ import annotations

from dataclasses import dataclass, field

from rag.compose.answer import AnswerConfig
from rag.errors import InvalidRequestError
from rag.ingest.chunking import ChunkingConfig
from rag.ingest.embedder import EmbedderConfig
from rag.retrieve.pipeline import RetrievalConfig

SENTENCE_VECTORS = ("late", "separate")


@dataclass(frozen=True)
class EngineConfig:
    """Everything the engine needs besides the store path."""

    embedder: EmbedderConfig = field(default_factory=EmbedderConfig)
    chunking: ChunkingConfig = field(default_factory=ChunkingConfig)
    ingest_batch: int = 128  # documents per transaction: a crash loses at most this many
    # How a new store's sentence vectors are made (rag.ingest.records.build_records): "late",
    # pooled from the chunk's own forward pass, or "separate", a pass each. A store keeps its own.
    sentence_vectors: str = "late"
    retrieval: RetrievalConfig = field(default_factory=RetrievalConfig)
    answer: AnswerConfig = field(default_factory=AnswerConfig)

    def __post_init__(self) -> None:
        if self.sentence_vectors not in SENTENCE_VECTORS:
            raise InvalidRequestError(
                f"unknown sentence vectors {self.sentence_vectors!r}: "
                f"choose one of {', '.join(SENTENCE_VECTORS)}"
            )
