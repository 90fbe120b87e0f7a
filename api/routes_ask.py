"""POST /v1/ask: a question in, a cited extractive answer (or an abstention) out."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request

from api.convert import answer_out
from api.deps import EngineDep, SettingsDep, make_filters
from api.limits import rate_limit
from api.responses import errors
from api.schemas import AskRequest, AskResponse
from rag.budget import Deadline
from rag.types import Turn

router = APIRouter(prefix="/v1", tags=["answers"])


@router.post(
    "/ask",
    response_model=AskResponse,
    responses=errors(413, 422, 429, 503),
    dependencies=[Depends(rate_limit)],
)
def ask(body: AskRequest, request: Request, engine: EngineDep, settings: SettingsDep) -> AskResponse:
    """Answer with sentences quoted from the summaries, each cited, or say the summaries do not answer."""
    raw = body.filters
    filters = (
        make_filters(raw.source, raw.from_, raw.to, "body field 'filters'", raw.metadata) if raw else None
    )
    history = [Turn(question=t.question, answer=t.answer) for t in body.history]
    answer = engine.ask(
        body.question,
        filters=filters,
        history=history,
        top_k=body.top_k,
        half_life_days=body.half_life_days,
        deadline=Deadline.after(settings.request_budget_seconds),
    )
    request.app.state.metrics.answers.labels("abstained" if answer.abstained else "answered").inc()
    return answer_out(answer)
