"""Dependencies the routes share: the engine, the write lock, the API-key check and date bounds."""

from __future__ import annotations

import hmac
import re
import threading
from datetime import UTC, date, datetime, time
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api.errors import ApiError
from api.settings import Settings, get_settings
from rag.engine import Engine
from rag.types import Filters

bearer = HTTPBearer(auto_error=False, description="NEWSRAG_API_KEY, required by the write endpoints")


def get_engine(request: Request) -> Engine:
    """The engine opened at start-up (503 while it is not loaded)."""
    engine: Engine | None = getattr(request.app.state, "engine", None)
    if engine is None:
        raise ApiError(503, "not_ready", "the model and store are still loading; retry in a few seconds")
    return engine


def get_write_lock(request: Request) -> threading.Lock:
    """The lock that makes this process's writes one at a time (readers never take it)."""
    lock: threading.Lock = request.app.state.write_lock
    return lock


SettingsDep = Annotated[Settings, Depends(get_settings)]


def require_api_key(
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)], settings: SettingsDep
) -> None:
    """Dependency: 403 when writes are disabled, 401 without the right bearer key."""
    if settings.api_key is None:
        raise ApiError(
            403,
            "writes_disabled",
            "write endpoints are disabled: start the server with NEWSRAG_API_KEY set, "
            "then send 'Authorization: Bearer <key>'",
        )
    challenge = {"WWW-Authenticate": 'Bearer realm="newsrag"'}
    if credentials is None:
        raise ApiError(
            401, "unauthorized", "send 'Authorization: Bearer <key>' (NEWSRAG_API_KEY)", headers=challenge
        )
    expected = settings.api_key.get_secret_value().encode("utf-8")
    if not hmac.compare_digest(credentials.credentials.encode("utf-8"), expected):
        raise ApiError(401, "unauthorized", "the API key is wrong", headers=challenge)


EngineDep = Annotated[Engine, Depends(get_engine)]
WriteLockDep = Annotated[threading.Lock, Depends(get_write_lock)]


def parse_bound(value: str | None, *, end: bool) -> datetime | None:
    """An ISO-8601 date or datetime as UTC; a bare date as an `end` bound covers that whole day."""
    if not value:
        return None
    text = value
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            return datetime.combine(day, time.max if end else time.min, tzinfo=UTC)
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
        return parsed.astimezone(UTC)
    except (ValueError, OverflowError):
        raise ValueError(
            f"{value!r} is not an ISO-8601 date: use e.g. 2024-12-05 or 2024-12-05T14:30:00Z"
        ) from None


METADATA_KEY_PATTERN = "^[A-Za-z0-9_-]{1,64}$"
METADATA_KEY = re.compile(METADATA_KEY_PATTERN)
MAX_METADATA_VALUE_CHARS = 200


def check_metadata_filter(key: str, value: str) -> None:
    """Refuse a metadata filter the store cannot look up: keys are 1-64 letters, digits, _ or -."""
    if not METADATA_KEY.fullmatch(key):
        raise ValueError(f"metadata key {key!r} is not 1-64 letters, digits, '_' or '-'")
    if len(value) > MAX_METADATA_VALUE_CHARS:
        raise ValueError(f"metadata value of {key!r} is over {MAX_METADATA_VALUE_CHARS} characters")


def make_filters(
    source: str | None,
    start: str | None,
    end: str | None,
    where: str,
    metadata: dict[str, str] | None = None,
) -> Filters | None:
    """Domain filters from request values; a bad date is a 422 naming the field (`where` says whose)."""
    bounds: list[datetime | None] = []
    for name, value in (("from", start), ("to", end)):
        try:
            bounds.append(parse_bound(value, end=name == "to"))
        except ValueError as exc:
            raise ApiError(422, "validation_error", f"{where} '{name}': {exc}") from None
    published_from, published_to = bounds
    if published_from and published_to and published_from > published_to:
        raise ApiError(422, "validation_error", f"{where} 'from' is after 'to': swap them")
    filters = Filters(
        source=(source or "").strip() or None,
        published_from=published_from,
        published_to=published_to,
        metadata=dict(metadata or {}),
    )
    return None if filters.is_empty() else filters
