"""The document endpoints: upsert (JSON array or JSON Lines), get, delete, list."""

from __future__ import annotations

import threading
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request
from starlette.concurrency import run_in_threadpool

from api.convert import document_out, ingest_out, summary_out
from api.deps import EngineDep, SettingsDep, WriteLockDep, make_filters, require_api_key
from api.errors import ApiError
from api.parse import DOCUMENTS_BODY, parse_documents
from api.responses import errors
from api.routes_search import FromQuery, SourceQuery, ToQuery
from api.schemas import DeleteResponse, DocumentOut, DocumentPage, IngestResponse
from rag.engine import Engine
from rag.types import Document, IngestReport

router = APIRouter(prefix="/v1", tags=["documents"])
MAX_PAGE = 100
MAX_OFFSET = 10_000_000
DocId = Annotated[str, Path(description="the document's id")]
# OpenAPI links: what a client (and the schema's property tests) may do next with an id it got.
FIRST_DOCUMENT_LINKS = {
    "GetFirstDocument": {
        "operationId": "get_document",
        "parameters": {"doc_id": "$response.body#/ids/0"},
        "description": "read back the first document sent",
    },
    "DeleteFirstDocument": {
        "operationId": "delete_document",
        "parameters": {"doc_id": "$response.body#/ids/0"},
        "description": "delete the first document sent",
    },
}
DELETED_DOCUMENT_LINKS = {
    "GetDeletedDocument": {
        "operationId": "get_document",
        "parameters": {"doc_id": "$response.body#/doc_id"},
        "description": "a deleted document is gone: 404",
    },
}


@router.post(
    "/documents",
    response_model=IngestResponse,
    responses={200: {"links": FIRST_DOCUMENT_LINKS}, **errors(401, 403, 413, 422, 503)},
    dependencies=[Depends(require_api_key)],
    openapi_extra=DOCUMENTS_BODY,
)
async def upsert_documents(
    request: Request, engine: EngineDep, lock: WriteLockDep, settings: SettingsDep
) -> IngestResponse:
    """Add or replace documents, all in one transaction: any invalid document means nothing is written."""
    body = await request.body()
    content_type = request.headers.get("content-type", "")
    documents, report = await run_in_threadpool(
        _ingest, engine, lock, body, content_type, settings.max_documents
    )
    request.app.state.metrics.observe_ingest(report)
    return ingest_out(report, [d.doc_id for d in documents])


def _ingest(
    engine: Engine, lock: threading.Lock, body: bytes, content_type: str, max_documents: int
) -> tuple[list[Document], IngestReport]:
    documents = parse_documents(body, content_type, max_documents)  # off the event loop: bodies can be large
    with lock:
        return documents, engine.ingest(documents)


@router.get("/documents", response_model=DocumentPage, responses=errors(422, 503))
def list_documents(
    engine: EngineDep,
    source: SourceQuery = None,
    start: FromQuery = None,
    end: ToQuery = None,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET, description="items to skip")] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE, description="items per page")] = 20,
) -> DocumentPage:
    """Stored documents, newest first, one page at a time."""
    rows = engine.documents(make_filters(source, start, end, "query parameter"), offset, limit + 1)
    return DocumentPage(
        items=[summary_out(stored) for stored in rows[:limit]],
        offset=offset,
        limit=limit,
        next_offset=offset + limit if len(rows) > limit else None,
    )


@router.get(
    "/documents/{doc_id:path}",
    response_model=DocumentOut,
    responses=errors(404, 503),
    operation_id="get_document",
)
def get_document(doc_id: DocId, engine: EngineDep) -> DocumentOut:
    """One stored document with its full text (the text every offset refers to)."""
    document = engine.document(doc_id)
    if document is None:
        raise ApiError(404, "not_found", f"no document with id {doc_id!r}; list them at GET /v1/documents")
    return document_out(document)


@router.delete(
    "/documents/{doc_id:path}",
    response_model=DeleteResponse,
    responses={200: {"links": DELETED_DOCUMENT_LINKS}, **errors(401, 403, 404, 503)},
    operation_id="delete_document",
    dependencies=[Depends(require_api_key)],
)
def delete_document(request: Request, doc_id: DocId, engine: EngineDep, lock: WriteLockDep) -> DeleteResponse:
    """Remove a document with its chunks, sentences, vectors and terms."""
    with lock:
        deleted = engine.delete([doc_id])
    if not deleted:
        raise ApiError(404, "not_found", f"no document with id {doc_id!r}; nothing was deleted")
    request.app.state.metrics.deleted.inc(deleted)
    return DeleteResponse(doc_id=doc_id, deleted=True)
