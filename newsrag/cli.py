"""The newsrag command line: ingest, search, ask, stats, delete, serve, migrate, eval."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rag.engine import Engine
    from rag.ingest.embedder import EmbedderConfig
    from rag.ingest.records import BuildBatches

DEFAULT_STORE = ".newsrag"
HALF_LIFE_HELP = "favour recent news: scores halve with every DAYS of age (default: no decay)"


def main(argv: Sequence[str] | None = None) -> int:
    """Run one subcommand; errors become one line on stderr and a non-zero exit."""
    parser = build_parser()
    args = parser.parse_args(argv)
    args.store_named = args.store is not None  # only the default store is made on first use
    from index.location import as_location

    args.store = as_location(args.store or os.environ.get("NEWSRAG_STORE") or DEFAULT_STORE)
    args.onnx_cache = onnx_cache(os.environ.get("NEWSRAG_ONNX_CACHE", ""))
    from rag.errors import NewsragError

    try:
        handler: Callable[[argparse.Namespace], int] = args.handler
        return handler(args)
    except NewsragError as exc:
        print(f"newsrag: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("newsrag: interrupted", file=sys.stderr)
        return 130


def onnx_cache(configured: str) -> str:
    """Where the ONNX export is kept: NEWSRAG_ONNX_CACHE when set, else the service's default."""
    from api.settings import onnx_cache_dir

    return str(onnx_cache_dir(configured))


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand."""
    parser = argparse.ArgumentParser(prog="newsrag", description="Cited answers from news summaries.")
    parser.add_argument(
        "--store",
        help=f"store folder, or a Milvus store: milvus-lite:PATH.db or milvus://HOST:PORT/PREFIX (env "
        f"NEWSRAG_STORE; default {DEFAULT_STORE}, seeded with the shipped digest on first use)",
    )
    parser.add_argument(
        "--model",
        default=os.environ.get("NEWSRAG_MODEL") or None,
        help="local sentence-transformers model folder (env NEWSRAG_MODEL; default: all-MiniLM-L6-v2)",
    )
    parser.add_argument(
        "--backend",
        default=os.environ.get("NEWSRAG_EMBED_BACKEND") or None,
        help="embedding backend: onnx (default), torch or onnx-int8 (env NEWSRAG_EMBED_BACKEND)",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    ingest = sub.add_parser(
        "ingest", help="load news summaries (digest text, JSON Lines, RSS/Atom feeds or their URLs, folders)"
    )
    ingest.add_argument("paths", nargs="+", metavar="PATH|URL")
    ingest.add_argument("--source", help="the outlet of feed items (default: the feed's title)")
    ingest.add_argument("--batch", type=_positive, default=128, help="documents per transaction")
    ingest.add_argument(
        "--ray",
        nargs="?",
        const="local",
        metavar="ADDRESS",
        help="chunk and embed on Ray (after the paths): on this machine, or on the cluster at ADDRESS "
        "(HOST:PORT, ray://HOST:PORT or auto)",
    )
    ingest.add_argument(
        "--ray-cpus",
        type=_positive,
        metavar="N",
        help="with --ray, encoder actors, one CPU each (default: Ray's CPUs); locally also Ray's size "
        "(default: all cores)",
    )
    ingest.set_defaults(handler=cmd_ingest)

    watch = sub.add_parser("watch", help="poll feeds on an interval and ingest what is new or edited")
    watch.add_argument("urls", nargs="+", metavar="URL")
    watch.add_argument(
        "--every", type=_interval, default="10m", help="how often (90, 30s, 10m, 1h; default 10m)"
    )
    watch.add_argument("--source", help="the outlet of feed items (default: each feed's title)")
    watch.add_argument("--once", action="store_true", help="poll each feed once, then exit")
    watch.set_defaults(handler=cmd_watch)

    search = sub.add_parser("search", help="print the best passages for a query")
    search.add_argument("query")
    search.add_argument("-k", type=_positive, default=5, help="passages to show (default 5)")
    search.add_argument(
        "--mode",
        default="hybrid",
        help="retrieval mode: dense, lexical, hybrid (default) or a hybrid variant (README: Retrieval)",
    )
    search.add_argument("--half-life", type=_days, metavar="DAYS", help=HALF_LIFE_HELP)
    search.set_defaults(handler=cmd_search)

    ask = sub.add_parser("ask", help="answer a question with cited sentences")
    ask.add_argument("question")
    ask.add_argument("--half-life", type=_days, metavar="DAYS", help=HALF_LIFE_HELP)
    ask.set_defaults(handler=cmd_ask)

    stats = sub.add_parser("stats", help="what the store holds")
    stats.set_defaults(handler=cmd_stats)

    delete = sub.add_parser("delete", help="remove documents by id")
    delete.add_argument("ids", nargs="+", metavar="ID")
    delete.set_defaults(handler=cmd_delete)

    serve = sub.add_parser("serve", help="run the HTTP API and the chat widget")
    serve.add_argument("--host", default=os.environ.get("NEWSRAG_HOST", "127.0.0.1"))
    serve.add_argument("--port", type=int, default=int(os.environ.get("NEWSRAG_PORT", "8000")))
    serve.add_argument("--workers", type=_positive, default=1)
    serve.add_argument(
        "--read-only",
        action="store_true",
        help="serve an existing store without writing to it (a read-only mount); writes answer 403",
    )
    serve.set_defaults(handler=cmd_serve)

    migrate = sub.add_parser(
        "migrate", help="copy a store into a new one of any backend (a folder into Milvus, say)"
    )
    migrate.add_argument("source", metavar="SRC", help="the store to copy: a folder or a Milvus URI")
    migrate.add_argument("target", metavar="DST", help="a new or empty store: a folder or a Milvus URI")
    migrate.add_argument("--batch", type=_positive, default=256, help="documents per write (default 256)")
    migrate.set_defaults(handler=cmd_migrate)

    add_eval_parser(sub)
    return parser


def add_eval_parser(sub: argparse._SubParsersAction) -> None:
    """Register `newsrag eval` when the evaluation harness is installed."""
    try:
        from eval.cli import add_parser
    except ImportError:
        return
    add_parser(sub)


def _positive(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError(f"{value} is not a positive whole number")
    return number


def _interval(value: str) -> float:
    from rag.ingest.watch import parse_interval

    try:
        return parse_interval(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _days(value: str) -> float:
    try:
        days = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number of days") from None
    from rag.limits import MAX_HALF_LIFE_DAYS

    if not 0 < days <= MAX_HALF_LIFE_DAYS:
        raise argparse.ArgumentTypeError(
            f"{value} is not a number of days above 0, up to {MAX_HALF_LIFE_DAYS}"
        )
    return days


def open_engine(args: argparse.Namespace, *, create: bool = False) -> Engine:
    """Open the store at --store. Only ingest and watch may create one (create); the default store, when
    --store names none, is created on first use and seeded with the shipped digest. Anything else
    missing is an error before the model loads."""
    from index.location import store_exists
    from rag.config import EngineConfig
    from rag.corpus import open_or_seed
    from rag.engine import Engine
    from rag.errors import StoreError
    from rag.ingest.embedder import shared_embedder

    config = EngineConfig(embedder=embedder_config(args))  # an unknown backend is refused first
    seed = not args.store_named and not create
    if not create and not seed and not store_exists(args.store):
        raise StoreError(
            f"no store at {args.store}: make one with `newsrag --store {args.store} ingest PATH`"
        )
    if sys.stderr.isatty():
        print("loading the model…", file=sys.stderr, flush=True)
    embedder = shared_embedder(config.embedder)
    if seed:
        return open_or_seed(args.store, config, embedder)
    return Engine.open(args.store, config, embedder=embedder)


def embedder_config(args: argparse.Namespace) -> EmbedderConfig:
    """The embedder the global --model and --backend options ask for (an unknown backend is refused)."""
    from rag.ingest.embedder import DEFAULT_BACKEND, EmbedderConfig

    return EmbedderConfig(
        model_path=args.model, backend=args.backend or DEFAULT_BACKEND, onnx_cache=args.onnx_cache
    )


def cmd_ingest(args: argparse.Namespace) -> int:
    """newsrag ingest PATH...: load, report rejects with file and line, print a summary."""
    from dataclasses import replace

    from tqdm import tqdm

    from rag.ingest.loaders import load_documents

    loaded = load_documents(args.paths, source=args.source)
    for rejected in loaded.rejected:
        print(f"rejected {rejected.where}: {rejected.reason}", file=sys.stderr)
    if not loaded.documents and not loaded.rejected:
        from rag.errors import CorpusFormatError

        raise CorpusFormatError(f"no documents found in {', '.join(str(p) for p in args.paths)}")
    with ray_batches(args) as build, open_engine(args, create=True) as engine:
        engine.config = replace(engine.config, ingest_batch=args.batch)
        with tqdm(total=len(loaded.documents), unit="doc", desc="ingest", disable=None) as bar:
            report = engine.ingest(loaded.documents, progress=bar.update, build=build)
    rate = report.documents / report.seconds if report.seconds > 0 else 0.0
    print(
        f"{report.added} added, {report.updated} updated, {report.unchanged} unchanged, "
        f"{len(loaded.rejected)} rejected; {report.chunks} chunks, {report.sentences} sentences "
        f"in {report.seconds:.1f} s ({rate:.1f} docs/s)"
    )
    return 1 if loaded.rejected and not loaded.documents else 0


@contextmanager
def ray_batches(args: argparse.Namespace) -> Iterator[BuildBatches | None]:
    """With --ray, Ray started or joined for the block (before the store opens: a bad address or a
    missing Ray writes nothing) and the records built there; without, None: built in this process."""
    if args.ray is None:
        if args.ray_cpus is not None:
            from rag.errors import InvalidRequestError

            raise InvalidRequestError("--ray-cpus sets the size of a Ray ingest: add --ray [ADDRESS]")
        yield None
        return
    from rag.ingest.distributed import RayBatches, RayConfig, ray_cluster

    address = None if args.ray == "local" else args.ray
    with ray_cluster(RayConfig(address, args.ray_cpus)) as workers:
        yield RayBatches(embedder_config(args), workers)


def cmd_watch(args: argparse.Namespace) -> int:
    """newsrag watch URL...: poll the feeds, one line per poll, until interrupted (or --once)."""
    import threading

    from rag.ingest.feeds import require_feed_addresses
    from rag.ingest.watch import Poll, Watcher

    require_feed_addresses(args.urls)
    with open_engine(args, create=True) as engine:
        watcher = Watcher(args.urls, engine.ingest, args.every, source=args.source)

        def report(poll: Poll) -> None:
            print(poll.line(), file=sys.stderr if poll.outcome == "failed" else sys.stdout, flush=True)

        if args.once:
            polls = watcher.poll_due()
            for poll in polls:
                report(poll)
            return 0 if any(p.outcome != "failed" for p in polls) else 1
        watcher.run(threading.Event(), report)
    return 0


def cmd_search(args: argparse.Namespace) -> int:
    """newsrag search QUERY: the best passages with source and score."""
    from rag.limits import require_text
    from rag.retrieve.pipeline import plan_of

    require_text(args.query, "query")  # both before the model loads
    plan_of(args.mode)
    with open_engine(args) as engine:
        passages = engine.search(args.query, k=args.k, mode=args.mode, half_life_days=args.half_life)
    if not passages:
        print("no passages found")
    for rank, p in enumerate(passages, start=1):
        origin = ", ".join(
            x for x in (p.source, p.published_at.date().isoformat() if p.published_at else None) if x
        )
        print(f"{rank}. [{p.doc_id}] score {p.score:.4f}" + (f"  ({origin})" if origin else ""))
        if p.title:
            print(f"   {p.title}")
        print(f"   {_snippet(p.text)}")
    return 0


def cmd_ask(args: argparse.Namespace) -> int:
    """newsrag ask QUESTION: the answer with its citations and sources."""
    from rag.limits import require_text

    require_text(args.question, "question")  # before the model loads
    with open_engine(args) as engine:
        answer = engine.ask(args.question, half_life_days=args.half_life)
    if answer.abstained:
        print(answer.message or "The summaries do not answer this question.")
        if answer.related:
            print("\nRelated:")
            for p in answer.related:
                origin = ", ".join(
                    x for x in (p.source, p.published_at.date().isoformat() if p.published_at else None) if x
                )
                print(
                    f"- {p.title + ': ' if p.title else ''}{_snippet(p.text)}"
                    + (f" ({origin})" if origin else "")
                )
        return 0
    print(answer.text)
    if answer.short_answer:
        print(f"\nShort answer: {answer.short_answer.text}")
    print("\nSources:")
    for s in answer.sources:
        label = s.label or s.doc_id
        outlet = s.source if s.source and s.source != label else None
        bits = [x for x in (outlet, s.published_at.date().isoformat() if s.published_at else None) if x]
        print(
            f"[{s.number}] {label}"
            + (f" ({', '.join(bits)})" if bits else "")
            + (f" <{s.url}>" if s.url else "")
        )
    print(f"\nconfidence {answer.confidence:.2f}")
    return 0


def cmd_stats(args: argparse.Namespace) -> int:
    """newsrag stats: documents, chunks, sentences, model, format version, size."""
    from index.location import shown

    with open_engine(args) as engine:
        stats = engine.stats()
    print(f"store          {shown(args.store)}")
    print(f"documents      {stats.documents}")
    print(f"chunks         {stats.chunks}")
    print(f"sentences      {stats.sentences}")
    print(f"model          {stats.model} ({stats.dimension}-d)")
    print(f"format version {stats.format_version}")
    print(f"generation     {stats.generation}")
    print(f"size on disk   {stats.size_bytes / 1e6:.2f} MB (write-ahead log {stats.wal_bytes / 1e6:.2f} MB)")
    return 0


def cmd_delete(args: argparse.Namespace) -> int:
    """newsrag delete ID...: remove documents; unknown ids are reported."""
    with open_engine(args) as engine:
        deleted = engine.delete(args.ids)
    missing = len(set(args.ids)) - deleted
    print(f"{deleted} deleted" + (f", {missing} not found" if missing else ""))
    return 0 if deleted or not missing else 1


def cmd_migrate(args: argparse.Namespace) -> int:
    """newsrag migrate SRC DST: copy every document with its chunks, sentences and vectors (no model)."""
    from tqdm import tqdm

    from index import Backend, ManifestMismatchError
    from index import StoreError as IndexStoreError
    from index.location import as_location, open_store, shown, store_exists
    from index.migrate import copy_store, target_manifest
    from rag.errors import StoreError

    source_at, target_at = as_location(args.source), as_location(args.target)
    if shown(source_at) == shown(target_at):
        raise StoreError(f"{shown(source_at)} is both the source and the target; name a new target")
    if not store_exists(source_at):
        raise StoreError(f"no store at {shown(source_at)}: nothing to migrate")
    source: Backend | None = None
    try:
        if store_exists(target_at):
            _refuse_a_full_target(target_at)
        source = open_store(source_at, {}, create=False)
        target = open_store(target_at, target_manifest(source))
        try:
            total = source.snapshot().count("documents")
            with tqdm(total=total, unit="doc", desc="migrate", disable=None) as bar:
                report = copy_store(source, target, args.batch, bar.update)
        except IndexStoreError as exc:
            raise StoreError(
                f"{exc}; {shown(target_at)} holds the batches copied so far: remove it before migrating again"
            ) from None
        finally:
            target.close()
    except ManifestMismatchError as exc:
        raise StoreError(
            f"{shown(target_at)} is a store built with {exc.key} {exc.stored!r}, the source with "
            f"{exc.requested!r}; migrate into a new location"
        ) from None
    except IndexStoreError as exc:
        raise StoreError(str(exc)) from None
    finally:
        if source is not None:
            source.close()
    writes = f"{report.writes} write" + ("s" if report.writes != 1 else "")
    print(
        f"{report.documents} documents, {report.chunks} chunks, {report.sentences} sentences copied "
        f"from {shown(source_at)} to {shown(target_at)} in {writes}"
    )
    return 0


def _refuse_a_full_target(target_at: str | Path) -> None:
    """A store that exists at the target may be empty; one that holds documents is refused."""
    from index.location import open_store, shown
    from rag.errors import StoreError

    probe = open_store(target_at, {}, create=False)
    try:
        held = probe.snapshot().count("documents")
    finally:
        probe.close()
    if held:
        raise StoreError(
            f"{shown(target_at)} already holds {held} documents; migrate into a new, empty location"
        )


def cmd_serve(args: argparse.Namespace) -> int:
    """newsrag serve: the HTTP API under uvicorn (the model loads once per worker, at start-up)."""
    from api.server import run
    from index.location import is_milvus_lite
    from rag.errors import InvalidRequestError

    if is_milvus_lite(args.store) and args.workers > 1:
        raise InvalidRequestError(
            f"{args.store} is a milvus-lite store, which one process opens at a time: serve it with "
            "--workers 1, or move it to a Milvus server (newsrag migrate)"
        )
    return run(args)


def _snippet(text: str, width: int = 200) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


if __name__ == "__main__":
    sys.exit(main())
