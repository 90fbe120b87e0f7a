"""Answers: verbatim sentences, exact citations, the reader's short spans, abstention, duplicates,
follow-ups."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rag.compose.followup import is_elliptical
from rag.compose.reader import Reader, Reading
from rag.compose.reading import leans_back
from rag.engine import Engine
from rag.errors import InvalidRequestError
from rag.types import Answer, Document, Turn

PATRIOT = "5df9e3f3ff27d6f8"


def assert_citations_exact(engine: Engine, answer: Answer) -> None:
    """Every citation's offsets slice exactly its sentence out of the cited document."""
    numbers = {s.number: s.doc_id for s in answer.sources}
    for sentence in answer.sentences:
        assert sentence.citations
        for citation in sentence.citations:
            document = engine.document(citation.doc_id)
            assert document is not None
            assert document.text[citation.start : citation.end] == sentence.text
            assert numbers[citation.number] == citation.doc_id
            assert f"[{citation.number}]" in answer.text
    if answer.short_answer is not None:
        document = engine.document(answer.short_answer.doc_id)
        assert document is not None
        assert document.text[answer.short_answer.start : answer.short_answer.end] == answer.short_answer.text


def test_answer_is_the_verbatim_sentence_with_its_citation(digest_engine: Engine) -> None:
    answer = digest_engine.ask("When will Germany start deploying Patriot units to Poland?")
    assert not answer.abstained
    first = answer.sentences[0]
    assert first.text.startswith(
        "Germany will deploy Patriot missile units to Poland starting in January 2025"
    )
    assert first.citations[0].doc_id == PATRIOT and first.citations[0].number == 1
    assert answer.text.startswith(first.text + "[1]")
    assert answer.sources[0].doc_id == PATRIOT
    assert answer.short_answer is not None and answer.short_answer.text in {
        "January 2025",
        "starting in January 2025",
    }
    assert digest_engine.config.answer.threshold <= answer.confidence <= 1.0
    assert_citations_exact(digest_engine, answer)


@pytest.mark.parametrize(
    "question", ["What's a good recipe for banana bread?", "What is the capital of Australia?"]
)
def test_an_off_topic_question_abstains_and_offers_no_related_coverage(
    digest_engine: Engine, question: str
) -> None:
    answer = digest_engine.ask(question)
    assert answer.abstained
    assert answer.text == "" and answer.sentences == () and answer.sources == ()
    assert answer.message == "The summaries do not answer this question."
    assert answer.related == ()  # nothing in the digest is near enough to be worth reading
    assert answer.confidence < digest_engine.config.answer.threshold


def test_a_question_the_summaries_touch_but_do_not_answer_offers_them_as_related(engine: Engine) -> None:
    engine.ingest(
        [
            Document(
                "envoy",
                "Trump plans talks between Ukraine and Russia. He is appointing a special envoy to "
                "broker a ceasefire between the two countries.",
            ),
            Document("wheat", "Wheat prices fell sharply in Chicago trading on Tuesday."),
        ]
    )
    unnamed = engine.ask("What is the name of the special envoy Trump is appointing?")
    assert unnamed.abstained
    assert [p.doc_id for p in unnamed.related] == ["envoy"]  # the wheat story is under the floor
    engine.ingest(
        [
            Document(
                "envoy",
                "Trump plans talks between Ukraine and Russia. He is appointing Keith Kellogg as special "
                "envoy to broker a ceasefire between the two countries.",
            )
        ]
    )
    named = engine.ask("What is the name of the special envoy Trump is appointing?")
    assert not named.abstained
    assert named.short_answer is not None and named.short_answer.text == "Keith Kellogg"
    assert_citations_exact(engine, named)


def test_an_answer_that_opens_with_a_pronoun_carries_the_sentence_it_leans_on(engine: Engine) -> None:
    text = (
        "NATO Secretary General Mark Rutte met Donald Trump in Florida on Friday. "
        "He warned against a Russia-dictated peace deal for Ukraine. Markets were calm."
    )
    engine.ingest([Document("rutte", text)])
    answer = engine.ask("What did Mark Rutte warn against?")
    assert not answer.abstained
    first = answer.sentences[0]
    assert first.text == text[: text.index(" Markets")]  # both sentences, one exact citation
    assert "peace deal" in (answer.short_answer.text if answer.short_answer else "")
    assert_citations_exact(engine, answer)


