"""The Milvus store's collections, field limits and filter expressions (see index/milvus.py)."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from pymilvus import DataType, Function, FunctionType, MilvusClient
from pymilvus.exceptions import MilvusException

from index.errors import InvalidRecordError, StoreError
from index.records import RowFilter

ALIVE = 2**62  # `died` of a row no write has replaced or deleted
VARCHAR_BYTES = 65_535  # Milvus's longest VARCHAR value
TEXT_PART_CHARS = 16_000  # a document's text is stored in parts of at most this many characters (<= 64 kB)
ID_BYTES = 1_024
FIELD_BYTES = 8_192  # title, source, url
MAX_METADATA_KEYS = 4_096  # Milvus's largest ARRAY capacity
BM25_PARAMS = {"bm25_k1": 1.2, "bm25_b": 0.75}  # tantivy's, as the embedded store scores
# The lexical field holds text the project's own analyzer has already split, folded and stemmed
# (index.lexical.NEWS_ANALYZER), space-separated, so Milvus only has to split it at the spaces: a
# server's whitespace tokenizer does exactly that. milvus-lite 3.2 has no whitespace tokenizer; its
# standard one (runs of \w, lowercased) leaves such terms whole too, as they hold only lowercase
# letters and digits (index/milvus.py lists the rare exceptions).
SERVER_ANALYZER = {"tokenizer": "whitespace"}
LITE_ANALYZER = {"tokenizer": "standard"}
VERSIONED = ("born", "died", "died_at")


@dataclass(frozen=True)
class Names:
    """The four collection names of one store: its prefix with _state, _documents, _chunks, _sentences."""

    prefix: str

    @property
    def state(self) -> str:
        """Manifest, published generation and id counters, one row each."""
        return f"{self.prefix}_state"

    @property
    def documents(self) -> str:
        """Documents, one row per text part."""
        return f"{self.prefix}_documents"

    @property
    def chunks(self) -> str:
        """Chunks with dense vectors, BM25 sparse vectors and their documents' filter fields."""
        return f"{self.prefix}_chunks"

    @property
    def sentences(self) -> str:
        """Sentence spans with their vectors."""
        return f"{self.prefix}_sentences"

    def data(self) -> tuple[str, str, str]:
        """The collections whose rows carry born/died generations."""
        return (self.documents, self.chunks, self.sentences)


@contextmanager
def milvus_errors(what: str) -> Iterator[None]:
    """Milvus's failures as StoreError naming what was being done."""
    try:
        yield
    except MilvusException as exc:
        raise StoreError(f"Milvus failed {what}: {exc.message or exc}") from None


def create_collections(client: MilvusClient, names: Names, dimension: int, lite: bool) -> None:
    """Make the four collections with their indexes and load them. milvus-lite: a FLAT (exact) chunk
    vector index, the standard analyzer, and no polling for index builds, which it finishes before it
    answers (pymilvus would sleep half a second per index); a server: HNSW over the chunk vectors and
    the whitespace analyzer, each index waited for."""
    dense = _FLAT_IP if lite else _HNSW
    analyzer = LITE_ANALYZER if lite else SERVER_ANALYZER
    for name, schema, indexes in (
        (names.state, _state_schema(client), [("_unused", {"index_type": "FLAT", "metric_type": "L2"})]),
        (
            names.documents,
            _documents_schema(client),
            [("_unused", {"index_type": "FLAT", "metric_type": "L2"})],
        ),
        (names.chunks, _chunks_schema(client, dimension, analyzer), [("vector", dense), ("sparse", _SPARSE)]),
        # Sentences are fetched by document and span, never searched: FLAT is only the index Milvus
        # needs to load a vector field, with no graph beside the vectors.
        (names.sentences, _sentences_schema(client, dimension), [("vector", _FLAT_IP)]),
    ):
        params = client.prepare_index_params()
        for field, spec in [*indexes, *(() if name == names.state else [("doc_id", _INVERTED)])]:
            params.add_index(field_name=field, **spec)
        client.create_collection(name, schema=schema, consistency_level="Strong")
        client.create_index(name, params, sync=not lite)
        client.load_collection(name)


_FLAT_IP = {"index_type": "FLAT", "metric_type": "IP"}
_HNSW = {"index_type": "HNSW", "metric_type": "IP", "params": {"M": 16, "efConstruction": 200}}
_SPARSE = {"index_type": "SPARSE_INVERTED_INDEX", "metric_type": "BM25", "params": BM25_PARAMS}
_INVERTED = {"index_type": "INVERTED"}


def _schema(client: MilvusClient, key: str, key_type: DataType) -> Any:
    schema = client.create_schema(auto_id=False, enable_dynamic_field=False)
    if key_type == DataType.VARCHAR:
        schema.add_field(key, DataType.VARCHAR, is_primary=True, max_length=ID_BYTES)
    else:
        schema.add_field(key, key_type, is_primary=True)
    return schema


def _versioned(schema: Any) -> None:
    for field in VERSIONED:  # the write that made the row, the one that ended it, and when (epoch s)
        schema.add_field(field, DataType.INT64)


def _document_fields(schema: Any) -> None:
    schema.add_field("doc_id", DataType.VARCHAR, max_length=ID_BYTES)
    for field in ("title", "source", "source_fold", "url"):
        schema.add_field(field, DataType.VARCHAR, max_length=FIELD_BYTES, nullable=True)
    schema.add_field("published_at", DataType.VARCHAR, max_length=64, nullable=True)
    schema.add_field("metadata", DataType.JSON)
    schema.add_field(
        "meta_pairs",
        DataType.ARRAY,
        element_type=DataType.VARCHAR,
        max_capacity=MAX_METADATA_KEYS,
        max_length=VARCHAR_BYTES,
    )


