"""Ingest on Ray: chunking and encoding as Ray Data map_batches over a pool of actors, each holding one
loaded encoder; the driver keeps the batches in order and writes them to the store as the plain ingest does.

The result is byte-identical to the plain ingest (tests/test_ray_ingest.py). Each Ray row is one of
Engine.ingest's write batches, and an actor runs the very build_records the plain path runs on exactly
that batch, so the encoder reads the same texts in the same calls, padded to the same lengths. That
matters: the torch backend's vectors change in their last bits with what shares their padded batch
(29 of 50 digest texts differ, by up to 1.9e-7, encoded one by one rather than together; the fp32 ONNX
export's do not). Chunk and sentence ids follow from the order of the writes, which the driver keeps.
Each actor encodes on one thread; the vectors do not depend on it (torch and ONNX, 1 against 2
threads, checked equal). So this holds where the workers run the same libraries on the same kind of
CPU as the plain ingest did; other CPUs may round the last bits otherwise.

Ray is imported only here and only when called, so the rest of newsrag runs without it.
"""

from __future__ import annotations

import logging
import socket
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from index import DocumentRecord
from rag.errors import ClusterError, NewsragError
from rag.ingest.chunking import ChunkingConfig
from rag.ingest.embedder import Embedder, EmbedderConfig
from rag.ingest.records import build_records
from rag.types import Document

RAY_MISSING = "Ray is not installed: pip install 'newsrag[ray]' (or \"ray[data]\")"
CONNECT_SECONDS = 5.0  # ray.init itself retries an unreachable address for minutes


@dataclass(frozen=True)
class RayConfig:
    """Where the encoder actors run, and how many."""

    address: str | None = None  # None: start Ray on this machine; else HOST:PORT, ray://HOST:PORT or auto
    cpus: int | None = None  # local Ray's CPUs (default: all); actors, one CPU each (default: Ray's CPUs)


@contextmanager
def ray_cluster(config: RayConfig) -> Iterator[int]:
    """Start or join Ray for the block and yield how many encoder actors to run; a Ray already
    initialised in this process is used as it is and left running."""
    ray = _import_ray()
    _quiet()
    if config.address is not None:
        check_reachable(config.address)
    started = not ray.is_initialized()
    if started:
        _init(ray, config)
    try:
        yield config.cpus or max(1, int(ray.cluster_resources().get("CPU", 1)))
    finally:
        if started:
            ray.shutdown()


def check_reachable(address: str, timeout: float = CONNECT_SECONDS) -> None:
    """ClusterError unless address is "auto" or a HOST:PORT (perhaps ray://) that accepts connections."""
    if address == "auto":
        return
    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit():
        raise ClusterError(f"Ray address {address!r} is not HOST:PORT, ray://HOST:PORT or auto")
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=timeout).close()
    except OSError as exc:
        raise ClusterError(
            f"cannot reach a Ray cluster at {address}: {exc.strerror or exc}; check the address "
            "(`ray status` on the head node shows it) or leave it out to run Ray on this machine"
        ) from None


class RayBatches:
    """BuildBatches on Ray: one row per write batch, built by a pool of `workers` actors (one CPU each)."""

    def __init__(self, embedder: EmbedderConfig, workers: int) -> None:
        # One thread per actor unless configured: the actors are the parallelism.
        self.embedder = replace(embedder, threads=embedder.threads or 1)
        self.workers = workers

    def __call__(
        self, parts: Sequence[Sequence[Document]], chunking: ChunkingConfig, sentence_vectors: str
    ) -> Iterator[list[DocumentRecord]]:
        """Each part's records, in the parts' order, as soon as it and every part before it are built."""
        if not parts:
            return
        import ray
        import ray.data

        context = ray.data.DataContext.get_current()
        context.enable_progress_bars = False  # the command line shows its own
        context.enable_fallback_to_arrow_object_ext_type = True  # documents and records travel pickled
        rows = ray.data.from_items([{"part": i, "documents": list(part)} for i, part in enumerate(parts)])
        with warnings.catch_warnings():
            # max_restarts is passed the only way Ray < 2.64 takes it, deprecated there (pyproject pins it)
            warnings.simplefilter("ignore", DeprecationWarning)
            built = rows.map_batches(
                BuildOnActor,
                batch_size=1,
                batch_format="numpy",
                compute=ray.data.ActorPoolStrategy(size=min(self.workers, len(parts))),
                num_cpus=1,
                fn_constructor_args=(self.embedder, chunking, sentence_vectors),
                max_restarts=0,  # an actor that dies fails the ingest, as a crash of the plain one does
            )
        waiting: dict[int, list[DocumentRecord]] = {}
        ready = 0
        try:
            for row in built.iter_rows():
                waiting[int(row["part"])] = list(row["records"])
                while ready in waiting:
                    yield waiting.pop(ready)
                    ready += 1
        except ray.exceptions.RayError as exc:
            raise _failure(exc) from None
        if ready != len(parts):
            raise ClusterError(f"Ray returned {ready} of {len(parts)} batches; nothing after batch {ready}")


class BuildOnActor:
    """One actor's state: the encoder, loaded once; each call builds one write batch's records."""

    def __init__(self, embedder: EmbedderConfig, chunking: ChunkingConfig, sentence_vectors: str) -> None:
        self.embedder = Embedder(embedder)
        self.chunking = chunking
        self.sentence_vectors = sentence_vectors

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """The records of each row's documents, in an object column beside the row's part number."""
        records = np.empty(len(batch["part"]), dtype=object)
        for row, documents in enumerate(batch["documents"]):
            records[row] = build_records(
                list(documents), self.embedder, self.chunking, None, self.sentence_vectors
            )
        return {"part": batch["part"], "records": records}


def _import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise ClusterError(RAY_MISSING) from None
    return ray


def _quiet() -> None:
    """Ray's own notices off the terminal: Ray Data's per-run INFO lines, the note that its progress bars
    are off (the command line shows its own), the note that a local Ray uses token authentication."""
    import ray.data  # noqa: F401  (it sets its loggers' levels when first imported)

    logging.getLogger("ray.data").setLevel(logging.WARNING)
    logging.getLogger("ray.data._internal.progress").setLevel(logging.ERROR)
    logging.getLogger("ray._private.authentication.authentication_token_setup").setLevel(logging.ERROR)


def _init(ray: Any, config: RayConfig) -> None:
    quiet: dict[str, Any] = {"logging_level": logging.WARNING, "log_to_driver": False}
    try:
        if config.address is None:
            ray.init(num_cpus=config.cpus, include_dashboard=False, **quiet)
        else:
            ray.init(address=config.address, **quiet)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        where = config.address or "this machine"
        raise ClusterError(f"cannot start or join Ray at {where}: {_last_line(exc)}") from None


def _failure(exc: BaseException) -> NewsragError:
    """The newsrag error a worker raised (a missing model, say), or a ClusterError naming the failure."""
    seen: BaseException | None = exc
    while seen is not None:
        cause = getattr(seen, "cause", None)
        if isinstance(cause, NewsragError):
            return cause
        if isinstance(seen, NewsragError):
            return seen
        seen = seen.__cause__
    return ClusterError(f"a Ray worker failed: {_last_line(exc)}")


def _last_line(exc: BaseException) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[-1] if lines else type(exc).__name__