@pytest.mark.parametrize(
    ("sentence", "leans"),
    [
        ("He warned against a deal.", True),
        ("This deployment will last six months.", True),
        ("“They will stay,” she said.", True),
        ("Their mission ends in June.", True),
        ("Helsinki hosted the talks.", False),
        ("Theirs is a small army.", False),
        ("Germany will deploy Patriot units.", False),
    ],
)
def test_a_sentence_leans_back_when_it_opens_with_a_pronoun_or_this(sentence: str, leans: bool) -> None:
    assert leans_back(sentence) is leans


def test_same_sentence_from_two_outlets_is_said_once_citing_both(engine: Engine) -> None:
    story = "The harbour in Gdańsk reopened on Tuesday after a three-day storm closure."
    engine.ingest(
        [
            Document(doc_id="reuters-1", text=f"{story} Ferries resumed at noon.", source="Reuters"),
            Document(doc_id="ap-7", text=f"Officials confirmed it. {story}", source="AP"),
            Document(doc_id="other", text="Wheat prices fell sharply in Chicago trading.", source="AP"),
        ]
    )
    answer = engine.ask("When did the Gdańsk harbour reopen?")
    assert not answer.abstained
    first = answer.sentences[0]
    assert first.text == story
    assert sorted(c.doc_id for c in first.citations) == ["ap-7", "reuters-1"]
    assert sum(s.text == story for s in answer.sentences) == 1
    assert answer.short_answer is not None and answer.short_answer.text in {"Tuesday", "on Tuesday"}
    assert_citations_exact(engine, answer)


def test_a_near_copy_with_other_figures_is_never_cited_for_the_shown_sentence(engine: Engine) -> None:
    # The two census sentences have a cosine of 0.933: close enough to look like one statement.
    fresno = (
        "There were 158,349 households, of which 68,511 (43.3%) had children "
        "under the age of 18 living in them."
    )
    other = "There were 284,499 households, of which 24.5% had children under the age of 18 living with them."
    engine.ingest(
        [
            Document(doc_id="fresno", text=f"Fresno census, 2010. {fresno}", title="Fresno"),
            Document(doc_id="jacksonville", text=f"Jacksonville census, 2010. {other}", title="Jacksonville"),
        ]
    )
    answer = engine.ask("How many Fresno households had children under the age of 18 living in them?")
    assert not answer.abstained and answer.sentences[0].text == fresno
    assert [c.doc_id for c in answer.sentences[0].citations] == ["fresno"]
    assert other not in answer.text  # adds nothing the shown sentence does not say
    assert_citations_exact(engine, answer)


def test_follow_up_is_resolved_against_history(digest_engine: Engine) -> None:
    history = [Turn("When will Germany deploy Patriot missile units to Poland?", "Starting in January 2025.")]
    answer = digest_engine.ask("Who announced it?", history=history)
    assert answer.query == "When will Germany deploy Patriot missile units to Poland? Who announced it?"
    assert not answer.abstained
    assert answer.sources[0].doc_id == PATRIOT
    assert any("announced by German and Polish defense ministers" in s.text for s in answer.sentences)


def test_a_follow_up_is_asked_of_the_passages_its_conversation_found(digest_engine: Engine) -> None:
    where = [Turn("Which country will Germany deploy Patriot units to?", "Poland.")]
    answer = digest_engine.ask("How long will they stay?", history=where)
    assert not answer.abstained
    # Not the sentence that answered "which country" again: the one that says how long.
    assert "lasting up to six months" in answer.sentences[0].text
    assert answer.short_answer is not None and answer.short_answer.text in {"up to six months", "six months"}
    assert_citations_exact(digest_engine, answer)
    viewed = [Turn("What did Zelenskyy and Scholz view before the briefing?", "Advanced drone technology.")]
    visited = digest_engine.ask("Who did they visit?", history=viewed)
    assert "wounded Ukrainian soldiers" in visited.sentences[0].text
    assert visited.short_answer is not None and "wounded Ukrainian soldiers" in visited.short_answer.text


