"""Answer composition: the reader's best finding first, supporting findings after it, outlets
saying the same merged, every statement cited; or an abstention."""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import tiktoken

from rag.compose.reading import READER_FEATURES, Finding, Rounds, leans_back
from rag.compose.sentences import FEATURES, Candidate, LinearModel
from rag.ingest.chunking import ENCODING
from rag.language.text import normalise
from rag.models import MODEL_DIR
from rag.types import AnswerSentence, Citation, Passage, ShortAnswer, Source

ABSTAIN_MESSAGE = "The summaries do not answer this question."
CALIBRATION_FILE = MODEL_DIR / "calibration.json"


def load_calibration(path: Path = CALIBRATION_FILE) -> dict[str, Any]:
    """The sentence ranker and the reader's confidence model fitted on dev data by eval.calibrate."""
    data = dict(json.loads(path.read_text(encoding="utf-8")))
    if tuple(data["ranker"]["features"]) != FEATURES:
        raise ValueError(f"{path} was fitted on features {data['ranker']['features']}, not {FEATURES}")
    if tuple(data["reader"]["features"]) != READER_FEATURES:
        raise ValueError(
            f"{path} was fitted on reader features {data['reader']['features']}, not {READER_FEATURES}"
        )
    return data


@functools.cache
def shipped_calibration() -> dict[str, Any]:
    """The shipped calibration.json, read once, when the first AnswerConfig is made."""
    return load_calibration()


def _model(name: str) -> LinearModel:
    part = shipped_calibration()[name]
    return LinearModel(float(part["bias"]), tuple(float(w) for w in part["weights"]))


def _number(name: str) -> float:
    return float(shipped_calibration()[name])


@dataclass(frozen=True)
class AnswerConfig:
    """How answers are composed and when the service abstains (operating point in calibration.json)."""

    top_k: int = 5  # passages whose sentences compete
    read_windows: int = 5  # windows the reader reads, around the sentence ranker's best sentences
    read_first: int | None = None  # of those, read first; the rest only when no finding is read_enough
    read_enough: float = 1.0
    max_sentences: int = 3
    support_share: float = 0.5  # a supporting statement is at least this share as probable as the best
    token_budget: int = 140  # tiktoken tokens of answer text
    duplicate_cosine: float = 0.93  # a sentence this similar to a chosen one is left out as redundant
    # Abstain below this confidence; a related passage needs this dense cosine.
    threshold: float = field(default_factory=lambda: _number("threshold"))
    related_floor: float = field(default_factory=lambda: _number("related_floor"))
    ranker: LinearModel = field(default_factory=lambda: _model("ranker"))
    reader: LinearModel = field(default_factory=lambda: _model("reader"))

    @property
    def rounds(self) -> Rounds:
        """How the reader reads under these settings."""
        return Rounds(self.reader, self.read_windows, self.read_first, self.read_enough)


def compose(
    findings: list[Finding], candidates: list[Candidate], documents: Mapping[str, str], config: AnswerConfig
) -> list[list[Candidate]]:
    """The answer's statements, best first: the best finding's sentence (with the sentence before
    it when it opens with "He", "This" …), then other findings at least support_share as probable,
    within max_sentences and the token budget; each statement a group of the same sentence from
    every outlet that printed it."""
    encoding = tiktoken.get_encoding(ENCODING)
    groups: list[list[Candidate]] = []
    used = 0
    for finding in findings:
        candidate = finding.sentence
        floor = config.support_share * findings[0].probability
        if groups and (len(groups) >= config.max_sentences or finding.probability < floor):
            break
        if any(
            c.doc_id == candidate.doc_id and c.start <= candidate.start < c.end for g in groups for c in g
        ):
            continue  # already shown
        if any(_same_text(g[0], candidate) or _near_copy(g[0], candidate, config) for g in groups):
            continue
        cost = len(encoding.encode(candidate.text, disallowed_special=()))
        if groups and used + cost > config.token_budget:
            continue
        lead = with_antecedent(candidate, candidates, documents) if not groups else candidate
        # The same statement from other outlets, cited beside it (each citation slices its own text).
        twins = [with_antecedent(c, candidates, documents) if not groups else c for c in candidates]
        group = [lead, *[t for t in twins if _same_text(lead, t)]]
        groups.append([replace(c, score=finding.probability) for c in {c.doc_id: c for c in group}.values()])
        used += cost
    return _reading_order(groups)


def with_antecedent(
    sentence: Candidate, candidates: list[Candidate], documents: Mapping[str, str]
) -> Candidate:
    """The sentence, or the span from the sentence before it to its end when it leans back on it
    ("He said …"), so the answer never starts mid-thought; the text is the document's own slice."""
    if not leans_back(sentence.text):
        return sentence
    before = [c for c in candidates if c.doc_id == sentence.doc_id and c.end <= sentence.start]
    if not before:
        return sentence
    previous = max(before, key=lambda c: c.end)
    if previous.ordinal != sentence.ordinal - 1:
        return sentence
    text = documents[sentence.doc_id][previous.start : sentence.end]
    return replace(sentence, start=previous.start, text=text)


def short_answer(finding: Finding, documents: Mapping[str, str]) -> ShortAnswer | None:
    """The reader's span as the short answer, with document offsets (document[start:end] == text)."""
    text = documents[finding.sentence.doc_id]
    start, end = finding.span_start, finding.span_end
    while start < end and text[start].isspace():
        start += 1
    while end > start and (text[end - 1].isspace() or text[end - 1] in ",;:"):
        end -= 1
    if end <= start:
        return None
    return ShortAnswer(
        text=text[start:end], doc_id=finding.sentence.doc_id, start=start, end=end, score=finding.probability
    )


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
    groups: list[list[Candidate]], passages: list[Passage], documents: Mapping[str, str]
) -> tuple[list[AnswerSentence], list[Source], str]:
    """Number the sources in order of first citation; build the sentences and the marked-up text.
    documents (id to text) give a source without title or outlet its label."""
    by_doc = {p.doc_id: p for p in passages}
    numbers: dict[str, int] = {}
    sentences = []
    for group in groups:
        citations = []
        for c in group:
            number = numbers.setdefault(c.doc_id, len(numbers) + 1)
            citations.append(Citation(number=number, doc_id=c.doc_id, start=c.start, end=c.end))
        sentences.append(AnswerSentence(text=group[0].text, citations=tuple(citations), score=group[0].score))
    sources = [
        _source(number, by_doc[doc_id], documents.get(doc_id, by_doc[doc_id].text))
        for doc_id, number in numbers.items()
    ]
    text = " ".join(s.text + "".join(f"[{c.number}]" for c in s.citations) for s in sentences)
    return sentences, sources, text


def _source(number: int, p: Passage, text: str) -> Source:
    label = source_label(p.title, p.source, text)
    return Source(number, p.doc_id, p.title, p.source, p.url, p.published_at, label)


LABEL_WORDS = 8


def source_label(title: str | None, outlet: str | None, text: str) -> str:
    """What a reader sees a source called: its title, else its outlet, else the summary's first
    words ("Germany will send Patriot missile units to…")."""
    for name in (title, outlet):
        if name and name.strip():
            return " ".join(name.split())
    words = text.split(maxsplit=LABEL_WORDS)
    return " ".join(words[:LABEL_WORDS]) + ("…" if len(words) > LABEL_WORDS else "")
