"""Retrieval stages without a model: query terms, fusion arithmetic, decay, dates, MMR, duplicates, ranker."""

from __future__ import annotations

import json
import math
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from rag.errors import InvalidRequestError, ModelNotFoundError
from rag.language.dates import question_dates
from rag.language.terms import query_terms
from rag.retrieve.dedupe import collapse_duplicates, jaccard, shingles
from rag.retrieve.diversity import mmr
from rag.retrieve.fusion import normalise, reciprocal_rank_fusion, score_fusion
from rag.retrieve.lexical import lexical_phrases
from rag.retrieve.ranker_model import FORMAT, LogisticRanker, Tree, TreeRanker, ranker_json, read_ranker
from rag.retrieve.recency import decay, with_question_dates
from rag.retrieve.rerank import DEFAULT_RANKER, FEATURES, load_ranker
from rag.types import Filters, Passage


def test_query_terms_keep_names_numbers_and_punctuated_forms() -> None:
    assert query_terms("Why did the U.S. send F-16s to Rzeszów for $1.44 billion?") == [
        "u.s.",
        "send",
        "f-16s",
        "rzeszów",
        "1.44",
        "billion",
    ]
    assert query_terms("Biden's 1,000 troops: COVID-19 in the 2020s") == [
        "biden",
        "1,000",
        "troops",
        "covid-19",
        "2020s",
    ]


def test_lexical_phrases_keep_each_term_whole_and_add_joined_spellings() -> None:
    assert lexical_phrases("the U.S. and F-16s for $1.44 billion") == (
        "u.s.",
        "us",
        "f",
        "16s",
        "f16s",
        "1.44",
        "billion",
    )
    assert lexical_phrases('1,000 "NEAR(x" OR what') == ("1,000", "1000", "near", "x")
    assert lexical_phrases("what is it?") == ()


def test_reciprocal_rank_fusion_by_hand() -> None:
    dense = [(1, 0.9), (2, 0.8), (3, 0.7)]
    lexical = [(3, 12.0), (1, 4.0)]
    fused = dict(reciprocal_rank_fusion([dense, lexical], k=60))
    assert fused[1] == pytest.approx(1 / 61 + 1 / 62)
    assert fused[3] == pytest.approx(1 / 63 + 1 / 61)
    assert fused[2] == pytest.approx(1 / 62)
    assert [i for i, _ in reciprocal_rank_fusion([dense, lexical], k=60)] == [1, 3, 2]
    weighted = dict(reciprocal_rank_fusion([dense, lexical], k=10, weights=[1.0, 2.0]))
    assert weighted[3] == pytest.approx(1 / 13 + 2 / 11)


def test_normalisers_by_hand() -> None:
    scores = {1: 2.0, 2: 4.0, 3: 6.0}
    assert normalise(scores, "minmax") == {1: 0.0, 2: 0.5, 3: 1.0}
    assert normalise(scores, "max") == pytest.approx({1: 1 / 3, 2: 2 / 3, 3: 1.0})
    sd = math.sqrt(8 / 3)
    assert normalise(scores, "zscore") == pytest.approx({1: -2 / sd, 2: 0.0, 3: 2 / sd})
    assert normalise({}, "minmax") == {}
    assert normalise({7: 3.0}, "minmax") == {7: 1.0}
    with pytest.raises(InvalidRequestError, match="unknown normaliser"):
        normalise(scores, "softmax")


def test_score_fusion_by_hand() -> None:
    dense = {1: 0.9, 2: 0.5, 3: 0.1}  # minmax: 1.0, 0.5, 0.0
    lexical = {1: 2.0, 3: 10.0}  # minmax: 0.0, 1.0; 2 is absent and gets the floor 0.0
    fused = score_fusion([dense, lexical], [0.5, 0.5], "minmax")
    assert fused == [(1, 0.5), (3, 0.5), (2, 0.25)]  # the tie goes to the smaller id
    assert score_fusion([dense, lexical], [0.8, 0.2]) == [(1, 0.8), (2, 0.4), (3, pytest.approx(0.2))]
    # One lexical match normalises to 1.0; the items that do not match stay at 0, not tied with it.
    only = score_fusion([dense, {3: 7.5}], [0.65, 0.35])
    assert only == [(1, pytest.approx(0.65)), (3, pytest.approx(0.35)), (2, pytest.approx(0.325))]
    assert [i for i, _ in score_fusion([dense, {}])] == [1, 2, 3]  # no lexical match at all
    with pytest.raises(InvalidRequestError, match="2 fusion weights given for 1"):
        score_fusion([dense], [0.5, 0.5])


