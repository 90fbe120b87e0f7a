"""Operations endpoints: liveness, readiness, Prometheus metrics and store statistics."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST

from api.convert import stats_out
from api.deps import EngineDep
from api.errors import ApiError
from api.responses import errors
from api.schemas import StatsOut, StatusOut
from rag.engine import Engine

router = APIRouter(tags=["operations"])


@router.get("/healthz", response_model=StatusOut)
def healthz() -> StatusOut:
    """Liveness: the process answers."""
    return StatusOut(status="ok")


@router.get("/readyz", response_model=StatusOut, responses=errors(503))
def readyz(request: Request) -> StatusOut:
    """Readiness: the model and the store are loaded and a query can be answered."""
    engine: Engine | None = getattr(request.app.state, "engine", None)
    if engine is None:
        raise ApiError(503, "not_ready", "the model and store are still loading")
    return StatusOut(status="ready", documents=engine.stats().documents)


@router.get(
    "/metrics",
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE_LATEST.split(";")[0]: {"schema": {"type": "string"}}}}},
)
def metrics(request: Request) -> Response:
    """Prometheus exposition: request counts and latencies per route, ingest counters, store size."""
    return Response(request.app.state.metrics.render(), media_type=CONTENT_TYPE_LATEST)


@router.get("/v1/stats", response_model=StatsOut, responses=errors(503))
def stats(engine: EngineDep) -> StatsOut:
    """What the store holds and how it was built."""
    return stats_out(engine.stats())
