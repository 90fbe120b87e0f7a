"""The FastAPI application factory; the model and store load once per process, in the lifespan."""

from __future__ import annotations

import fcntl
import hashlib
import logging
import tempfile
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from functools import partial
from pathlib import Path
from typing import Any

import anyio
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from api import routes_ask, routes_documents, routes_ops, routes_search, routes_static
from api.errors import ContainErrors, install_error_handlers
from api.headers import SecurityHeaders
from api.limits import BodySizeLimit, RateLimiter
from api.metrics import Metrics, ObserveRequests
from api.schemas import metadata_value_schemas
from api.settings import Settings, get_settings
from rag.compose.answer import AnswerConfig
from rag.config import EngineConfig
from rag.corpus import Location, as_location, is_milvus
from rag.engine import Engine
from rag.ingest.embedder import EmbedderConfig
from rag.ingest.feeds import FETCH_TIMEOUT_SECONDS
from rag.ingest.watch import Poll, Watcher
from rag.types import Document, IngestReport

DESCRIPTION = (
    "Answers questions about news summaries with sentences quoted from them, each cited to its "
    "source, or says plainly that the summaries do not answer. Write endpoints need "
    "`Authorization: Bearer <NEWSRAG_API_KEY>`. Every error has the shape "
    '`{"error": {"code": "...", "message": "..."}}`.'
)
LOCK_NAME = ".serve.lock"

log = logging.getLogger("newsrag.feeds")


def create_app(settings: Settings | None = None, engine: Engine | None = None) -> FastAPI:
    """A new app; without an engine, it opens (or seeds) settings.store at start-up."""
    app = FastAPI(
        title="newsrag",
        version="1",
        description=DESCRIPTION,
        lifespan=_lifespan,
        docs_url=None,  # served by routes_static from local files, not a CDN
        redoc_url=None,
    )
    if settings is None:
        settings = get_settings()
    else:
        pinned = settings  # every Depends(get_settings) of this app sees the settings it was built with
        app.dependency_overrides[get_settings] = lambda: pinned
    app.state.settings = settings
    app.state.engine = engine
    app.state.owns_engine = engine is None
    app.state.write_lock = threading.Lock()
    app.state.limiter = RateLimiter()
    app.state.metrics = Metrics(lambda: app.state.engine)
    install_error_handlers(app)
    for module in (routes_ask, routes_search, routes_documents, routes_ops, routes_static):
        app.include_router(module.router)
    app.add_middleware(ContainErrors)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST"],
            allow_headers=["Content-Type", "X-Request-ID"],
            expose_headers=["X-Request-ID", "Retry-After"],
            max_age=600,
        )
    app.add_middleware(SecurityHeaders)
    app.add_middleware(ObserveRequests, metrics=app.state.metrics)
    app.openapi = partial(_openapi, app, app.openapi)  # type: ignore[method-assign]
    return app


def _openapi(app: FastAPI, generate: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """FastAPI's schema with what pydantic models cannot declare themselves: the depth-bounded
    metadata values the documents body refers to, and this service's documents-per-request limit."""
    schema = generate()
    schema.setdefault("components", {}).setdefault("schemas", {}).update(metadata_value_schemas())
    body = schema["paths"]["/v1/documents"]["post"]["requestBody"]["content"]["application/json"]
    body["schema"]["maxItems"] = app.state.settings.max_documents
    return schema


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    if app.state.owns_engine:
        app.state.engine = await anyio.to_thread.run_sync(open_engine, app.state.settings)
    stop = threading.Event()
    watching = start_watching(app, stop) if app.state.settings.feeds else None
    try:
        yield
    finally:
        stop.set()
        if watching is not None:
            watching.join(timeout=FETCH_TIMEOUT_SECONDS + 5)
        if app.state.owns_engine and app.state.engine is not None:
            with app.state.write_lock:
                app.state.engine.close()
            app.state.engine = None


def open_engine(settings: Settings) -> Engine:
    """Load the model and open the store, seeding a new one with the shipped digest (one worker seeds)."""
    from rag.corpus import open_or_seed
    from rag.ingest.embedder import shared_embedder

    config = engine_config(settings)
    embedder = shared_embedder(config.embedder)
    store = as_location(settings.store)
    if settings.read_only:  # nothing to seed and no lock to take: nothing is written
        engine = Engine.open(store, config, embedder=embedder, create=False, read_only=True)
        engine.embed_query("warm up")
        return engine
    with open(seed_lock(store), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # workers starting together: the first seeds, the rest wait
        engine = open_or_seed(store, config, embedder)
    engine.embed_query("warm up")  # the first call pays torch's one-off costs; not a user's request
    return engine


def seed_lock(store: Location) -> Path:
    """The file the workers of one machine lock while they open (and maybe seed) the store: in a
    store folder, its own; for a Milvus store, one in the temporary folder named for its URI."""
    if is_milvus(store):
        digest = hashlib.sha256(str(store).encode("utf-8")).hexdigest()[:16]
        return Path(tempfile.gettempdir()) / f"newsrag-{digest}{LOCK_NAME}"
    folder = Path(store)
    folder.mkdir(parents=True, exist_ok=True)
    return folder / LOCK_NAME


def engine_config(settings: Settings) -> EngineConfig:
    """The engine configuration the service runs with: one transaction per POST /v1/documents.

    One torch thread by default: the threadpool already runs requests side by side, and several
    intra-op threads per query oversubscribe the cores (24 ms vs 680 ms a query on a busy 2-core box).
    """
    embedder = EmbedderConfig(
        model_path=settings.model,
        threads=settings.torch_threads or None,
        backend=settings.embed_backend,
        onnx_cache=str(settings.onnx_cache),
    )
    answer = AnswerConfig(read_first=settings.read_first or None, read_enough=settings.read_enough)
    return EngineConfig(embedder=embedder, ingest_batch=settings.max_documents, answer=answer)


def start_watching(app: FastAPI, stop: threading.Event) -> threading.Thread:
    """Poll NEWSRAG_FEEDS every NEWSRAG_FEED_INTERVAL in a thread, ingesting under the write lock,
    logging each poll and counting it in /metrics; it stops when the service does."""
    settings: Settings = app.state.settings

    def ingest(documents: list[Document]) -> IngestReport:
        with app.state.write_lock:
            report: IngestReport = app.state.engine.ingest(documents)
        app.state.metrics.observe_ingest(report)
        return report

    def report(poll: Poll) -> None:
        app.state.metrics.observe_poll(poll)
        (log.warning if poll.outcome == "failed" else log.info)("feed %s", poll.line())

    watcher = Watcher(settings.feeds, ingest, settings.feed_interval)
    thread = threading.Thread(target=watcher.run, args=(stop, report), name="newsrag-feeds", daemon=True)
    thread.start()
    return thread