def test_decay_halves_per_half_life_from_the_newest() -> None:
    dates = {
        1: datetime(2024, 3, 1, tzinfo=UTC),  # 30 days before the newest
        2: datetime(2024, 3, 31, tzinfo=UTC),
        3: None,
    }
    ranked = [(1, 10.0), (2, 6.0), (3, 2.0)]  # over the best: 1.0, 0.6, 0.2
    result = dict(decay(ranked, dates, half_life_days=30))
    assert result == pytest.approx({1: 0.5, 2: 0.6, 3: 0.1})  # undated: one half-life old
    assert [i for i, _ in decay(ranked, dates, half_life_days=90)] == [1, 2, 3]  # 1 → 0.79
    negative = dict(decay([(1, 1.0), (2, -1.0)], {1: None, 2: dates[2]}, half_life_days=30))
    assert negative == pytest.approx({1: 0.5, 2: 0.0})  # some negative: min-max
    assert decay(ranked, {}, half_life_days=10) == ranked
    with pytest.raises(ValueError, match="half-life"):
        decay(ranked, dates, half_life_days=0)


def test_question_dates_name_a_period() -> None:
    march = (datetime(2024, 3, 1, tzinfo=UTC), datetime(2024, 3, 31, 23, 59, 59, 999999, tzinfo=UTC))
    assert question_dates("What did the Fed decide in March 2024?") == march
    assert question_dates("the vote on 5 March 2024")[0] == datetime(2024, 3, 5, tzinfo=UTC)  # type: ignore[index]
    assert question_dates("Who won in 2023?")[1].year == 2023  # type: ignore[index]
    assert question_dates("the 2022 World Cup final") is None
    assert question_dates("Feb. 30, 2023") is None
    assert with_question_dates("Who won the 2022 World Cup?", None) is None
    # News about March 2024 comes out from March on, and keeps mentioning it after.
    since_2020 = Filters(published_from=datetime(2020, 1, 1, tzinfo=UTC))
    assert with_question_dates("in March 2024", since_2020) == Filters(published_from=march[0])
    # With no dates of the caller's, undated documents still pass the question's.
    assert with_question_dates("in March 2024", Filters(source="CNN")) == Filters(
        source="CNN", published_from=march[0], undated=True
    )
    naive = Filters(published_to=datetime(2024, 5, 1))  # read as UTC, as the store does
    assert with_question_dates("What happened in March 2024?", naive) == replace(
        naive, published_from=march[0]
    )
    later = Filters(published_from=datetime(2024, 3, 20, tzinfo=UTC))
    assert with_question_dates("in March 2024", later) == later
    # Asked on 10 March: the window keeps its end.
    asked = Filters(source="CNN", published_to=datetime(2024, 3, 10, 23, 59, tzinfo=UTC))
    assert with_question_dates("What did the Fed decide in March 2024?", asked) == replace(
        asked, published_from=march[0]
    )
    # Asked on 10 March 2024 about 2025, or today about the year 2999: the news comes before.
    assert with_question_dates("Who will host the games in 2025?", asked) is asked
    assert with_question_dates("Who will host the games in 2999?", None) is None


def _passage(chunk_id: int, doc_id: str, text: str, score: float) -> Passage:
    return Passage(chunk_id=chunk_id, doc_id=doc_id, start=0, end=len(text), text=text, score=score)


def test_mmr_prefers_a_novel_passage_over_a_near_copy() -> None:
    a, b, c = np.array([1.0, 0.0]), np.array([0.99, 0.141]), np.array([0.0, 1.0])
    pool = [_passage(1, "a", "x", 1.0), _passage(2, "b", "y", 0.9), _passage(3, "c", "z", 0.5)]
    vectors = {1: a, 2: b / np.linalg.norm(b), 3: c}
    # relevance 1.0, 0.8, 0.0; after 1: for 2, 0.5·0.8 − 0.5·0.99 < 0 = 0.5·0 − 0.5·0 for 3
    assert [p.chunk_id for p in mmr(pool, vectors, k=3, lam=0.5)] == [1, 3, 2]
    assert [p.chunk_id for p in mmr(pool, vectors, k=3, lam=0.7)] == [1, 2, 3]  # 0.56 − 0.297 > 0
    assert [p.chunk_id for p in mmr(pool, vectors, k=2, lam=1.0)] == [1, 2]  # λ = 1: relevance only


def test_duplicates_collapse_into_the_best_passage() -> None:
    story = "Germany will deploy Patriot missile units to Poland after a stray missile killed two people."
    pool = [
        _passage(1, "cnn-1", story, 0.9),
        _passage(2, "other", "Markets fell on Friday as oil prices rose.", 0.8),
        _passage(3, "week-7", story.replace("Germany", "Berlin"), 0.7),
    ]
    collapsed = collapse_duplicates(pool, {})  # 11 of 13 word 5-grams shared: Jaccard 0.85
    assert [(p.doc_id, p.also_reported_by) for p in collapsed] == [("cnn-1", ("week-7",)), ("other", ())]
    assert jaccard(shingles(story), shingles(story)) == 1.0
    with pytest.raises(ValueError, match="not a Jaccard threshold"):
        collapse_duplicates(pool, {}, overlap=0.0)
    same = np.ones(2) / 2**0.5
    by_vector = collapse_duplicates(pool, {1: same, 2: same}, cosine=0.95, overlap=1.1)
    assert [(p.doc_id, p.also_reported_by) for p in by_vector] == [("cnn-1", ("other",)), ("week-7", ())]


