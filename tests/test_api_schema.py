"""Property tests from the OpenAPI schema: no request, valid or not, gets a 5xx or an off-schema reply."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from api.app import create_app, engine_config
from api.settings import Settings
from rag.embedder import Embedder
from rag.engine import Engine
from rag.types import Document

KEY = "schema-key"
AUTH = {"Authorization": f"Bearer {KEY}"}
SERVICE = Settings(api_key=KEY, rate_limit=0, max_documents=20, max_body_bytes=200_000)
APP = create_app(SERVICE)
APP.state.owns_engine = False  # the fixture below provides the engine; the lifespan must not load one
schema = schemathesis.openapi.from_asgi("/openapi.json", APP)


@pytest.fixture(scope="module", autouse=True)
def engine(
    tmp_path_factory: pytest.TempPathFactory, embedder: Embedder, digest_documents: list[Document]
) -> Iterator[Engine]:
    """A private digest store behind the module's app."""
    path: Path = tmp_path_factory.mktemp("api-schema") / "store"
    engine = Engine.open(path, engine_config(SERVICE), embedder=embedder)
    engine.ingest(digest_documents)
    APP.state.engine = engine
    yield engine
    APP.state.engine = None
    engine.close()


def error_shape(ctx: Any, response: Any, case: Any) -> None:
    """Every 4xx JSON reply is {"error": {"code", "message"}} with a non-empty message."""
    if 400 <= response.status_code < 500:
        body = response.json()
        if set(body) != {"error"} or not body["error"].get("message") or not body["error"].get("code"):
            raise AssertionError(f"{response.status_code} reply is not in the error shape: {body}")


@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_any_request_gets_a_4xx_or_a_documented_reply_never_a_5xx(case: Any) -> None:
    case.call_and_validate(
        headers=AUTH,
        checks=[
            not_a_server_error,
            status_code_conformance,
            content_type_conformance,
            response_schema_conformance,
            error_shape,
        ],
    )
