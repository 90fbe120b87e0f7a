"""newsrag's domain: documents, chunking, embedding, retrieval, answers and the Engine facade."""

from rag.config import EngineConfig
from rag.errors import (
    CorpusFormatError,
    IndexMismatchError,
    InvalidRequestError,
    ModelNotFoundError,
    NewsragError,
    StoreError,
)
from rag.types import (
    Answer,
    AnswerSentence,
    Chunk,
    Citation,
    Document,
    Filters,
    IngestReport,
    Passage,
    Rejected,
    ShortAnswer,
    Source,
    StoreStats,
    Turn,
)

__all__ = [
    "Answer",
    "AnswerSentence",
    "Chunk",
    "Citation",
    "CorpusFormatError",
    "Document",
    "EngineConfig",
    "Filters",
    "IndexMismatchError",
    "IngestReport",
    "InvalidRequestError",
    "ModelNotFoundError",
    "NewsragError",
    "Passage",
    "Rejected",
    "ShortAnswer",
    "Source",
    "StoreError",
    "StoreStats",
    "Turn",
]