def _collapse_pairwise(
    pool: list[Passage], vectors: dict[int, np.ndarray]
) -> list[tuple[str, tuple[str, ...]]]:
    """The definition, pair by pair: each passage joins the first kept one from another document
    whose vector or 5-grams it nearly repeats."""
    kept: list[tuple[Passage, list[str]]] = []
    for p in pool:
        for other, reported in kept:
            a, b = vectors.get(p.chunk_id), vectors.get(other.chunk_id)
            near = a is not None and b is not None and float(a @ b) >= 0.95
            if other.doc_id != p.doc_id and (near or jaccard(shingles(p.text), shingles(other.text)) >= 0.8):
                if p.doc_id not in reported:
                    reported.append(p.doc_id)
                break
        else:
            kept.append((p, []))
    return [(p.doc_id, tuple(r)) for p, r in kept]


def test_collapse_agrees_with_the_pairwise_definition_on_a_large_pool() -> None:
    rng = np.random.default_rng(5)
    words = [f"w{i}" for i in range(60)]
    stories = [" ".join(rng.choice(words, size=int(rng.integers(3, 120)))) for _ in range(40)]
    pool, vectors = [], {}
    for i in range(300):
        story = int(rng.integers(len(stories)))
        text = stories[story].split()
        text[int(rng.integers(len(text)))] = str(rng.choice(words))  # an outlet's small edit
        pool.append(_passage(i, f"d{int(rng.integers(120))}", " ".join(text), 1 - i / 1000))
        if rng.random() < 0.8:  # some passages have no stored vector
            base = np.eye(8)[story % 8] + rng.normal(0, 0.15, 8)
            vectors[i] = base / np.linalg.norm(base)
    collapsed = collapse_duplicates(pool, vectors)
    assert [(p.doc_id, p.also_reported_by) for p in collapsed] == _collapse_pairwise(pool, vectors)
    assert 40 < len(collapsed) < 250  # duplicates found, and not everything a duplicate
    by_words_alone = _collapse_pairwise(pool, {})
    assert (
        len(by_words_alone) < 250
        and [(p.doc_id, p.also_reported_by) for p in collapse_duplicates(pool, {})] == by_words_alone
    )


def test_logistic_ranker_scores_by_its_formula() -> None:
    ranker = LogisticRanker(("a", "b"), mean=(1.0, 0.0), scale=(2.0, 1.0), coef=(1.0, -1.0), intercept=0.5)
    z = 0.5 + (3.0 - 1.0) / 2.0 - 1.0  # = 0.5
    assert ranker.score(np.array([[3.0, 1.0]]))[0] == pytest.approx(1 / (1 + math.exp(-z)))


def test_tree_ranker_walks_its_trees_and_survives_a_round_trip(tmp_path: Path) -> None:
    # root splits on b at 0.5: left leaf 1.0, right node splits on a at 2.0: leaves -1.0 and 3.0
    tree = Tree(
        feature=(1, -1, 0, -1, -1),
        threshold=(0.5, -2.0, 2.0, -2.0, -2.0),
        left=(1, -1, 3, -1, -1),
        right=(2, -1, 4, -1, -1),
        value=(0.0, 1.0, 0.0, -1.0, 3.0),
    )
    ranker = TreeRanker(("a", "b"), (tree, tree), learning_rate=0.5, intercept=-1.0)
    rows = np.array([[9.0, 0.0], [1.0, 1.0], [5.0, 1.0]])
    expected = [-1.0 + 0.5 * 2 * leaf for leaf in (1.0, -1.0, 3.0)]
    assert ranker.score(rows) == pytest.approx([1 / (1 + math.exp(-z)) for z in expected])
    (tmp_path / "trees.json").write_text(ranker_json(ranker, trained_on="by hand"))
    assert read_ranker(tmp_path / "trees.json", ("a", "b")) == ranker


def test_shipped_ranker_loads_and_bad_files_are_refused(tmp_path: Path) -> None:
    shipped = load_ranker(DEFAULT_RANKER)
    assert shipped.features == FEATURES
    assert shipped.score(np.zeros((3, len(FEATURES)))).shape == (3,)
    body = json.loads(DEFAULT_RANKER.read_text())
    assert body["format"] == FORMAT
    body["features"] = ["dense"]
    (tmp_path / "old.json").write_text(json.dumps(body))
    with pytest.raises(ModelNotFoundError, match="retrain"):
        load_ranker(tmp_path / "old.json")
    with pytest.raises(ModelNotFoundError, match="cannot read"):
        load_ranker(tmp_path / "missing.json")
