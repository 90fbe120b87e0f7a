"""Learned ranker models as plain JSON: logistic regression or boosted trees, scored with numpy."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from rag.errors import ModelNotFoundError

FORMAT = "newsrag-ranker/1"
_NODE_FIELDS = ("feature", "threshold", "left", "right", "value")


class Ranker(Protocol):
    """Anything that turns a (n, len(features)) feature matrix into n relevance scores."""

    @property
    def features(self) -> tuple[str, ...]: ...

    def score(self, matrix: np.ndarray) -> np.ndarray: ...


@dataclass(frozen=True)
class LogisticRanker:
    """p = σ(b + Σ w_i · (x_i − mean_i) / scale_i)."""

    features: tuple[str, ...]
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    coef: tuple[float, ...]
    intercept: float

    def score(self, matrix: np.ndarray) -> np.ndarray:
        """Relevance probabilities of the rows."""
        z = (matrix - np.asarray(self.mean)) / np.asarray(self.scale)
        return _sigmoid(z @ np.asarray(self.coef) + self.intercept)


@dataclass(frozen=True)
class Tree:
    """A regression tree as parallel node arrays; a leaf has feature −1. Goes left when x <= threshold."""

    feature: tuple[int, ...]
    threshold: tuple[float, ...]
    left: tuple[int, ...]
    right: tuple[int, ...]
    value: tuple[float, ...]

    def predict(self, matrix: np.ndarray) -> np.ndarray:
        """The leaf value each row reaches."""
        feature, threshold = np.asarray(self.feature), np.asarray(self.threshold)
        left, right = np.asarray(self.left), np.asarray(self.right)
        node = np.zeros(len(matrix), dtype=np.int64)
        rows = np.arange(len(matrix))
        while True:
            inner = feature[node] >= 0
            if not inner.any():
                return np.asarray(self.value)[node]
            goes_left = matrix[rows, np.maximum(feature[node], 0)] <= threshold[node]
            node = np.where(inner, np.where(goes_left, left[node], right[node]), node)


@dataclass(frozen=True)
class TreeRanker:
    """p = σ(b + rate · Σ_trees tree(x)): gradient-boosted trees on the raw features."""

    features: tuple[str, ...]
    trees: tuple[Tree, ...]
    learning_rate: float
    intercept: float

    def score(self, matrix: np.ndarray) -> np.ndarray:
        """Relevance probabilities of the rows (features compared in float32, as they were in training)."""
        x = np.asarray(matrix, dtype=np.float32).astype(np.float64)
        total = sum((tree.predict(x) for tree in self.trees), np.zeros(len(x)))
        return _sigmoid(self.intercept + self.learning_rate * total)


def ranker_json(ranker: LogisticRanker | TreeRanker, **about: object) -> str:
    """The model as JSON, with free-form notes (training data, metrics) under "about"."""
    body: dict[str, object] = {"format": FORMAT, "features": list(ranker.features)}
    if isinstance(ranker, LogisticRanker):
        body.update(kind="logistic", mean=list(ranker.mean), scale=list(ranker.scale))
        body.update(coef=list(ranker.coef), intercept=ranker.intercept)
    else:
        trees = [{k: list(getattr(t, k)) for k in _NODE_FIELDS} for t in ranker.trees]
        body.update(kind="trees", learning_rate=ranker.learning_rate, intercept=ranker.intercept, trees=trees)
    body["about"] = about
    return json.dumps(body, separators=(",", ":"))


def read_ranker(path: Path, features: tuple[str, ...]) -> LogisticRanker | TreeRanker:
    """Read a ranker JSON file over the given features; a missing, foreign or mismatched file is refused."""
    try:
        body = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ModelNotFoundError(f"cannot read the ranker model {path}: {exc}") from None
    if body.get("format") != FORMAT or tuple(body.get("features", ())) != features:
        raise ModelNotFoundError(
            f"{path} is not a {FORMAT} model over this version's features: "
            "retrain it with bench/train_ranker.py"
        )
    if body.get("kind") == "logistic":
        return LogisticRanker(
            features, tuple(body["mean"]), tuple(body["scale"]), tuple(body["coef"]), float(body["intercept"])
        )
    if body.get("kind") == "trees":
        trees = tuple(Tree(**{k: tuple(v) for k, v in t.items()}) for t in body["trees"])
        return TreeRanker(features, trees, float(body["learning_rate"]), float(body["intercept"]))
    raise ModelNotFoundError(f"{path} holds a ranker of unknown kind {body.get('kind')!r}")


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return np.asarray(1.0 / (1.0 + np.exp(-z)))
