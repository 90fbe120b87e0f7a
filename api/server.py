"""`newsrag serve`: run the app under uvicorn, settings passed to workers through the environment."""

from __future__ import annotations

import argparse
import copy
import os
from typing import Any

from pydantic import ValidationError

from rag.errors import NewsragError

APP = "api.app:create_app"


class SettingsError(NewsragError):
    """A NEWSRAG_* variable holds a value the service cannot use."""


def run(args: argparse.Namespace) -> int:
    """Serve until interrupted; the model loads once per worker, at start-up."""
    import uvicorn

    from api.settings import get_settings
    from rag.corpus import shown

    os.environ["NEWSRAG_STORE"] = shown(args.store)  # a folder resolved, a Milvus URI as given
    if args.model:
        os.environ["NEWSRAG_MODEL"] = str(args.model)
    if getattr(args, "backend", None):
        os.environ["NEWSRAG_EMBED_BACKEND"] = str(args.backend)
    if getattr(args, "read_only", False):
        os.environ["NEWSRAG_READ_ONLY"] = "1"
    get_settings.cache_clear()
    try:
        settings = get_settings()
    except ValidationError as exc:
        problems = "; ".join(
            f"NEWSRAG_{'_'.join(map(str, e['loc'])).upper()}: {e['msg']}" for e in exc.errors()
        )
        raise SettingsError(f"invalid settings: {problems}") from None
    uvicorn.run(
        APP,
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_config=log_config(settings.log_level),
        log_level=settings.log_level,
        access_log=False,  # newsrag.access logs one JSON line per request instead
        proxy_headers=True,
        forwarded_allow_ips=settings.trusted_proxies,
        server_header=False,
        timeout_graceful_shutdown=30,
    )
    return 0


def log_config(level: str) -> dict[str, Any]:
    """uvicorn's logging, plus the access log as bare JSON lines on stdout and newsrag's own loggers."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config["formatters"]["json_line"] = {"format": "%(message)s"}
    config["handlers"]["newsrag_access"] = {
        "formatter": "json_line",
        "class": "logging.StreamHandler",
        "stream": "ext://sys.stdout",
    }
    config["loggers"]["newsrag.access"] = {
        "handlers": ["newsrag_access"],
        "level": level.upper(),
        "propagate": False,
    }
    config["loggers"]["newsrag"] = {"handlers": ["default"], "level": level.upper(), "propagate": False}
    return config
