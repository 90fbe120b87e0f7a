"""`newsrag eval DATASET_DIR`: score retrieval modes and answers on a BEIR-layout folder."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from eval.compare import Comparison
    from eval.datasets import Dataset
    from eval.harness import Plan, Tick
    from eval.index_cache import IndexInfo
    from eval.scoring import Evaluation
    from rag.engine import Engine

DEFAULT_CACHE_DIR = Path(".newsrag/eval-cache")


def add_parser(sub: Any) -> None:
    """Register the eval subcommand on the CLI's subparsers."""
    parser = sub.add_parser(
        "eval",
        help="score retrieval (and answers) on a BEIR-layout dataset folder",
        description="Index a BEIR folder once (cached), run every query under each retrieval mode, "
        "score nDCG/recall/MRR/MAP and, with answers.jsonl, the composed answers; write a run folder.",
    )
    parser.add_argument(
        "dataset", type=Path, metavar="DATASET_DIR", help="folder with corpus.jsonl, queries.jsonl, qrels/"
    )
    parser.add_argument("--split", default="test", help="qrels/<split>.tsv to score against (default test)")
    parser.add_argument(
        "--queries", default="queries.jsonl", metavar="FILE", help="queries file in the folder"
    )
    parser.add_argument("--modes", help="comma-separated retrieval modes, one row each (default: every mode)")
    parser.add_argument(
        "--cache-dir", type=Path, default=DEFAULT_CACHE_DIR, help="index cache (default %(default)s)"
    )
    parser.add_argument(
        "--index-store",
        default="embedded",
        metavar="BACKEND",
        help="where the cached index lives: embedded (default), milvus-lite, or a Milvus server as "
        "milvus://HOST:PORT (collections named for the cache entry)",
    )
    parser.add_argument("--out", type=Path, help="run folder (default runs/<dataset>-<timestamp>)")
    parser.add_argument(
        "--compare", type=Path, metavar="BASELINE_RUN_DIR", help="earlier run folder to test against"
    )
    parser.add_argument(
        "--fail-below",
        action="append",
        default=[],
        metavar="[MODE:]METRIC=VALUE",
        help="exit 3 when a metric is under VALUE (repeatable; without MODE every mode must pass)",
    )
    picks = parser.add_mutually_exclusive_group()
    picks.add_argument("--limit", type=_positive, help="run only the first N queries")
    picks.add_argument("--sample", type=_positive, help="run a random sample of N queries (see --seed)")
    parser.add_argument("--seed", type=int, default=0, help="seed of --sample (default 0)")
    parser.add_argument(
        "--ids-from",
        metavar="ID",
        help="only queries whose id sorts at or after ID (RealTimeQA: 2022 leaves out its dev years)",
    )
    parser.add_argument(
        "--part",
        choices=("train", "calibration", "test"),
        help="only questions of this part of the reader's split (SQuAD by article, RealTimeQA by year; "
        "test: the held-out part every reported figure uses)",
    )
    parser.add_argument(
        "--as-asked",
        action="store_true",
        help="search each question as of its date in answers.jsonl: documents published later are hidden",
    )
    parser.add_argument("--chunk-tokens", type=_positive, help="chunk size in tokens (default: the engine's)")
    parser.add_argument("--overlap-tokens", type=int, help="chunk overlap in tokens (default: the engine's)")
    parser.set_defaults(handler=handle)


