"""Calibration: confidence is fitted to the answer a user is shown, and judged out of fold."""

from __future__ import annotations

import random

import numpy as np

from eval.calibrate import Example, answer_rows, cross_validate
from rag.sentences import FEATURES, Candidate, LinearModel

SIMILARITY_ONLY = LinearModel(0.0, (1.0,) + (0.0,) * (len(FEATURES) - 1))


def _candidate(doc_id: str, start: int, level: float, direction: int) -> Candidate:
    vector = np.zeros(16, dtype=np.float32)
    vector[direction] = 1.0
    text = f"Sentence {doc_id}-{start} of the summary."
    features = (level,) + (level / 2,) * (len(FEATURES) - 1)
    return Candidate(doc_id, start, start, start + len(text), text, vector, features)


def test_an_answer_is_right_when_any_sentence_it_shows_holds_the_gold() -> None:
    best, beside, far = _candidate("a", 0, 5.0, 0), _candidate("a", 40, 4.6, 1), _candidate("b", 0, 1.0, 2)
    shown_second = Example("set", (best, beside, far), (False, True, False), True)
    left_out = Example("set", (best, beside, far), (False, False, True), True)
    unanswerable = Example("set", (best, beside, far), (False, False, False), False)
    _, right = answer_rows([shown_second, left_out, unanswerable], SIMILARITY_ONLY)
    assert right.tolist() == [True, False, False]


def test_cross_validation_reports_each_set_out_of_fold() -> None:
    rng = random.Random(3)
    samples = []
    for n in range(60):
        answerable = n % 2 == 0
        gold = rng.randrange(4) if answerable else -1
        candidates = tuple(
            _candidate(f"d{n}", 100 * i, 0.9 if i == gold else rng.uniform(0.0, 0.3), i) for i in range(4)
        )
        samples.append(
            Example("news" if n < 30 else "wiki", candidates, tuple(i == gold for i in range(4)), answerable)
        )
    report = cross_validate(samples, folds=3, seed=1)
    assert set(report) == {"news", "wiki"}
    for figures in report.values():
        assert figures["answer_hit"] == 1.0 and figures["abstention_recall"] == 1.0
        assert figures["right_calls"] == 1.0
