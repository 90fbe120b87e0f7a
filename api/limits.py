"""Input bounds and fairness: the request-body size limit and a per-client token-bucket rate limit."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import ApiError, WatchedSend, error_response
from api.settings import Settings, get_settings

MAX_BUCKETS = 10_000  # clients remembered at once; idle full buckets are dropped beyond this


class BodyTooLargeError(HTTPException):
    """A streamed body went past the limit (raised inside the app, which answers 413)."""

    def __init__(self, max_bytes: int) -> None:
        super().__init__(413, too_large_message(max_bytes), headers={"Connection": "close"})


def too_large_message(max_bytes: int) -> str:
    """What a 413 says."""
    return (
        f"the request body is larger than {max_bytes} bytes; send less per request "
        "(the limit is NEWSRAG_MAX_BODY_BYTES)"
    )


class BodySizeLimit:
    """Answer 413 for bodies over max_bytes: by Content-Length up front, or while streaming."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Check the declared length, then count the bytes actually received."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.max_bytes:
            await self._reject(scope, receive, send)
            return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise BodyTooLargeError(self.max_bytes)
            return message

        watched = WatchedSend(send)
        try:
            await self.app(scope, limited_receive, watched)
        except BodyTooLargeError:
            if watched.started:
                raise
            await self._reject(scope, receive, send)

    async def _reject(self, scope: Scope, receive: Receive, send: Send) -> None:
        message = too_large_message(self.max_bytes)
        response = error_response(413, "payload_too_large", message, {"Connection": "close"})
        await response(scope, receive, send)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


@dataclass
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    """Token buckets per client: `burst` requests at once, refilled at `per_minute` a minute."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._buckets: dict[str, _Bucket] = {}
        self._lock = threading.Lock()
        self._now = clock

    def acquire(self, client: str, per_minute: float, burst: int) -> float:
        """Take one token; returns 0 when allowed, else the seconds until a token is available."""
        rate = per_minute / 60.0
        now = self._now()
        with self._lock:
            bucket = self._buckets.get(client)
            if bucket is None:
                if len(self._buckets) >= MAX_BUCKETS:
                    self._forget_idle(now, rate, burst)
                bucket = self._buckets[client] = _Bucket(float(burst), now)
            bucket.tokens = min(float(burst), bucket.tokens + (now - bucket.updated) * rate)
            bucket.updated = now
            if bucket.tokens >= 1.0:
                bucket.tokens -= 1.0
                return 0.0
            return (1.0 - bucket.tokens) / rate

    def _forget_idle(self, now: float, rate: float, burst: int) -> None:
        full = [c for c, b in self._buckets.items() if b.tokens + (now - b.updated) * rate >= burst]
        for client in full or list(self._buckets)[: len(self._buckets) // 2]:
            del self._buckets[client]


def client_id(request: Request) -> str:
    """Who is asking: the client's IP (uvicorn resolves X-Forwarded-For from trusted proxies)."""
    return request.client.host if request.client else "unknown"


def rate_limit(request: Request, settings: Annotated[Settings, Depends(get_settings)]) -> None:
    """Dependency: 429 with Retry-After when this client has used up its requests."""
    if settings.rate_limit <= 0:
        return
    limiter: RateLimiter = request.app.state.limiter
    wait = limiter.acquire(client_id(request), settings.rate_limit, settings.rate_burst)
    if wait > 0:
        seconds = max(1, math.ceil(wait))
        raise ApiError(
            429,
            "rate_limited",
            f"too many requests from {client_id(request)}: the limit is {settings.rate_limit:g} a minute "
            f"(burst {settings.rate_burst}); retry in {seconds} s",
            headers={"Retry-After": str(seconds)},
        )
