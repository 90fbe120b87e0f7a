"""POST /v1/ask: a question in, a cited extractive answer (or an abstention) out."""

from __future__ import annotations

import inspect
from functools import lru_cache
from typing import Any

from fastapi import APIRouter, Depends, Request

from api.convert import answer_out
from api.deps import EngineDep, make_filters
from api.errors import ApiError
from api.limits import rate_limit
from api.responses import errors
from api.schemas import AskRequest, AskResponse
from rag.types import Turn

router = APIRouter(prefix="/v1", tags=["answers"])


@router.post(
    "/ask",
    response_model=AskResponse,
    responses=errors(413, 422, 429, 503),
    dependencies=[Depends(rate_limit)],
)
def ask(body: AskRequest, request: Request, engine: EngineDep) -> AskResponse:
    """Answer with sentences quoted from the summaries, each cited, or say the summaries do not answer."""
    raw = body.filters
    filters = make_filters(raw.source, raw.from_, raw.to, "body field 'filters'") if raw else None
    history = [Turn(question=t.question, answer=t.answer) for t in body.history]
    kwargs: dict[str, Any] = {"filters": filters, "history": history or None}
    if body.top_k is not None and (name := _top_k_parameter(type(engine))):
        kwargs[name] = body.top_k
    answer_with = getattr(engine, "ask", None)
    if answer_with is None:
        raise ApiError(503, "not_available", "answering is not available in this build; use GET /v1/search")
    answer = answer_with(body.question, **kwargs)
    request.app.state.metrics.answers.labels("abstained" if answer.abstained else "answered").inc()
    return answer_out(answer)


@lru_cache
def _top_k_parameter(engine_type: type) -> str | None:
    """The name under which Engine.ask takes the number of passages, if it takes one."""
    method = getattr(engine_type, "ask", None)
    if method is None:
        return None
    parameters = inspect.signature(method).parameters
    return next((name for name in ("top_k", "k") if name in parameters), None)
