"""Answer metrics on engine.ask's composed answers: hits, SQuAD EM/F1, citations, abstention."""

from __future__ import annotations

import re
import string
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from eval.datasets import AnswerKey
from rag.types import Answer

_ARTICLES = re.compile(r"\b(a|an|the)\b", re.UNICODE)
_PUNCTUATION = frozenset(string.punctuation)
_SPLITTING = frozenset({"Ps", "Pe", "Pi", "Pf"})  # brackets and quotes split words
_CLAUSE_DASHES = frozenset("—―⸺⸻")  # so do em dashes; hyphens and en dashes join, as SQuAD's "-" does
_POSSESSIVE = re.compile(r"(?<=\w)[’'](?:s\b|(?=\s|$))")

# Summary names, in report order; the first four are per-question means that can be paired.
ANSWER_METRICS = (
    "answer_hit",
    "answer_hit_first",
    "em",
    "f1",
    "em_answered",
    "f1_answered",
    "short_answers",
    "citation_precision",
    "abstention_precision",
    "abstention_recall",
    "abstention_rate",
    "bad_citations",
)
PAIRED_ANSWER_METRICS = ("answer_hit", "answer_hit_first", "em", "f1")


def normalize_answer(text: str) -> str:
    """SQuAD's official normalisation: lower case, drop punctuation and a/an/the, fold whitespace."""
    text = "".join(ch for ch in text.lower() if ch not in _PUNCTUATION)
    return " ".join(_ARTICLES.sub(" ", text).split())


def exact_match(prediction: str, golds: Sequence[str]) -> float:
    """EM = max over golds of [normalise(prediction) == normalise(gold)]; 0.0 when golds is empty."""
    return max((float(normalize_answer(prediction) == normalize_answer(g)) for g in golds), default=0.0)


def token_f1(prediction: str, gold: str) -> float:
    """SQuAD F1 = 2PR / (P + R) over normalised tokens, shared ones with multiplicity; 0.0 on no overlap."""
    predicted, expected = normalize_answer(prediction).split(), normalize_answer(gold).split()
    if not predicted or not expected:
        return float(predicted == expected)
    shared = sum((Counter(predicted) & Counter(expected)).values())
    if shared == 0:
        return 0.0
    precision, recall = shared / len(predicted), shared / len(expected)
    return 2 * precision * recall / (precision + recall)


def f1(prediction: str, golds: Sequence[str]) -> float:
    """F1 = max over golds of token_f1(prediction, gold); 0.0 when golds is empty."""
    return max((token_f1(prediction, g) for g in golds), default=0.0)


def contains_answer(text: str, golds: Sequence[str]) -> bool:
    """True when some gold appears in text as whole tokens; False for no golds.

    Both sides are normalised as SQuAD does, after a possessive is dropped, em dashes, brackets
    and quotes split words and other Unicode punctuation is deleted: "Latvia’s assertion" holds
    the answer "Latvia", "inaction—allowing" holds "inaction", while "3-2", "2020–21" and "U.S."
    stay one word each ("32", "202021", "us"), so "2" is not found in a score.
    """
    padded = f" {_hit_form(text)} "
    return any(n and f" {n} " in padded for n in (_hit_form(g) for g in golds))


def _hit_form(text: str) -> str:
    kept = []
    for ch in _POSSESSIVE.sub("", text):
        category = unicodedata.category(ch)
        splits = (category in _SPLITTING and ch not in "’‘") or ch in _CLAUSE_DASHES  # ’ joins, as ' does
        kept.append(" " if splits else "" if category[0] == "P" else ch)
    return normalize_answer("".join(kept))


@dataclass(frozen=True)
class AnswerOutcome:
    """How one composed answer scores; None where a measure does not apply to the question."""

    abstained: bool
    impossible: bool | None
    hit: float | None  # None: unanswerable, no gold answer, or the answer is not in the evidence
    hit_first: float | None
    em: float | None  # None: no short answer returned, or no gold to compare with
    f1: float | None
    cited: tuple[str, ...]  # distinct cited doc ids
    cited_relevant: int | None  # None: the question has no qrels
    bad_citations: int


