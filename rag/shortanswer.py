"""Short answers: the span inside a sentence that matches the question's expected answer type."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

from rag.places import is_place_or_people, same_place
from rag.text import STOP_WORDS, content_terms


class AnswerType(Enum):
    """What kind of thing a question asks for."""

    DATE = "date"
    NUMBER = "number"
    DURATION = "duration"
    PERSON = "person"
    FULL_NAME = "full name"  # "the name of the envoy": a person's names, two words at least
    PLACE = "place"
    NAME = "name"


_MONTH = r"(?:January|February|March|April|May|June|July|August|September|October|November|December)"
_DAY = r"(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)"
_NUMBER_WORD = (
    r"(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|twenty|thirty|forty|"
    r"fifty|hundred|dozens|hundreds|thousands|millions|several|a few)"
)
_YEAR_DIGITS = r"(?:1[5-9]|20)\d\d"  # a year from 1500 to 2099
_FIGURE = r"(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?"  # 1,500 or 4.2
_SCALE = r"(?:%|percent|per cent|million|billion|trillion|thousand)"
_UNIT = r"(?:seconds?|minutes?|hours?|days?|weeks?|months?|years?|decades?|centuries)"
# News dates a thing relative to now or to another event: "next week", "on his first day in office".
_RELATIVE = r"(?:this|next|last|past|coming|previous|following|same|first|final)"
_PERIOD = r"(?:day|week|weekend|month|year|season|spring|summer|autumn|fall|winter|decade)"
# Lower-case words inside names: Ursula von der Leyen, Juan de la Cruz, Bashar al-Assad.
_PARTICLES = r"(?:(?:de|da|di|du|del|della|der|den|van|von|bin|ibn|la|le|ter|ten|dos|das)\s+)*(?:al-)?"
_PATTERNS: dict[AnswerType, re.Pattern[str]] = {
    AnswerType.DATE: re.compile(
        rf"\b(?:(?:early|late|mid-?)\s*)?{_MONTH}(?:\s+\d{{1,2}}(?:st|nd|rd|th)?)?(?:,?\s+\d{{4}})?\b"
        rf"|\b\d{{1,2}}\s+{_MONTH}(?:\s+\d{{4}})?\b|\b{_DAY}\b|\b{_YEAR_DIGITS}\b"
        rf"|\b\d{{1,2}}(?:st|nd|rd|th)\s+century\b"
        rf"|(?i:\b(?:yesterday|today|tomorrow|tonight)\b|\b{_RELATIVE}\s+{_PERIOD}(?:\s+in\s+office)?\b"
        rf"|(?<![\d.])\b(?:\d+(?:\.\d+)?|{_NUMBER_WORD}|a|an)\s+{_UNIT}\s+(?:ago|later|earlier)\b)"
    ),
    AnswerType.DURATION: re.compile(
        rf"\b(?:up to\s+)?(?:\d[\d,.]*|{_NUMBER_WORD})\s+{_UNIT}\b", re.IGNORECASE
    ),
    AnswerType.NUMBER: re.compile(
        # a range is one answer ("100–150", "12 to 15 million"), not "from 5 to 10 percent"
        rf"(?<!from )(?:[$€£]\s?)?\b{_FIGURE}\s+to\s+(?:[$€£]\s?)?{_FIGURE}\s?{_SCALE}"
        rf"|(?:[$€£]\s?)?\b{_FIGURE}(?:\s?[–-]\s?(?:[$€£]\s?)?{_FIGURE})?(?:\s?{_SCALE}|(?:bn|mn|m|k)\b)?"
        rf"|\b{_NUMBER_WORD}\b(?:\s+(?:million|billion|thousand))?",
        re.IGNORECASE,
    ),
    AnswerType.PERSON: re.compile(rf"\b[A-Z][\w’'.-]+(?:\s+{_PARTICLES}[A-Z][\w’'.-]+)*"),
}
_PATTERNS[AnswerType.FULL_NAME] = _PATTERNS[AnswerType.PERSON]
_PATTERNS[AnswerType.PLACE] = _PATTERNS[AnswerType.PERSON]
_PATTERNS[AnswerType.NAME] = _PATTERNS[AnswerType.PERSON]
_ROLE = (
    r"(?:person|leader|official|president|minister|chancellor|envoy|ambassador|spokes(?:person|man|woman)"
    r"|secretary|governor|mayor|premier|chief|head|ceo|director|chairman|chair|commander|judge)"
)
_RULES: list[tuple[re.Pattern[str], AnswerType]] = [
    (
        re.compile(
            # "the name of Germany's defense minister", not "the name of the president's party"
            rf"\b(?:full )?name of (?:the |his |her |its |their |\w+[’']s )?(?:[\w-]+ ){{0,2}}"
            rf"{_ROLE}s?\b(?![’'-])",
            re.I,
        ),
        AnswerType.FULL_NAME,
    ),
    (re.compile(r"^\s*how (long|soon)\b|\bfor how long\b", re.I), AnswerType.DURATION),
    (
        re.compile(r"^\s*when\b|\bwhat (year|date|month|day|time|decade|century)\b|\bsince when\b", re.I),
        AnswerType.DATE,
    ),
    (
        re.compile(r"\bhow (many|much)\b|\bwhat (percentage|percent|number|amount|share)\b", re.I),
        AnswerType.NUMBER,
    ),
    # "Whose troops?": a country or a people may own them, so any name, not only a person's.
    (re.compile(r"^\s*whose\b", re.I), AnswerType.NAME),
    (
        re.compile(
            r"^\s*(who|whom)\b|\b(which|what) "
            r"(person|leader|official|president|minister|chancellor|envoy|ambassador|spokesperson)\b",
            re.I,
        ),
        AnswerType.PERSON,
    ),
    (
        re.compile(
            r"^\s*where\b|\b(which|what) "
            r"(?:(?!(?:is|was|are|were|do|does|did|has|have|had|will|would|can|could)\b)\w+ )?"
            r"(country|city|region|town|state|place|nation)\b",
            re.I,
        ),
        AnswerType.PLACE,
    ),
    (
        re.compile(r"\b(which|what) (company|organi[sz]ation|group|alliance|agency|party|team)\b", re.I),
        AnswerType.NAME,
    ),
    (
        re.compile(r"\bwhat is (the|his|her|their) (full )?name\b|\b(full )?name of\b|\bnamed\b", re.I),
        AnswerType.NAME,
    ),
]
_YEAR = re.compile(_YEAR_DIGITS)
_UNIT_AFTER = re.compile(rf"\s+({_UNIT})\b", re.IGNORECASE)
_ROLE_WORD = re.compile(
    rf"(?:{_ROLE}|general|pope|king|queen|prince|princess|senator)s?(?:-elect)?(?:[’']s)?,?", re.I
)
_NAMES = (AnswerType.PERSON, AnswerType.FULL_NAME, AnswerType.PLACE, AnswerType.NAME)
_COMPASS = frozenset("north south east west northern southern eastern western central".split())
_YEAR_SPAN = re.compile(rf"{_YEAR_DIGITS}\s?[–-]\s?(?:{_YEAR_DIGITS}|\d\d)")
_CALENDAR = re.compile(rf"{_MONTH}|{_DAY}")
_MONTH_LEAD = re.compile(rf"{_MONTH}(?:\s+\d{{1,2}},?)?\s+$", re.I)
_YEAR_LEAD = re.compile(r"\b(?:in|since|until|before|after|early|late|mid)\s+$", re.I)
_COUNTED = re.compile(r"\s+([a-z]+)")  # "in 2000 cases": a noun after it, so a count
_SENTENCE_START_WORDS = frozenset(
    {"The", "A", "An", "This", "That", "These", "In", "On", "At", "It", "He", "She"}
)


@dataclass(frozen=True)
class Span:
    """A candidate answer inside a sentence: offsets relative to the sentence."""

    start: int
    end: int
    text: str
    score: float


def answer_type(question: str) -> AnswerType | None:
    """The expected answer type of a question, or None when it asks for no short fact."""
    for pattern, kind in _RULES:
        if pattern.search(question):
            return kind
    return None


def candidates(sentence: str, kind: AnswerType) -> list[tuple[int, int]]:
    """Spans of the sentence that could answer a question of this type."""
    spans = []
    for match in _PATTERNS[kind].finditer(sentence):
        start, end = match.span()
        text = match.group(0)
        if kind in _NAMES:
            words = text.split()
            while words and words[0] in _SENTENCE_START_WORDS:
                start += len(words[0]) + 1
                words = words[1:]
            text = " ".join(words).rstrip(".,’'")
            end = start + len(text)
            if kind in (AnswerType.PERSON, AnswerType.FULL_NAME):
                title = _title_length(words)  # "Defense Minister Bjørn Arild Gram": a title, then the name
                start += sum(len(w) + 1 for w in words[:title])
                words = words[title:]
                text = sentence[start:end]
                terms = content_terms(text)
                if terms and is_place_or_people(text.split()[-1]) and all(t in _COMPASS for t in terms[:-1]):
                    continue  # "Egypt's", "Afghan", "North Korea": a place or its people, not a person
            if kind is AnswerType.PERSON and start == 0 and len(words) == 1:
                continue  # a lone capitalised first word is rarely a name
            if kind is AnswerType.FULL_NAME and len(words) < 2:
                continue  # "Russia", "Trump": not the full name asked for
            if text and all(_is_calendar(w, sentence, end) for w in text.split()):
                continue  # "January", "Monday’s": a date, not a name or a place
        if kind is AnswerType.NUMBER and _YEAR.fullmatch(text) and _is_dated(sentence, start, end):
            continue  # "in January 2025" dates something; it counts nothing
        if kind is AnswerType.NUMBER and _YEAR_SPAN.fullmatch(text):
            continue  # "2003-04", "1914–1918": a period, not a count
        if text.strip():
            spans.append((start, end))
    return spans


def _echoes(term: str, asked: set[str]) -> bool:
    """The term is one of the question's, or a place or its people named by the other (German, Germany)."""
    return term in asked or any(same_place(term, a) for a in asked)


