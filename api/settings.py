"""Service settings from NEWSRAG_* environment variables; read only here and by the CLI."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Annotated

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from rag.errors import InvalidRequestError
from rag.ingest.embedder import BACKENDS, DEFAULT_BACKEND
from rag.ingest.feeds import require_feed_addresses
from rag.ingest.watch import parse_interval


def onnx_cache_dir(configured: str = "") -> Path:
    """Where the ONNX export is kept: configured (NEWSRAG_ONNX_CACHE) unless blank, else
    $XDG_CACHE_HOME/newsrag/onnx, else ~/.cache/newsrag/onnx (the XDG spec: a relative
    XDG_CACHE_HOME is ignored)."""
    if configured.strip():
        return Path(configured.strip()).expanduser()
    base = os.environ.get("XDG_CACHE_HOME", "").strip()
    usable = base and Path(base).is_absolute()
    return (Path(base) if usable else Path.home() / ".cache") / "newsrag" / "onnx"


class Settings(BaseSettings):
    """Everything the API can be configured with; every field is NEWSRAG_<NAME> in the environment."""

    model_config = SettingsConfigDict(env_prefix="NEWSRAG_", extra="ignore", frozen=True)

    store: str = Field(
        ".newsrag",
        description="store folder, or a Milvus store: milvus-lite:PATH.db or milvus://HOST:PORT/PREFIX; "
        "seeded with the shipped digest if new",
    )
    model: str | None = Field(None, description="local sentence-transformers folder; None: all-MiniLM-L6-v2")
    api_key: SecretStr | None = Field(
        None, description="bearer key for write endpoints; unset: writes disabled"
    )
    cors_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="comma-separated origins allowed to call the API from a browser"
    )
    rate_limit: float = Field(60.0, ge=0, description="requests per minute per client on ask/search; 0: off")
    rate_burst: int = Field(20, ge=1, description="requests a client may make at once before the limit bites")
    max_body_bytes: int = Field(10_000_000, ge=1024, description="largest request body accepted (413 above)")
    max_documents: int = Field(1000, ge=1, description="documents per POST /v1/documents (413 above)")
    trusted_proxies: str = Field("127.0.0.1", description="proxies whose X-Forwarded-For names the client")
    torch_threads: int = Field(
        1,
        ge=0,
        description="torch/onnxruntime threads per process; requests already run in parallel (0: default)",
    )
    embed_backend: str = Field(
        DEFAULT_BACKEND, description="embedding backend: torch, onnx (same vectors, faster) or onnx-int8"
    )
    onnx_cache: Path = Field(
        default_factory=onnx_cache_dir,
        description="where the ONNX export is kept; point it at a writable folder on a read-only image",
    )
    request_budget_seconds: float = Field(
        10.0,
        ge=0,
        description="time an ask or search may take: past it the work is stopped between stages and "
        "the reply is 503 over_budget (0: no limit)",
    )
    log_level: str = Field("info", description="uvicorn and access-log level")
    feeds: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="comma-separated RSS/Atom feed URLs to poll and ingest while serving",
    )
    feed_interval: float = Field(
        600.0, description="how often each feed is polled, in seconds (90, 30s, 10m, 1h)"
    )
    read_first: int = Field(
        0,
        ge=0,
        le=5,
        description="windows of the five the reader reads first; the others only when no answer found "
        "in them is read_enough probable (0: all five in one round). 1 answers ~50 ms sooner for a "
        "little quality (README, reading in two rounds)",
    )
    read_enough: float = Field(
        0.6, ge=0.0, le=1.0, description="with read_first: how probable an answer ends the reading early"
    )
    read_only: bool = Field(
        False,
        description="serve the store without writing to it (a read-only mount, a baked image): "
        "writes answer 403; the store must exist and be cleanly closed",
    )

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        if isinstance(value, str):
            return [origin.strip().rstrip("/") for origin in value.split(",") if origin.strip()]
        return value

    @field_validator("feeds", mode="before")
    @classmethod
    def _split_feeds(cls, value: object) -> object:
        if isinstance(value, str):
            value = [url.strip() for url in value.split(",") if url.strip()]
        if isinstance(value, list):
            try:
                require_feed_addresses([str(url) for url in value])
            except InvalidRequestError as exc:
                raise ValueError(str(exc)) from None
        return value

    @field_validator("feed_interval", mode="before")
    @classmethod
    def _interval(cls, value: object) -> object:
        return parse_interval(str(value))  # the same 1 s to 7 days for a number

    @model_validator(mode="after")
    def _feeds_need_writes(self) -> Settings:
        if self.feeds and self.read_only:
            raise ValueError("NEWSRAG_FEEDS cannot be watched on a read-only store: unset one of them")
        return self

    @field_validator("store", mode="before")
    @classmethod
    def _store_text(cls, value: object) -> object:
        return str(value) if isinstance(value, Path) else value

    @field_validator("onnx_cache", mode="before")
    @classmethod
    def _cache_folder(cls, value: object) -> object:
        return onnx_cache_dir(value) if isinstance(value, str) else value

    @field_validator("embed_backend")
    @classmethod
    def _known_backend(cls, value: str) -> str:
        if value not in BACKENDS:
            raise ValueError(f"unknown embedding backend {value!r}: choose one of {', '.join(BACKENDS)}")
        return value

    @field_validator("api_key", mode="before")
    @classmethod
    def _blank_key_is_none(cls, value: object) -> object:
        if isinstance(value, str) and not value.strip():
            return None
        return value


@lru_cache
def get_settings() -> Settings:
    """The process's settings, read once from the environment (override through Depends in tests)."""
    return Settings()
