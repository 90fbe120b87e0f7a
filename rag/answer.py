"""Answer composition: pick the statements, merge outlets saying the same, cite, or abstain."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import tiktoken

from rag.chunking import ENCODING
from rag.sentences import FEATURES, Asked, Candidate, LinearModel
from rag.shortanswer import AnswerType, find_span
from rag.text import normalise
from rag.types import AnswerSentence, Citation, Passage, ShortAnswer, Source

ABSTAIN_MESSAGE = "The summaries do not answer this question."
CALIBRATION_FILE = Path(__file__).with_name("calibration.json")
CONFIDENCE_FEATURES = (
    "score",
    "similarity",
    "type_match",
    "margin",
    "idf_coverage",
    "doc_coverage",
    "entities",
    "passage_dense",
)
MARGIN_ALONE = 1.0  # the margin when every candidate is shown, or says what a shown one says


def load_calibration(path: Path = CALIBRATION_FILE) -> dict[str, Any]:
    """The sentence ranker and confidence model fitted on dev data by eval.calibrate."""
    data = dict(json.loads(path.read_text(encoding="utf-8")))
    if tuple(data["ranker"]["features"]) != FEATURES:
        raise ValueError(f"{path} was fitted on features {data['ranker']['features']}, not {FEATURES}")
    return data


_CALIBRATION = load_calibration()


def _model(name: str) -> LinearModel:
    part = _CALIBRATION[name]
    return LinearModel(float(part["bias"]), tuple(float(w) for w in part["weights"]))


@dataclass(frozen=True)
class AnswerConfig:
    """How answers are composed and when the service abstains (operating point in calibration.json)."""

    top_k: int = 5  # passages whose sentences compete
    max_sentences: int = 3
    token_budget: int = 140  # tiktoken tokens of answer text
    support_margin: float = 1.0  # a supporting sentence's ranker score is within this of the best
    duplicate_cosine: float = 0.93  # a sentence this similar to a chosen one is left out as redundant
    threshold: float = float(_CALIBRATION["threshold"])  # abstain below this confidence
    ranker: LinearModel = field(default_factory=lambda: _model("ranker"))
    confidence: LinearModel = field(default_factory=lambda: _model("confidence"))


def confidence_features(
    candidates: list[Candidate], groups: list[list[Candidate]], config: AnswerConfig
) -> tuple[float, ...]:
    """What confidence is computed from: the best sentence's ranker score, its lead over the best
    rival the answer leaves out, the best type match among the shown sentences, and the best
    sentence's own features named in CONFIDENCE_FEATURES. groups is select()'s answer."""
    best = candidates[0]
    rival = _rival(candidates, groups, config)
    own = {
        "score": best.score,
        "margin": best.score - rival.score if rival is not None else MARGIN_ALONE,
        "type_match": max(g[0].features[FEATURES.index("type_match")] for g in groups),
    }
    return tuple(
        own[name] if name in own else best.features[FEATURES.index(name)] for name in CONFIDENCE_FEATURES
    )


def _rival(
    candidates: list[Candidate], groups: list[list[Candidate]], config: AnswerConfig
) -> Candidate | None:
    """The best sentence the answer neither shows nor says in other words: a reading it passed
    over. A sentence shown beside the best one is no rival, whichever of the two holds the answer."""
    cited = {(c.doc_id, c.start) for group in groups for c in group}
    shown = [group[0] for group in groups]
    for candidate in candidates:
        if (candidate.doc_id, candidate.start) in cited:
            continue
        if any(_same_text(h, candidate) or _near_copy(h, candidate, config) for h in shown):
            continue
        return candidate
    return None


def confidence(
    asked: Asked, candidates: list[Candidate], groups: list[list[Candidate]], config: AnswerConfig
) -> float:
    """The probability that the answer (select()'s groups) holds what is asked, calibrated on dev
    data; 0 when it cannot: asked for someone's full name, the best sentence names nobody (the
    typed feature only lowers the odds, as a "when" may be answered by "after the vote", but a
    name is a name)."""
    if not candidates or not groups:
        return 0.0
    if asked.kind is AnswerType.FULL_NAME and short_answer(asked, candidates[0]) is None:
        return 0.0
    return config.confidence.probability(confidence_features(candidates, groups, config))


def select(candidates: list[Candidate], config: AnswerConfig) -> list[list[Candidate]]:
    """The answer's statements, best first: each a group of near-identical sentences."""
    encoding = tiktoken.get_encoding(ENCODING)
    groups: list[list[Candidate]] = []
    used = 0
    for candidate in candidates:
        twin = next((g for g in groups if _same_text(g[0], candidate)), None)
        if twin is not None:
            if all(c.doc_id != candidate.doc_id for c in twin):
                twin.append(candidate)
            continue
        if any(_near_copy(g[0], candidate, config) for g in groups):
            continue  # says nearly what a chosen sentence says, in other words: adds nothing
        if groups and (
            len(groups) >= config.max_sentences
            or candidate.score < groups[0][0].score - config.support_margin
        ):
            continue
        cost = len(encoding.encode(candidate.text, disallowed_special=()))
        if groups and used + cost > config.token_budget:
            continue
        groups.append([candidate])
        used += cost
    return _reading_order(groups)


def _same_text(a: Candidate, b: Candidate) -> bool:
    """One statement from two outlets: the same words (so each citation slices the shown sentence)."""
    return a.doc_id != b.doc_id and normalise(a.text) == normalise(b.text)


def _near_copy(a: Candidate, b: Candidate, config: AnswerConfig) -> bool:
    return float(np.dot(a.vector, b.vector)) >= config.duplicate_cosine


def _reading_order(groups: list[list[Candidate]]) -> list[list[Candidate]]:
    """The best first; the rest grouped by document, each document's sentences in their order."""
    if len(groups) <= 1:
        return groups
    best, rest = groups[0], groups[1:]
    doc_order: dict[str, int] = {}
    for group in groups:
        doc_order.setdefault(group[0].doc_id, len(doc_order))
    return [best, *sorted(rest, key=lambda g: (doc_order[g[0].doc_id], g[0].start))]


def cite(
    groups: list[list[Candidate]], passages: list[Passage]
) -> tuple[list[AnswerSentence], list[Source], str]:
    """Number the sources in order of first citation; build the sentences and the marked-up text."""
    by_doc = {p.doc_id: p for p in passages}
    numbers: dict[str, int] = {}
    sentences = []
    for group in groups:
        citations = []
        for c in group:
            number = numbers.setdefault(c.doc_id, len(numbers) + 1)
            citations.append(Citation(number=number, doc_id=c.doc_id, start=c.start, end=c.end))
        sentences.append(AnswerSentence(text=group[0].text, citations=tuple(citations), score=group[0].score))
    sources = [_source(number, by_doc[doc_id]) for doc_id, number in numbers.items()]
    text = " ".join(s.text + "".join(f"[{c.number}]" for c in s.citations) for s in sentences)
    return sentences, sources, text


def _source(number: int, p: Passage) -> Source:
    return Source(number, p.doc_id, p.title, p.source, p.url, p.published_at)


def short_answer(asked: Asked, best: Candidate) -> ShortAnswer | None:
    """The exact answer span inside the best sentence, with document offsets: of the expected type,
    and no name the conversation already gave."""
    span = find_span(asked.query, best.text, asked.kind)
    if span is None:
        return None
    start = best.start + span.start
    return ShortAnswer(
        text=span.text, doc_id=best.doc_id, start=start, end=best.start + span.end, score=span.score
    )