def _positive(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number") from None
    if number < 1:
        raise argparse.ArgumentTypeError(f"{value} is not a positive whole number")
    return number


def parse_modes(text: str | None) -> tuple[str, ...]:
    """The requested modes, validated against rag.retrieve.pipeline.MODES as it is at run time."""
    from rag.errors import InvalidRequestError
    from rag.retrieve.pipeline import MODES

    if text is None:
        return tuple(MODES)
    modes = tuple(dict.fromkeys(m.strip() for m in text.split(",") if m.strip()))
    unknown = [m for m in modes if m not in MODES]
    if unknown or not modes:
        raise InvalidRequestError(
            f"unknown retrieval mode {', '.join(unknown) or repr(text)}; choose from {','.join(MODES)}"
        )
    return modes


@contextmanager
def _progress(label: str, total: int) -> Iterator[Tick]:
    from tqdm import tqdm

    started = time.perf_counter()
    with tqdm(total=total, desc=label, unit="q", disable=None, file=sys.stderr, leave=False) as bar:
        yield bar.update
    print(f"{label}: {total} in {time.perf_counter() - started:.1f} s", file=sys.stderr)


def handle(args: argparse.Namespace) -> int:
    """Run the evaluation the arguments describe; 3 when a floor is not met, 1 when a mode failed."""
    from eval.compare import compare, load_baseline, setting_differences
    from eval.datasets import load_dataset, select_queries
    from eval.gate import GATE_FAILED, check_floors, parse_floor
    from eval.harness import as_of_filters, evaluate, write_outputs

    modes = parse_modes(args.modes)
    floors = [parse_floor(text, modes) for text in args.fail_below]
    dataset = load_dataset(args.dataset, args.split, args.queries)
    baseline = load_baseline(args.compare) if args.compare else None
    qids = select_queries(
        dataset, limit=args.limit, sample=args.sample, seed=args.seed, ids_from=args.ids_from, part=args.part
    )
    if args.as_asked:
        as_of_filters(dataset, qids)  # every question dated, or a one-line error before indexing
    out = _run_folder(args.out or Path("runs") / f"{dataset.name}-{time.strftime('%Y%m%d-%H%M%S')}")
    engine, index = _open_engine(args, dataset)
    plan = _plan(args, qids, modes, engine)
    for difference in setting_differences(baseline.settings, plan.settings) if baseline else []:
        print(f"newsrag: warning: not like for like with the baseline, {difference}", file=sys.stderr)
    try:
        evaluation = evaluate(dataset, engine, index, plan, _progress)
    finally:
        engine.close()
    comparisons = compare(evaluation, baseline) if baseline else []
    failures = check_floors(floors, *_measured(evaluation))
    write_outputs(evaluation, out, comparisons, failures, str(args.compare) if args.compare else None)
    _print_summary(evaluation, comparisons, out)
    if evaluation.failed_modes:
        broken = "; ".join(f"{mode}: {error}" for mode, error in evaluation.failed_modes.items())
        print(f"newsrag: error: modes failed (the others are in {out}): {broken}", file=sys.stderr)
    if failures:
        print(f"newsrag: gate failed: {'; '.join(failures)}", file=sys.stderr)
        return GATE_FAILED
    return 1 if evaluation.failed_modes else 0


def _run_folder(folder: Path) -> Path:
    """Create the run folder before the long work, so a bad --out fails fast."""
    from rag.errors import InvalidRequestError

    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InvalidRequestError(f"cannot create the run folder {folder}: {exc.strerror or exc}") from None
    return folder


def _plan(args: argparse.Namespace, qids: list[str], modes: tuple[str, ...], engine: Engine) -> Plan:
    from eval.harness import Plan

    chunking = engine.config.chunking
    settings = {
        "dataset": str(args.dataset),
        "split": args.split,
        "queries file": args.queries,
        "modes": ",".join(modes),
        "index store": args.index_store,
        "model": f"{engine.embedder.name}, fingerprint {engine.embedder.fingerprint}",
        "chunking": f"{chunking.chunk_tokens} tokens, {chunking.overlap_tokens} overlap",
        "limit": args.limit,
        "sample": args.sample,
        "seed": args.seed if args.sample else None,
        "ids from": args.ids_from,
        "part": args.part,
        "as asked": "each question sees only documents published by its date" if args.as_asked else None,
        "started": time.strftime("%Y-%m-%d %H:%M:%S %z"),
    }
    return Plan(tuple(qids), modes, settings, as_asked=args.as_asked)


def _open_engine(args: argparse.Namespace, dataset: Dataset) -> tuple[Engine, IndexInfo]:
    from dataclasses import replace

    from tqdm import tqdm

    from eval.index_cache import open_indexed
    from rag.config import EngineConfig
    from rag.ingest.chunking import ChunkingConfig
    from rag.ingest.embedder import DEFAULT_BACKEND, EmbedderConfig, shared_embedder

    chunking = ChunkingConfig()
    if args.chunk_tokens is not None or args.overlap_tokens is not None:
        chunking = replace(
            chunking,
            chunk_tokens=args.chunk_tokens or chunking.chunk_tokens,
            overlap_tokens=chunking.overlap_tokens if args.overlap_tokens is None else args.overlap_tokens,
        )
    backend = getattr(args, "backend", None) or DEFAULT_BACKEND  # the global --backend of newsrag
    embedder_config = EmbedderConfig(
        model_path=args.model, backend=backend, onnx_cache=getattr(args, "onnx_cache", None)
    )
    config = EngineConfig(embedder=embedder_config, chunking=chunking)
    embedder = shared_embedder(config.embedder)
    with tqdm(total=len(dataset.documents), desc="index", unit="doc", disable=None, file=sys.stderr) as bar:
        engine, index = open_indexed(dataset, args.cache_dir, config, embedder, bar.update, args.index_store)
    state = "reused" if index.reused else f"built in {index.seconds:.1f} s"
    print(
        f"index: {index.documents} documents, {index.chunks} chunks ({state}) at {index.path}",
        file=sys.stderr,
    )
    return engine, index


def _measured(
    evaluation: Evaluation,
) -> tuple[dict[str, dict[str, float | None]], dict[str, float | None] | None]:
    from eval.scoring import MEASURED

    retrieval = {m.run.mode: dict(m.summary) for m in evaluation.modes}
    answers = dict(evaluation.answers.summary) if evaluation.answers.status == MEASURED else None
    return retrieval, answers


def _print_summary(evaluation: Evaluation, comparisons: list[Comparison], out: Path) -> None:
    from eval.report import answer_table, comparison_table, retrieval_table, timing_table

    print("\n".join(retrieval_table(evaluation)))
    print("\ntimings:\n" + "\n".join(timing_table(evaluation)))
    print("\nanswers:\n" + "\n".join(answer_table(evaluation)))
    if comparisons:
        print("\n" + "\n".join(comparison_table(comparisons)))
    print(f"\nrun folder: {out}")
