"""The error responses each route documents in the OpenAPI schema (all in the one error shape)."""

from __future__ import annotations

from typing import Any

from api.schemas import ErrorResponse

_DESCRIPTIONS = {
    401: "Missing or wrong API key",
    403: "Write endpoints are disabled (no NEWSRAG_API_KEY configured)",
    404: "Not found",
    413: "Request body or document count over the limit",
    422: "Invalid input; the message names the field",
    429: "Rate limited; see Retry-After (seconds)",
    503: "Model or store not loaded yet, or the request ran past its time budget (over_budget)",
}


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` entries for the given error statuses."""
    return {status: {"model": ErrorResponse, "description": _DESCRIPTIONS[status]} for status in statuses}
