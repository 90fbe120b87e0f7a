"""The chat widget's files and its demo page, served from api/static/ when they are there; the
API documentation page, with its Swagger UI files served from the installed fastapi-offline
package, so that /docs works without internet. (No /redoc: ReDoc fetches its logo from a CDN.)"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from fastapi import APIRouter
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse

from api.errors import ApiError
from api.headers import DEMO_PAGE_CSP, EMBEDDABLE

STATIC_DIR = Path(__file__).resolve().parent / "static"
DOCS_ASSETS = Path(str(files("fastapi_offline") / "static"))
DOCS_PREFIX = "/docs-assets"
ICON = f"{DOCS_PREFIX}/favicon.png"
CACHE = {"Cache-Control": "public, max-age=300"}

router = APIRouter(include_in_schema=False)


def _file(name: str, media_type: str, headers: dict[str, str] | None = None) -> FileResponse:
    path = STATIC_DIR / name
    if not path.is_file():
        raise ApiError(404, "not_found", f"{name} is not installed in this build (api/static/{name})")
    return FileResponse(path, media_type=media_type, headers={**CACHE, **(headers or {})})


@router.get("/widget.js")
def widget_js() -> FileResponse:
    """The embeddable chat widget script."""
    return _file("widget.js", "text/javascript; charset=utf-8", EMBEDDABLE)


@router.get("/widget.css")
def widget_css() -> FileResponse:
    """The widget's stylesheet."""
    return _file("widget.css", "text/css; charset=utf-8", EMBEDDABLE)


@router.get("/")
def demo_page() -> FileResponse:
    """A demo page embedding the widget, under a strict Content-Security-Policy."""
    return _file("demo.html", "text/html; charset=utf-8", {"Content-Security-Policy": DEMO_PAGE_CSP})


@router.get("/demo.css")
def demo_css() -> FileResponse:
    """The demo page's stylesheet."""
    return _file("demo.css", "text/css; charset=utf-8")


@router.get("/demo.js")
def demo_js() -> FileResponse:
    """The demo page's script."""
    return _file("demo.js", "text/javascript; charset=utf-8")


@router.get("/docs")
def swagger_ui() -> HTMLResponse:
    """Swagger UI over /openapi.json, its script and stylesheet served from here."""
    return get_swagger_ui_html(
        openapi_url="/openapi.json",
        title="newsrag API",
        swagger_js_url=f"{DOCS_PREFIX}/swagger-ui-bundle.js",
        swagger_css_url=f"{DOCS_PREFIX}/swagger-ui.css",
        swagger_favicon_url=ICON,
    )


_DOCS_MEDIA = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".png": "image/png",
}
_DOCS_FILES = {p.name: p for p in DOCS_ASSETS.iterdir() if p.suffix in _DOCS_MEDIA}  # listed once


@router.get(DOCS_PREFIX + "/{name}")
def docs_asset(name: str) -> FileResponse:
    """One of the documentation pages' files."""
    path = _DOCS_FILES.get(name)
    if path is None:
        raise ApiError(404, "not_found", f"no documentation file {name!r}")
    return FileResponse(path, media_type=_DOCS_MEDIA[path.suffix], headers=CACHE)
