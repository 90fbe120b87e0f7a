"""Which questions train the reader, which calibrate it, and which are held out for every figure.

SQuAD 2.0 dev is split by whole article (a paragraph's neighbours share its facts, so a split by
question would leak); the split depends only on the article's title, so it is the same on every
machine and for every caller. RealTimeQA is split by year: 2020-2021 may train, 2022 on is held
out (as the retrieval figures already are). SQuAD's own train fragments are all training data.
"""

from __future__ import annotations

import hashlib
from typing import Literal

Split = Literal["train", "calibration", "test"]

# Of SQuAD 2.0 dev's 35 articles: 10 held out for figures, 5 for calibration, 20 for training.
TEST_ARTICLES = 10
CALIBRATION_ARTICLES = 5
RTQA_HELD_OUT_FROM = 2022


def squad_article(corpus_id: str) -> str:
    """The article a SQuAD dev paragraph id belongs to: "Normans_0" -> "Normans"."""
    return corpus_id.rsplit("_", 1)[0]


def _rank(article: str) -> str:
    return hashlib.sha256(article.encode("utf-8")).hexdigest()


def squad_splits(articles: set[str]) -> dict[str, Split]:
    """Each article's split: the articles ordered by the SHA-256 of their title, the first
    TEST_ARTICLES held out, the next CALIBRATION_ARTICLES for calibration, the rest for training."""
    ordered = sorted(articles, key=_rank)
    splits: dict[str, Split] = {}
    for position, article in enumerate(ordered):
        if position < TEST_ARTICLES:
            splits[article] = "test"
        elif position < TEST_ARTICLES + CALIBRATION_ARTICLES:
            splits[article] = "calibration"
        else:
            splits[article] = "train"
    return splits


def rtqa_split(date: str) -> Split:
    """A RealTimeQA question's split by the year of its date ("2021/05/07" or "2022-01-07")."""
    return "test" if int(date[:4]) >= RTQA_HELD_OUT_FROM else "train"
