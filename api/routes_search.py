"""GET /v1/search: the best passages for a query, with scores, sources and offsets."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends, Query

from api.convert import passage_out
from api.deps import get_engine, make_filters
from api.limits import rate_limit
from api.responses import errors
from api.schemas import MAX_DATE_CHARS, MAX_K, MAX_QUESTION_CHARS, MAX_SOURCE_CHARS, SearchResponse
from rag.engine import Engine

router = APIRouter(prefix="/v1", tags=["search"])


@router.get(
    "/search",
    response_model=SearchResponse,
    responses=errors(413, 422, 429, 503),
    dependencies=[Depends(rate_limit)],
)
def search(
    q: str = Query(min_length=1, max_length=MAX_QUESTION_CHARS, description="what to look for"),
    k: int = Query(10, ge=1, le=MAX_K, description="passages to return"),
    source: str | None = Query(None, max_length=MAX_SOURCE_CHARS, description="only this source (any case)"),
    start: str | None = Query(None, alias="from", max_length=MAX_DATE_CHARS, description="published on/after"),
    end: str | None = Query(None, alias="to", max_length=MAX_DATE_CHARS, description="published on/before"),
    mode: Literal["hybrid", "dense", "lexical"] = Query("hybrid", description="retrieval mode"),
    engine: Engine = Depends(get_engine),
) -> SearchResponse:
    """Passages best matching q, best first, each with its document's attributes and offsets."""
    filters = make_filters(source, start, end, "query parameter")
    passages = engine.search(q, k=k, filters=filters, mode=mode)
    return SearchResponse(query=q, k=k, hits=[passage_out(p) for p in passages])
