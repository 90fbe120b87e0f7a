"""Property tests from the OpenAPI schema: the schema says what the server enforces.

No request, valid or not, gets a 5xx or an off-schema reply; every request the schema calls valid
is accepted, every request it calls invalid is refused; and sequences of calls (a document
posted, read, searched, deleted) hold together.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    positive_data_acceptance,
    response_schema_conformance,
    status_code_conformance,
    use_after_free,
)

from api.app import create_app, engine_config
from api.deps import parse_bound
from api.settings import Settings
from rag.engine import Engine
from rag.errors import CorpusFormatError
from rag.ingest.embedder import Embedder
from rag.ingest.loaders import check_metadata
from rag.types import Document

KEY = "schema-key"
AUTH = {"Authorization": f"Bearer {KEY}"}
SERVICE = Settings(api_key=KEY, rate_limit=0, max_documents=20, max_body_bytes=200_000)
APP = create_app(SERVICE)
APP.state.owns_engine = False  # the fixture below provides the engine; the lifespan must not load one
schema = schemathesis.openapi.from_asgi("/openapi.json", APP)
valid = schemathesis.openapi.from_asgi("/openapi.json", APP)
valid.config.generation.update(modes=[GenerationMode.POSITIVE])
invalid = schemathesis.openapi.from_asgi("/openapi.json", APP)
invalid.config.generation.update(modes=[GenerationMode.NEGATIVE])
# A refusal may also be 413: a body over NEWSRAG_MAX_DOCUMENTS (the schema's maxItems) is too large.
REJECTION = invalid.config.checks.negative_data_rejection
REJECTION.expected_statuses = [*REJECTION.expected_statuses, "413"]
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


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
    case.call_and_validate(headers=AUTH, checks=[*CHECKS, error_shape])


def in_order(bounds: dict[str, Any] | None) -> None:
    """Put a generated date range in order: 'from' after 'to' is the one rule a JSON schema cannot
    state (the service refuses it with a 422 saying to swap them)."""
    if not isinstance(bounds, dict) or not bounds.get("from") or not bounds.get("to"):
        return
    if parse_bound(bounds["from"], end=False) > parse_bound(bounds["to"], end=True):  # type: ignore[operator]
        bounds["from"], bounds["to"] = bounds["to"], bounds["from"]


def once_each(query: dict[str, Any] | None) -> None:
    """Keep the first of each metadata key: a key filtered on twice is refused, which a schema
    cannot state either."""
    if isinstance(query, dict) and isinstance(query.get("meta"), list):
        seen: dict[str, str] = {}
        for pair in query["meta"]:
            seen.setdefault(pair.partition("=")[0], pair)
        query["meta"] = list(seen.values())


def small_metadata(body: Any) -> None:
    """Empty a generated document's metadata that is over MAX_METADATA_BYTES as JSON: the third rule
    a schema cannot state (the service refuses it with a 422 giving the size)."""
    for document in body if isinstance(body, list) else []:
        if isinstance(document, dict) and isinstance(document.get("metadata"), dict):
            try:
                check_metadata(document["metadata"])
            except CorpusFormatError as exc:
                if "bytes as JSON" in str(exc):
                    document["metadata"] = {}


@valid.parametrize()
@settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck))
def test_every_request_the_schema_allows_is_accepted(case: Any) -> None:
    in_order(case.query)
    once_each(case.query)
    in_order(case.body.get("filters") if isinstance(case.body, dict) else None)
    small_metadata(case.body)
    case.call_and_validate(headers=AUTH, checks=[*CHECKS, error_shape, positive_data_acceptance])


@invalid.parametrize()
@settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck))
def test_every_request_the_schema_forbids_is_refused(case: Any) -> None:
    case.call_and_validate(headers=AUTH, checks=[*CHECKS, error_shape, negative_data_rejection])


Scenarios = schema.as_state_machine()


class Scenario(Scenarios):  # type: ignore[misc,valid-type]
    """Sequences of calls linked by what one returns and the next takes (a posted document's id
    read back, listed, deleted): every step must pass the same checks as a single call."""

    def get_call_kwargs(self, case: Any) -> dict[str, Any]:
        return {"headers": AUTH}

    def validate_response(self, response: Any, case: Any, **kwargs: Any) -> None:
        case.validate_response(response, checks=[*CHECKS, error_shape, use_after_free])


def test_sequences_of_calls_hold_together() -> None:
    Scenario.run(
        settings=settings(
            max_examples=10, deadline=None, stateful_step_count=5, suppress_health_check=list(HealthCheck)
        )
    )