def test_an_elliptical_follow_up_is_read_as_its_conversation_asks_it(digest_engine: Engine) -> None:
    hosting = [Turn("Which country is hosting the new amphibious warfare training center?", "Norway.")]
    elliptical = digest_engine.ask("And what about the Patriot units?", history=hosting)
    assert elliptical.short_answer is not None and elliptical.short_answer.text == "Poland"
    who = [Turn("Who is NATO's Secretary General?", "Mark Rutte.")]
    own = digest_engine.ask("What did he warn Trump against?", history=who)
    assert not own.abstained
    assert "Russia-dictated peace deal" in own.text


@pytest.mark.parametrize(
    ("question", "elliptical"),
    [
        ("And what about Poland?", True),
        ("What about the drones?", True),
        ("And Lithuania?", True),
        ("And who announced it?", False),
        ("How long will they stay?", False),
        ("Who announced it?", False),
    ],
)
def test_elliptical_follow_ups_ask_nothing_of_their_own(question: str, elliptical: bool) -> None:
    assert is_elliptical(question) is elliptical


def test_supporting_sentences_keep_document_order_within_the_budget(digest_engine: Engine) -> None:
    config = replace(digest_engine.config.answer, max_sentences=4, threshold=0.0, support_share=0.0)
    digest_engine.config = replace(digest_engine.config, answer=config)
    answer = digest_engine.ask("What will the German Patriot units in Poland do?")
    assert 1 < len(answer.sentences) <= 4
    rest = [(s.citations[0].doc_id, s.citations[0].start) for s in answer.sentences[1:]]
    by_doc: dict[str, list[int]] = {}
    for doc_id, start in rest:
        by_doc.setdefault(doc_id, []).append(start)
    assert all(starts == sorted(starts) for starts in by_doc.values())
    assert_citations_exact(digest_engine, answer)


def test_a_sure_answer_in_the_first_windows_saves_reading_the_rest(
    digest_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    read: list[int] = []
    real = Reader.read

    def counted(self: Reader, question: str, windows: list[str]) -> list[Reading]:
        read.append(len(windows))
        return real(self, question, windows)

    monkeypatch.setattr(Reader, "read", counted)
    question = "When will Germany deploy Patriot missile units to Poland?"
    one_round = digest_engine.ask(question)
    assert read == [digest_engine.config.answer.read_windows]
    for enough, rounds in ((0.0, [2]), (1.0, [2, 3])):  # sure of anything / of nothing
        read.clear()
        config = replace(digest_engine.config.answer, read_first=2, read_enough=enough)
        digest_engine.config = replace(digest_engine.config, answer=config)
        answer = digest_engine.ask(question)
        assert read == rounds
        assert answer.sentences[0].text == one_round.sentences[0].text  # the best windows hold the answer
        assert answer.short_answer is not None and one_round.short_answer is not None
        assert answer.short_answer.text == one_round.short_answer.text == "January 2025"


def test_bad_questions_are_refused(digest_engine: Engine) -> None:
    with pytest.raises(InvalidRequestError, match="empty"):
        digest_engine.ask("  ")
    with pytest.raises(InvalidRequestError, match="top_k of 99"):
        digest_engine.ask("NATO?", top_k=99)


_words = st.sampled_from(
    "who what when where how many Patriot Poland NATO Zelensky Trump Norway Rutte Scholz Macron Mirage "
    "Crimea Budapest memorandum drone Kyiv Latvia jets training center billion January ceasefire".split()
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(_words, min_size=1, max_size=8), st.sampled_from(["?", ".", "", "!"]))
def test_every_citation_slices_its_sentence_for_generated_questions(
    digest_engine: Engine, words: list[str], end: str
) -> None:
    answer = digest_engine.ask(" ".join(words) + end)
    assert answer.abstained == (not answer.sentences)
    assert_citations_exact(digest_engine, answer)