def score_answer(
    answer: Answer,
    key: AnswerKey,
    relevant: Mapping[str, int] | None,
    document_text: Callable[[str], str | None],
) -> AnswerOutcome:
    """Score one answer against its key, its relevant documents and the stored document texts."""
    eligible = bool(key.answers) and not key.is_impossible and key.answer_in_evidence is not False
    sentences = [s.text for s in answer.sentences] if not answer.abstained else []
    short = answer.short_answer.text if answer.short_answer and eligible else None
    cited = tuple(dict.fromkeys(c.doc_id for s in answer.sentences for c in s.citations))
    return AnswerOutcome(
        abstained=answer.abstained,
        impossible=key.is_impossible,
        hit=float(contains_answer(" ".join(sentences), key.answers)) if eligible else None,
        hit_first=float(contains_answer(sentences[0] if sentences else "", key.answers))
        if eligible
        else None,
        em=exact_match(short, key.answers) if short is not None else None,
        f1=f1(short, key.answers) if short is not None else None,
        cited=cited,
        cited_relevant=sum(1 for d in cited if relevant.get(d, 0) > 0) if relevant else None,
        bad_citations=count_bad_citations(answer, document_text),
    )


def count_bad_citations(answer: Answer, document_text: Callable[[str], str | None]) -> int:
    """Citations whose offsets do not slice exactly their sentence out of the cited document."""
    texts: dict[str, str | None] = {}
    bad = 0
    for sentence in answer.sentences:
        for citation in sentence.citations:
            if citation.doc_id not in texts:
                texts[citation.doc_id] = document_text(citation.doc_id)
            text = texts[citation.doc_id]
            if text is None or text[citation.start : citation.end] != sentence.text:
                bad += 1
    return bad


def _share(flags: Iterable[float | None]) -> float | None:
    values = [v for v in flags if v is not None]
    return sum(values) / len(values) if values else None


def summarize_answers(outcomes: Sequence[AnswerOutcome]) -> dict[str, float | None]:
    """The ANSWER_METRICS over all outcomes; a measure with an empty population is None."""
    eligible = [o for o in outcomes if o.hit is not None]
    judged = [o for o in outcomes if o.cited_relevant is not None and o.cited]
    cited = sum(len(o.cited) for o in judged)
    keyed = [o for o in outcomes if o.impossible is not None]
    abstained = [o for o in keyed if o.abstained]
    impossible = [o for o in keyed if o.impossible]
    return {
        "answer_hit": _share(o.hit for o in eligible),
        "answer_hit_first": _share(o.hit_first for o in eligible),
        # SQuAD's way: over every answerable question, a missing short answer scoring 0 ...
        "em": _share(o.em or 0.0 for o in eligible),
        "f1": _share(o.f1 or 0.0 for o in eligible),
        # ... and over those given a short answer only.
        "em_answered": _share(o.em for o in outcomes),
        "f1_answered": _share(o.f1 for o in outcomes),
        "short_answers": _share(float(o.em is not None) for o in eligible),
        "citation_precision": sum(o.cited_relevant or 0 for o in judged) / cited if cited else None,
        "abstention_precision": _share(float(bool(o.impossible)) for o in abstained),
        "abstention_recall": _share(float(o.abstained) for o in impossible),
        "abstention_rate": _share(float(o.abstained) for o in outcomes),
        "bad_citations": float(sum(o.bad_citations for o in outcomes)),
    }


def paired_values(outcome: AnswerOutcome) -> dict[str, float | None]:
    """The per-question values whose means are PAIRED_ANSWER_METRICS (for significance tests)."""
    return {
        "answer_hit": outcome.hit,
        "answer_hit_first": outcome.hit_first,
        "em": None if outcome.hit is None else outcome.em or 0.0,
        "f1": None if outcome.hit is None else outcome.f1 or 0.0,
    }
