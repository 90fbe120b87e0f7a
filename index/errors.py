"""Errors of the store layer; the domain layer translates them for its callers."""

from __future__ import annotations


class StoreError(Exception):
    """The store cannot be opened, read or written."""


class ManifestMismatchError(StoreError):
    """The store was built with settings other than the ones it is opened with."""

    def __init__(self, key: str, stored: object, requested: object) -> None:
        self.key = key
        self.stored = stored
        self.requested = requested
        super().__init__(f"store built with {key}={stored!r}, opened with {key}={requested!r}")


class ReadOnlyStoreError(StoreError):
    """A write to a store opened read-only."""


class InvalidRecordError(StoreError):
    """A record that cannot be stored as given; the write that carried it wrote nothing."""
