"""GET /v1/search: the best passages for a query, with scores, sources and offsets."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from api.convert import passage_out
from api.deps import (
    MAX_METADATA_VALUE_CHARS,
    METADATA_KEY_PATTERN,
    EngineDep,
    SettingsDep,
    check_metadata_filter,
    make_filters,
)
from api.errors import ApiError
from api.limits import rate_limit
from api.responses import errors
from api.schemas import (
    HALF_LIFE_DESCRIPTION,
    MAX_METADATA_FILTERS,
    MAX_QUESTION_CHARS,
    MAX_SOURCE_CHARS,
    DateText,
    SearchResponse,
)
from rag.budget import Deadline
from rag.ingest.loaders import NOT_BLANK_PATTERN
from rag.limits import MAX_HALF_LIFE_DAYS, MAX_TOP_K
from rag.retrieve.pipeline import MODES
from rag.types import DEFAULT_MODE

router = APIRouter(prefix="/v1", tags=["search"])
META_PATTERN = f"{METADATA_KEY_PATTERN.removesuffix('$')}=[\\s\\S]{{0,{MAX_METADATA_VALUE_CHARS}}}$"

SourceQuery = Annotated[
    str | None, Query(max_length=MAX_SOURCE_CHARS, description="only this source (any case)")
]
FromQuery = Annotated[
    DateText | None, Query(alias="from", description="published on/after (a date or an RFC 3339 date-time)")
]
ToQuery = Annotated[
    DateText | None, Query(alias="to", description="published on/before (a date or an RFC 3339 date-time)")
]


@router.get(
    "/search",
    response_model=SearchResponse,
    responses=errors(413, 422, 429, 503),
    dependencies=[Depends(rate_limit)],
)
def search(
    engine: EngineDep,
    settings: SettingsDep,
    q: Annotated[
        str,
        Query(
            min_length=1,
            max_length=MAX_QUESTION_CHARS,
            description="what to look for (not blank)",
            json_schema_extra={"pattern": NOT_BLANK_PATTERN},  # the engine refuses a blank one
        ),
    ],
    k: Annotated[int, Query(ge=1, le=MAX_TOP_K, description="passages to return")] = 10,
    source: SourceQuery = None,
    start: FromQuery = None,
    end: ToQuery = None,
    meta: Annotated[
        list[str],
        Query(
            max_length=MAX_METADATA_FILTERS,
            description="metadata filter KEY=VALUE: documents whose metadata holds KEY with exactly VALUE "
            "(repeatable, each KEY once; all must hold)",
            json_schema_extra={"items": {"type": "string", "pattern": META_PATTERN}},
        ),
    ] = [],  # noqa: B006 (FastAPI copies query defaults)
    mode: Annotated[
        str, Query(description="retrieval mode", json_schema_extra={"enum": list(MODES)})
    ] = DEFAULT_MODE,
    half_life: Annotated[
        float | None, Query(gt=0, le=MAX_HALF_LIFE_DAYS, description=HALF_LIFE_DESCRIPTION)
    ] = None,
) -> SearchResponse:
    """Passages best matching q, best first, each with its document's attributes and offsets."""
    if mode not in MODES:
        raise ApiError(422, "validation_error", f"query parameter 'mode': choose one of {', '.join(MODES)}")
    filters = make_filters(source, start, end, "query parameter", _metadata(meta))
    deadline = Deadline.after(settings.request_budget_seconds)
    passages = engine.search(q, k=k, filters=filters, mode=mode, half_life_days=half_life, deadline=deadline)
    return SearchResponse(query=q, k=k, hits=[passage_out(p) for p in passages])


def _metadata(pairs: list[str]) -> dict[str, str]:
    """`meta=KEY=VALUE` query values as a dict; a malformed one is a 422 naming it."""
    found: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        try:
            if not sep:
                raise ValueError(f"{pair!r} is not KEY=VALUE")
            check_metadata_filter(key, value)
            if key in found:
                raise ValueError(f"key {key!r} given twice")
        except ValueError as exc:
            raise ApiError(422, "validation_error", f"query parameter 'meta': {exc}") from None
        found[key] = value
    return found