def find_short_answer(question: str, sentence: str) -> Span | None:
    """The best candidate of the question's answer type in the sentence, near the question's words."""
    return find_span(question, sentence, answer_type(question))


def find_span(question: str, sentence: str, kind: AnswerType | None) -> Span | None:
    """The best candidate of type kind in the sentence, near the question's words and echoing none
    of them; None when there is no kind (a follow-up may take its conversation's, or have none)."""
    if kind is None:
        return None
    asked = set(content_terms(question))
    anchors = [
        m.start()
        for m in re.finditer(r"[\w’'-]+", sentence)
        if content_terms(m.group(0)) and content_terms(m.group(0))[0] in asked
    ]
    best: Span | None = None
    for start, end in candidates(sentence, kind):
        text = sentence[start:end]
        terms = content_terms(text)
        if terms and all(_echoes(t, asked) for t in terms):
            continue  # the question already says it ("German" when it asks about Germany)
        if kind is AnswerType.NUMBER:
            unit = _UNIT_AFTER.match(sentence, end)
            if unit and not _echoes(content_terms(unit.group(1))[0], asked):
                continue  # "up to six months" is how long, not how many, unless months are asked
        distance = min((abs(a - start) for a in anchors), default=len(sentence))
        score = 1.0 / (1.0 + distance / 40.0)
        if best is None or score > best.score:
            best = Span(start, end, text, score)
    return best


def _title_length(words: list[str]) -> int:
    """How many leading words are a title: up to the last role word that a name still follows."""
    roles = [i for i, word in enumerate(words[:-1]) if _ROLE_WORD.fullmatch(word)]
    return roles[-1] + 1 if roles else 0


def _is_calendar(word: str, sentence: str, end: int) -> bool:
    """A month or weekday; "May" only with a day or year after it (Theresa May is a name)."""
    word = re.sub(r"[’']s$", "", word)
    if word == "May":
        return bool(re.match(r"\s+\d", sentence[end:]))
    return bool(_CALENDAR.fullmatch(word))


def _is_dated(sentence: str, start: int, end: int) -> bool:
    """The year-like number at start:end dates something: "January 2025", "in 2024," (not "in 2000 cases")."""
    before = sentence[:start]
    counted = _COUNTED.match(sentence, end)  # "in 2000 cases"; not "in 2024 and"
    return bool(_MONTH_LEAD.search(before)) or (
        bool(_YEAR_LEAD.search(before)) and not (counted and counted.group(1) not in STOP_WORDS)
    )
