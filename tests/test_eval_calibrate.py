"""Calibration: confidence is fitted to the answer a user is shown, and judged out of fold."""

from __future__ import annotations

import random

from eval.calibrate import ReaderExample, best_findings, cross_validate, related_floor
from rag.compose.reading import READER_FEATURES
from rag.compose.sentences import LinearModel

ANSWERABILITY_ONLY = LinearModel(0.0, (1.0,) + (0.0,) * (len(READER_FEATURES) - 1))


def _features(answerable: float) -> tuple[float, ...]:
    return (answerable,) + (0.0,) * (len(READER_FEATURES) - 1)


def test_an_answer_is_right_when_any_statement_it_shows_holds_the_gold() -> None:
    # Probabilities 0.95, 0.92 and 0.05: the second is shown beside the best, the third is not.
    findings = (_features(3.0), _features(2.5), _features(-3.0))
    shown_second = ReaderExample("set", findings, (False, True, False), True, ())
    left_out = ReaderExample("set", findings, (False, False, True), True, ())
    unanswerable = ReaderExample("set", findings, (False, False, False), False, ())
    nothing_read = ReaderExample("set", (), (), True, ())
    probabilities, right = best_findings(
        [shown_second, left_out, unanswerable, nothing_read], ANSWERABILITY_ONLY
    )
    assert right.tolist() == [True, False, False, False]
    assert probabilities[3] == 0.0 and 0.95 < probabilities[0] < 0.96


def test_cross_validation_reports_each_set_out_of_fold() -> None:
    rng = random.Random(3)
    samples = []
    for n in range(60):
        answerable = n % 2 == 0
        gold = rng.randrange(4) if answerable else -1
        findings = tuple(_features(4.0 if i == gold else rng.uniform(-4.0, -2.0)) for i in range(4))
        samples.append(
            ReaderExample(
                "news" if n < 30 else "wiki", findings, tuple(i == gold for i in range(4)), answerable, ()
            )
        )
    report = cross_validate(samples, folds=3, seed=1)
    assert set(report) == {"news", "wiki"}
    for figures in report.values():
        assert figures["answer_hit"] == 1.0 and figures["abstention_recall"] == 1.0
        assert figures["right_calls"] == 1.0


def test_the_related_floor_keeps_all_but_the_lowest_twentieth_of_right_passages() -> None:
    samples = [ReaderExample("set", (), (), True, (i / 100,)) for i in range(101)]
    assert related_floor(samples) == 0.05
    assert related_floor([]) == 0.0
