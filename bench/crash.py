"""kill -9 during `newsrag ingest`, many times: does every reopened store hold exactly whole batches?

Run: .venv/bin/python bench/crash.py [--trials 20] [--documents 160] [--seed 100]

Each trial starts `newsrag ingest --batch 20` on a fresh store, SIGKILLs it at a seeded
generation plus a seeded delay, reopens the store, checks it (whole committed batches,
every document with its chunks and sentences, chunk text == document text[start:end],
FAISS in step with SQLite, search works), re-runs the ingest and checks it ends complete.
The same checks as tests/test_reliability_crash.py, which runs three trials.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

# Replace this script's folder on the path: bench/http.py would shadow the standard library's http.
sys.path[0] = str(Path(__file__).resolve().parents[1] / "tests")

from test_reliability_crash import BATCH, run_trial, write_corpus  # noqa: E402

from rag.ingest.embedder import shared_embedder  # noqa: E402


def main() -> int:
    """Run the trials and print one line per trial and a summary; non-zero if any check failed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--documents", type=int, default=160)
    parser.add_argument("--seed", type=int, default=100)
    args = parser.parse_args()
    embedder = shared_embedder()
    tmp = Path(tempfile.mkdtemp(prefix="newsrag-crash-"))
    corpus = tmp / "corpus.jsonl"
    ids = write_corpus(corpus, args.documents)
    failures: list[str] = []
    kept: list[int] = []
    started = time.perf_counter()
    try:
        for seed in range(args.seed, args.seed + args.trials):
            t0 = time.perf_counter()
            try:
                trial = run_trial(tmp, corpus, ids, seed, embedder)
            except AssertionError as exc:
                failures.append(f"seed {seed}: {exc!r}")
                print(f"seed {seed}: FAILED {exc!r}", flush=True)
                continue
            kept.append(trial.documents_after_kill)
            state = "finished before the kill" if trial.finished_before_kill else "killed"
            print(
                f"seed {seed}: target generation {trial.target_generation}, {state} at generation "
                f"{trial.generation_at_kill}; {trial.documents_after_kill}/{len(ids)} documents kept, "
                f"store consistent, re-run complete ({time.perf_counter() - t0:.1f} s)",
                flush=True,
            )
            shutil.rmtree(tmp / f"store-{seed}", ignore_errors=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    mid = sum(0 < k < len(ids) for k in kept)
    print(
        f"\n{args.trials} trials in {time.perf_counter() - started:.0f} s: {len(failures)} failed; "
        f"{mid} killed mid-ingest with whole {BATCH}-document batches kept "
        f"(min {min(kept, default=0)}, max {max(kept, default=0)} of {len(ids)})"
    )
    for failure in failures:
        print(failure)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
