"""The project's error hierarchy: one base, a few specific kinds the edges translate."""

from __future__ import annotations


class NewsragError(Exception):
    """Base of every error newsrag raises on purpose."""


class CorpusFormatError(NewsragError):
    """Input that cannot become a document: bad JSON, missing text, bad date, empty text."""

    def __init__(self, message: str, *, path: str | None = None, line: int | None = None) -> None:
        self.path = path
        self.line = line
        where = ""
        if path is not None:
            where = f"{path}:{line}: " if line is not None else f"{path}: "
        super().__init__(f"{where}{message}")
        self.reason = message


class IndexMismatchError(NewsragError):
    """The store was built with another embedder or chunking than the one asked for."""


class StoreError(NewsragError):
    """The store cannot be opened or written (corrupt file, read-only disk, disk full)."""


class ClusterError(NewsragError):
    """An ingest on Ray cannot run: Ray is not installed, its cluster is out of reach, or a worker died."""


class ModelNotFoundError(NewsragError):
    """The embedding model is not installed or the configured folder holds no model."""


class InvalidRequestError(NewsragError):
    """A query or request argument out of its allowed range."""


class ReadOnlyError(NewsragError):
    """A write to an engine whose store is open read-only."""


class OverBudgetError(NewsragError):
    """A request whose work ran past its time budget and was stopped."""
