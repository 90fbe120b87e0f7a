"""Where a store lives, and opening it: a folder holds the embedded store (index.store); a URI names
a Milvus one (index.milvus): `milvus-lite:PATH.db` for a local milvus-lite file, or
`milvus://HOST:PORT/COLLECTION` for a Milvus server or cluster."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from index.backend import Backend
from index.store import DB_NAME, Store

MILVUS_SCHEMES = ("milvus-lite:", "milvus://")

Location = str | Path


def is_milvus(location: Location) -> bool:
    """True when the location is a Milvus URI rather than a folder."""
    return isinstance(location, str) and location.startswith(MILVUS_SCHEMES)


def is_milvus_lite(location: Location) -> bool:
    """True for a milvus-lite file, which one process at a time may open."""
    return isinstance(location, str) and location.startswith(MILVUS_SCHEMES[0])


def as_location(value: str) -> Location:
    """A --store or NEWSRAG_STORE value: the URI as given, or else a folder path."""
    return value if is_milvus(value) else Path(value)


def shown(location: Location) -> str:
    """The location as messages name it: a URI as given, a folder resolved."""
    return str(location) if is_milvus(location) else str(Path(location).resolve())


def store_exists(location: Location) -> bool:
    """True when a store has been made at the location (for Milvus, this asks the server)."""
    if is_milvus(location):
        from index.milvus import milvus_store_exists

        return milvus_store_exists(str(location))
    return (Path(location) / DB_NAME).exists()


def open_store(
    location: Location,
    manifest: dict[str, Any],
    *,
    create: bool = True,
    read_only: bool = False,
    recorded: dict[str, Any] | None = None,
) -> Backend:
    """Open (or create) the store at the location; the arguments mean what they do for Store.open."""
    if is_milvus(location):
        from index.milvus import MilvusStore

        return MilvusStore.open(
            str(location), manifest, create=create, read_only=read_only, recorded=recorded
        )
    return Store.open(Path(location), manifest, create=create, read_only=read_only, recorded=recorded)
