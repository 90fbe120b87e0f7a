"""What each sentence-ranker feature earns now that the reader decides: the share of answerable
questions whose gold-holding sentence is among the ranker's first --read (the windows the reader
reads), out of fold, with each feature set refitted.

    python -m bench.ranker_ablation ROWS.json --features f1,f2,... [--drop a,b --drop c]

ROWS.json is eval.calibrate's ranker cache (--examples DIR writes DIR/ranker.json); --features
names its columns in order (the FEATURES of the code that collected it).
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

import numpy as np

from eval.calibrate import RankerExample, fit_ranker

FOLDS = 5


def recall_at(samples: list[RankerExample], columns: list[int], read: int, seed: int) -> dict[str, float]:
    """Out-of-fold share of answerable questions with a gold sentence in the top `read`, per set."""
    order = list(range(len(samples)))
    random.Random(seed).shuffle(order)
    fold_of = {i: n % FOLDS for n, i in enumerate(order)}
    hits: dict[str, list[float]] = {}
    for fold in range(FOLDS):
        train = [_project(s, columns) for i, s in enumerate(samples) if fold_of[i] != fold]
        model = fit_ranker(train)
        for i, s in enumerate(samples):
            if fold_of[i] != fold or not any(s.labels):
                continue
            x = np.asarray(s.features)[:, columns]
            ranked = np.argsort(-(x @ np.asarray(model.weights)), kind="stable")[:read]
            hits.setdefault(s.dataset, []).append(float(any(s.labels[j] for j in ranked)))
    return {name: float(np.mean(values)) for name, values in sorted(hits.items())}


def _project(sample: RankerExample, columns: list[int]) -> RankerExample:
    return RankerExample(
        sample.dataset, tuple(tuple(f[c] for c in columns) for f in sample.features), sample.labels
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("rows", type=Path)
    parser.add_argument("--features", required=True)
    parser.add_argument(
        "--drop", action="append", default=[], help="comma-separated features to drop (repeatable)"
    )
    parser.add_argument("--read", type=int, default=5)
    parser.add_argument("--seed", type=int, default=3)
    args = parser.parse_args()
    names = args.features.split(",")
    rows = json.loads(args.rows.read_text(encoding="utf-8"))
    samples = [
        RankerExample(r["dataset"], tuple(map(tuple, r["features"])), tuple(r["labels"]))
        for r in rows
        if r["features"]
    ]
    for drop in ["", *args.drop]:
        dropped = set(filter(None, drop.split(",")))
        columns = [i for i, n in enumerate(names) if n not in dropped]
        for read in (1, args.read):
            figures = recall_at(samples, columns, read, args.seed)
            print(f"without {sorted(dropped) or 'nothing'}, gold in the top {read}: {json.dumps(figures)}")


if __name__ == "__main__":
    main()
