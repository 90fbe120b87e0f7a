"""Recency: an optional time decay of scores, and the filter of the period a question names."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime

from rag.language.dates import question_dates
from rag.retrieve.fusion import normalise, rank_scores
from rag.types import Filters

UNDATED_HALF_LIVES = 1.0  # an undated document is treated as one half-life older than the reference


def decay(
    ranked: Sequence[tuple[int, float]],
    dates: Mapping[int, datetime | None],
    half_life_days: float,
    reference: datetime | None = None,
) -> list[tuple[int, float]]:
    """Re-rank by s · 2^(−age / half-life), s the normalised score, age in days before reference.

    Scores are divided by the best one (min-max only if some are negative), so the pool's last
    item keeps its share instead of dropping to zero. The reference defaults to the newest dated
    item, so "latest" is relative to what matched; an undated item counts as UNDATED_HALF_LIVES
    half-lives old. half_life_days must be positive.
    """
    if half_life_days <= 0:
        raise ValueError(f"half-life of {half_life_days} days must be positive")
    known = [d for d in dates.values() if d is not None]
    if not ranked or not known:
        return list(ranked)
    newest = reference or max(known)
    scores = normalise(dict(ranked), "max" if min(s for _, s in ranked) >= 0 else "minmax")
    decayed = {}
    for item, score in scores.items():
        date = dates.get(item)
        half_lives = (
            max((newest - date).total_seconds(), 0.0) / 86400 / half_life_days
            if date is not None
            else UNDATED_HALF_LIVES
        )
        decayed[item] = score * 2.0 ** (-half_lives)
    return rank_scores(decayed)


def with_question_dates(question: str, filters: Filters | None) -> Filters | None:
    """The filters, with the start of the period the question names as the earliest publication date.

    News about "March 2024" is published from March 2024 on, but it keeps referring to the month
    long after, so the period's end bounds nothing (bounding both ends cost 0.011 nDCG@10 on
    RealTimeQA dev as asked: "founded in 2003", "the January 6, 2021 attack this week"). A later
    `from` already given wins; a period that starts after the filters' end, or after now, is
    left out: news anticipates it ("the 2030 games"). When the caller set no dates, undated
    documents still pass: the question's words are a hint, not the caller's restriction.
    """
    period = question_dates(question)
    given = filters or Filters()
    start, end = _utc(given.published_from), _utc(given.published_to)
    if period is None or period[0] > (end or datetime.now(UTC)):
        return filters
    undated = given.undated or (start is None and end is None)  # the caller set no dates of their own
    return replace(given, published_from=max(period[0], start or period[0]), undated=undated)


def _utc(moment: datetime | None) -> datetime | None:
    """A naive datetime read as UTC, as the store reads it."""
    return moment.replace(tzinfo=UTC) if moment is not None and moment.tzinfo is None else moment
