"""The regression gate: --fail-below [MODE:]METRIC=VALUE floors checked against a run's metrics."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from eval.answer_metrics import ANSWER_METRICS
from eval.metrics import RETRIEVAL_METRICS
from rag.errors import InvalidRequestError

GATE_FAILED = 3  # exit code when a metric falls under its floor


@dataclass(frozen=True)
class Floor:
    """A minimum for one metric; mode None means every retrieval mode of the run (or the answers)."""

    metric: str
    value: float
    mode: str | None = None

    def label(self) -> str:
        """How the floor reads in messages: [mode:]metric."""
        return f"{self.mode}:{self.metric}" if self.mode else self.metric


def parse_floor(text: str, modes: Sequence[str]) -> Floor:
    """Parse '[MODE:]METRIC=VALUE'; InvalidRequestError names what is wrong."""
    target, sep, number = text.partition("=")
    if not sep or not target.strip() or not number.strip():
        raise InvalidRequestError(
            f"--fail-below {text!r} is not METRIC=VALUE (e.g. ndcg@10=0.6 or hybrid:recall@10=0.8)"
        )
    mode, _, metric = target.strip().rpartition(":")
    metric = metric.strip().lower()
    try:
        value = float(number)
    except ValueError:
        raise InvalidRequestError(f"--fail-below {text!r}: {number.strip()!r} is not a number") from None
    known = (*RETRIEVAL_METRICS, *ANSWER_METRICS)
    if metric not in known:
        raise InvalidRequestError(
            f"--fail-below {text!r}: unknown metric {metric!r}; choose one of {', '.join(known)}"
        )
    if mode and mode not in modes:
        raise InvalidRequestError(
            f"--fail-below {text!r}: mode {mode!r} is not among --modes {','.join(modes)}"
        )
    if mode and metric not in RETRIEVAL_METRICS:
        raise InvalidRequestError(f"--fail-below {text!r}: {metric} is an answer metric and takes no mode")
    return Floor(metric, value, mode or None)


def check_floors(
    floors: Sequence[Floor],
    retrieval: Mapping[str, Mapping[str, float | None]],
    answers: Mapping[str, float | None] | None,
) -> list[str]:
    """One message per floor not met; a floor on a metric the run did not measure is not met."""
    failures = []
    for floor in floors:
        if floor.metric in RETRIEVAL_METRICS:
            targets = [floor.mode] if floor.mode else list(retrieval)
            found = {mode: retrieval.get(mode, {}).get(floor.metric) for mode in targets}
        else:
            found = {"": (answers or {}).get(floor.metric)}
        for mode, value in found.items():
            name = f"{mode}:{floor.metric}" if mode else floor.metric
            if value is None:
                failures.append(f"{name} was not measured (floor {floor.value:g})")
            elif value < floor.value:
                failures.append(f"{name} = {value:.4f} < {floor.value:g}")
    return failures