def _state_schema(client: MilvusClient) -> Any:
    schema = _schema(client, "key", DataType.VARCHAR)
    schema.add_field("value", DataType.VARCHAR, max_length=VARCHAR_BYTES)
    schema.add_field("_unused", DataType.FLOAT_VECTOR, dim=2)  # Milvus wants a vector in every collection
    return schema


def _documents_schema(client: MilvusClient) -> Any:
    schema = _schema(client, "row_id", DataType.INT64)
    _document_fields(schema)
    schema.add_field("part", DataType.INT64)
    schema.add_field("text", DataType.VARCHAR, max_length=VARCHAR_BYTES)
    schema.add_field("content_hash", DataType.VARCHAR, max_length=ID_BYTES)
    schema.add_field("ingested_at", DataType.VARCHAR, max_length=64)
    schema.add_field("_unused", DataType.FLOAT_VECTOR, dim=2)
    _versioned(schema)
    return schema


def _chunks_schema(client: MilvusClient, dimension: int, analyzer: dict[str, str]) -> Any:
    schema = _schema(client, "chunk_id", DataType.INT64)
    _document_fields(schema)
    for field in ("ordinal", "start_char", "end_char"):
        schema.add_field(field, DataType.INT64)
    schema.add_field("text", DataType.VARCHAR, max_length=VARCHAR_BYTES)
    schema.add_field(
        "lexical", DataType.VARCHAR, max_length=VARCHAR_BYTES, enable_analyzer=True, analyzer_params=analyzer
    )
    schema.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
    schema.add_field("vector", DataType.FLOAT_VECTOR, dim=dimension)
    schema.add_function(
        Function(
            name="bm25",
            function_type=FunctionType.BM25,
            input_field_names=["lexical"],
            output_field_names=["sparse"],
        )
    )
    _versioned(schema)
    return schema


def _sentences_schema(client: MilvusClient, dimension: int) -> Any:
    schema = _schema(client, "sentence_id", DataType.INT64)
    schema.add_field("doc_id", DataType.VARCHAR, max_length=ID_BYTES)
    for field in ("ordinal", "start_char", "end_char"):
        schema.add_field(field, DataType.INT64)
    schema.add_field("vector", DataType.FLOAT_VECTOR, dim=dimension)
    _versioned(schema)
    return schema


def literal(value: str) -> str:
    """A string as a Milvus expression literal. milvus-lite 3.2 ignores filter_params templates, so
    values are quoted here; a control character other than newline, return or tab is refused."""
    if any(ord(c) < 0x20 and c not in "\n\r\t" for c in value):
        raise StoreError(f"{value!r} holds a control character a Milvus filter cannot carry")
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return '"' + escaped.replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t") + '"'


def one_of(field: str, values: Sequence[str] | Sequence[int]) -> str:
    """`field in [...]` for strings or integers."""
    items = [literal(v) if isinstance(v, str) else str(int(v)) for v in values]
    return f"{field} in [{', '.join(items)}]"


def visible(generation: int) -> str:
    """Rows a reader at this generation sees: made by it or before, not ended by then."""
    return f"born <= {generation} and died > {generation}"


def ascii_fold(value: str) -> str:
    """ASCII letters lowered, the rest kept: what SQLite's NOCASE compares."""
    return value.translate(_ASCII_LOWER)


_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def filter_expression(row_filter: RowFilter | None) -> str:
    """The filter as a Milvus boolean expression over the document fields; "" when it restricts nothing."""
    if row_filter is None or row_filter.is_empty():
        return ""
    clauses: list[str] = []
    if row_filter.source:
        clauses.append(f"source_fold == {literal(ascii_fold(row_filter.source))}")
    dates = []
    if row_filter.published_from:
        dates.append(f"published_at >= {literal(row_filter.published_from)}")
    if row_filter.published_to:
        dates.append(f"published_at <= {literal(row_filter.published_to)}")
    if dates:
        within = " and ".join(dates)
        clauses.append(f"(published_at is null or ({within}))" if row_filter.undated else f"({within})")
    for key, value in sorted(row_filter.metadata.items()):
        clauses.append(f"array_contains(meta_pairs, {literal(meta_pair(key, value))})")
    return " and ".join(clauses)


def meta_pair(key: str, text: str) -> str:
    """One metadata key and its value as text, unambiguously (JSON of the pair)."""
    return json.dumps([key, text], ensure_ascii=False)


def meta_pairs(metadata: dict[str, Any]) -> list[str]:
    """Each top-level metadata value as the text SQLite's CAST(json_extract(...) AS TEXT) gives it,
    paired with its key; null values have none (they match no filter there either)."""
    if len(metadata) > MAX_METADATA_KEYS:
        raise InvalidRecordError(
            f"metadata has {len(metadata)} keys; the Milvus store holds {MAX_METADATA_KEYS}"
        )
    pairs = [meta_pair(str(k), _sqlite_text(v)) for k, v in metadata.items() if v is not None]
    for pair in pairs:
        if len(pair.encode("utf-8")) > VARCHAR_BYTES:
            raise InvalidRecordError(f"a metadata value is longer than {VARCHAR_BYTES} bytes: {pair[:60]}…")
    return pairs


def _sqlite_text(value: Any) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):  # SQLite prints a REAL with 15 significant digits, always with a point
        text = f"{value:.15g}"
        mantissa, e, exponent = text.partition("e")
        return (mantissa if "." in mantissa else mantissa + ".0") + (e + exponent if e else "")
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)
    return str(value)
