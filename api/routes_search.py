"""GET /v1/search: the best passages for a query, with scores, sources and offsets."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query

from api.convert import passage_out
from api.deps import EngineDep, make_filters
from api.limits import rate_limit
from api.responses import errors
from api.schemas import MAX_DATE_CHARS, MAX_K, MAX_QUESTION_CHARS, MAX_SOURCE_CHARS, SearchResponse

router = APIRouter(prefix="/v1", tags=["search"])

SourceQuery = Annotated[
    str | None, Query(max_length=MAX_SOURCE_CHARS, description="only this source (any case)")
]
FromQuery = Annotated[
    str | None, Query(alias="from", max_length=MAX_DATE_CHARS, description="published on/after (ISO-8601)")
]
ToQuery = Annotated[
    str | None, Query(alias="to", max_length=MAX_DATE_CHARS, description="published on/before (ISO-8601)")
]


@router.get(
    "/search",
    response_model=SearchResponse,
    responses=errors(413, 422, 429, 503),
    dependencies=[Depends(rate_limit)],
)
def search(
    engine: EngineDep,
    q: Annotated[str, Query(min_length=1, max_length=MAX_QUESTION_CHARS, description="what to look for")],
    k: Annotated[int, Query(ge=1, le=MAX_K, description="passages to return")] = 10,
    source: SourceQuery = None,
    start: FromQuery = None,
    end: ToQuery = None,
    mode: Annotated[Literal["hybrid", "dense", "lexical"], Query(description="retrieval mode")] = "hybrid",
) -> SearchResponse:
    """Passages best matching q, best first, each with its document's attributes and offsets."""
    filters = make_filters(source, start, end, "query parameter")
    passages = engine.search(q, k=k, filters=filters, mode=mode)
    return SearchResponse(query=q, k=k, hits=[passage_out(p) for p in passages])
