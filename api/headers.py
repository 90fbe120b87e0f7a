"""Security headers: what every response says about how a browser may treat it."""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# Every response: no content sniffing (a JSON body is never run as script or rendered as a page),
# and no full address of the page sent along to other sites.
COMMON = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "strict-origin-when-cross-origin",
}
# The demo page: its own scripts, styles and API only; no inline code; never framed.
DEMO_PAGE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
# widget.js is loaded by other sites' pages, which may require cross-origin resources to opt in.
EMBEDDABLE = {"Cross-Origin-Resource-Policy": "cross-origin"}


class SecurityHeaders:
    """Add COMMON to every response, and X-Frame-Options: DENY to every HTML one, unless the
    response set them itself."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on; add the headers to the response's start."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in COMMON.items():
                    headers.setdefault(name, value)
                if headers.get("content-type", "").startswith("text/html"):
                    headers.setdefault("X-Frame-Options", "DENY")
            await send(message)

        await self.app(scope, receive, with_headers)
