"""One JSON error shape for every failure: {"error": {"code", "message"}}, and the handlers that make it."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from rag.errors import (
    CorpusFormatError,
    IndexMismatchError,
    InvalidRequestError,
    ModelNotFoundError,
    NewsragError,
    OverBudgetError,
    ReadOnlyError,
    StoreError,
)

log = logging.getLogger("newsrag.api")

_STATUS_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "rate_limited",
    503: "unavailable",
}
_DOMAIN_ERRORS: tuple[tuple[type[NewsragError], int, str], ...] = (
    (InvalidRequestError, 422, "invalid_request"),
    (CorpusFormatError, 422, "invalid_document"),
    (ReadOnlyError, 403, "read_only"),
    (OverBudgetError, 503, "over_budget"),
    (StoreError, 503, "store_unavailable"),
    (ModelNotFoundError, 503, "model_unavailable"),
    (IndexMismatchError, 500, "index_mismatch"),
)


class ApiError(Exception):
    """An error the API answers with on purpose: status, stable code, and a message a person can act on."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        headers: Mapping[str, str] | None = None,
        details: Sequence[dict[str, Any]] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = dict(headers or {})
        self.details = list(details or [])


def error_response(
    status: int,
    code: str,
    message: str,
    headers: Mapping[str, str] | None = None,
    details: Sequence[dict[str, Any]] | None = None,
) -> JSONResponse:
    """The one error shape as a response."""
    body: dict[str, Any] = {"code": code, "message": message}
    if details:
        body["details"] = list(details)
    return JSONResponse({"error": body}, status_code=status, headers=dict(headers or {}))


def describe_location(loc: Sequence[int | str]) -> str:
    """A validation error's location in words: "query parameter 'k'", "body field 'filters.from'"."""
    if not loc:
        return "request"
    where, *path = loc
    name = ".".join(str(part) for part in path)
    if where == "body":
        return f"body field '{name}'" if name else "request body"
    if where in ("query", "path", "header", "cookie"):
        return f"{where} parameter '{name}'"
    return ".".join(str(part) for part in loc)


def validation_details(errors: Sequence[Any]) -> list[dict[str, Any]]:
    """FastAPI's validation errors as {field, message} pairs naming where the problem is."""
    details = []
    for error in errors:
        loc = tuple(error.get("loc", ()))
        kind = error.get("type", "")
        if kind == "json_invalid":
            ctx = error.get("ctx") or {}
            message = f"the request body is not valid JSON: {ctx.get('error', 'decode error')}"
            details.append({"field": "body", "message": message})
            continue
        if kind == "missing" and loc == ("body",):
            details.append({"field": "body", "message": "a JSON request body is required"})
            continue
        if loc == ("body",) and kind in ("model_attributes_type", "dict_type"):
            message = "the request body must be a JSON object, sent with Content-Type: application/json"
            details.append({"field": "body", "message": message})
            continue
        field = describe_location(loc)
        message = str(error.get("msg", "invalid value")).removeprefix("Value error, ")
        details.append({"field": field, "message": f"{field}: {message}"})
    return details


async def _api_error(request: Request, exc: Exception) -> JSONResponse:
    if not isinstance(exc, ApiError):
        return await _unexpected(request, exc)
    return error_response(exc.status, exc.code, exc.message, exc.headers, exc.details)


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    errors = exc.errors() if isinstance(exc, RequestValidationError) else []
    details = validation_details(errors)
    message = "; ".join(d["message"] for d in details[:3]) or "the request is invalid"
    return error_response(422, "validation_error", message, details=details)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    status = getattr(exc, "status_code", 500)
    headers = getattr(exc, "headers", None)
    detail = str(getattr(exc, "detail", ""))
    if status == 400 and detail == "There was an error parsing the body":  # FastAPI: e.g. not UTF-8
        message = (
            "the request body is not valid UTF-8 JSON; send a JSON object with Content-Type: application/json"
        )
        return error_response(422, "validation_error", message)
    if status == 404 and detail == "Not Found":
        detail = f"no such endpoint: {request.method} {request.url.path}; the API is described at /docs"
    elif status == 405:
        allowed = _allowed_methods(request) or (headers or {}).get("Allow", "")
        headers = {**(headers or {}), "Allow": allowed}
        detail = f"{request.method} is not allowed on {request.url.path}; use {allowed or 'another method'}"
    return error_response(status, _STATUS_CODES.get(status, "error"), detail, headers)


def _allowed_methods(request: Request) -> str:
    """Every method some route takes on this path (the router's own 405 names only the first
    route's, so OPTIONS on a document said GET without DELETE)."""
    allowed = [
        method
        for method in ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")
        if any(
            route.matches({**request.scope, "method": method})[0] is Match.FULL
            for route in request.app.routes
        )
    ]
    return ", ".join(allowed)


async def _domain_error(request: Request, exc: Exception) -> JSONResponse:
    for kind, status, code in _DOMAIN_ERRORS:
        if isinstance(exc, kind):
            return error_response(status, code, str(exc))
    return error_response(500, "internal_error", str(exc))


_BUG = "internal error: this is a bug in newsrag; the server log has the details"


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return error_response(500, "internal_error", _BUG)


class WatchedSend:
    """A send that notes whether the response has started: after that, no error response can
    replace it, and an error must go on to the server."""

    def __init__(self, send: Send) -> None:
        self._send = send
        self.started = False

    async def __call__(self, message: Message) -> None:
        """Send the message, noting a response start."""
        self.started = self.started or message["type"] == "http.response.start"
        await self._send(message)


class ContainErrors:
    """Answer an unexpected exception with the error shape's 500, logged and not raised further:
    an error that reaches the server makes it close the connection, and a client's next request
    on that keep-alive connection fails with a reset."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on; turn what escapes it, before any response started, into a 500."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        watched = WatchedSend(send)
        try:
            await self.app(scope, receive, watched)
        except StarletteHTTPException:
            raise
        except Exception as exc:
            if watched.started:
                raise
            log.error("unhandled error on %s %s", scope.get("method"), scope.get("path"), exc_info=exc)
            await error_response(500, "internal_error", _BUG)(scope, receive, send)


def install_error_handlers(app: FastAPI) -> None:
    """Route every kind of failure through the one error shape."""
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(NewsragError, _domain_error)
    app.add_exception_handler(Exception, _unexpected)
