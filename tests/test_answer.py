"""Answers: verbatim sentences, exact citations, short spans, abstention, duplicates, follow-ups."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rag.answer import CONFIDENCE_FEATURES, AnswerConfig, confidence_features, select
from rag.engine import Engine
from rag.errors import InvalidRequestError
from rag.followup import is_elliptical
from rag.places import names_place
from rag.sentences import FEATURES, Candidate
from rag.shortanswer import AnswerType, _echoes, answer_type, candidates, find_short_answer
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
    assert answer.short_answer is not None and answer.short_answer.text == "January 2025"
    assert digest_engine.config.answer.threshold <= answer.confidence <= 1.0
    assert_citations_exact(digest_engine, answer)


def test_off_topic_question_abstains_and_offers_related(digest_engine: Engine) -> None:
    answer = digest_engine.ask("What's a good recipe for banana bread?")
    assert answer.abstained
    assert answer.text == "" and answer.sentences == () and answer.sources == ()
    assert answer.message == "The summaries do not answer this question."
    assert 0 < len(answer.related) <= 3
    assert answer.confidence < digest_engine.config.answer.threshold


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
    assert answer.short_answer is not None and answer.short_answer.text == "Tuesday"
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
    assert answer.short_answer is not None and answer.short_answer.text == "up to six months"
    assert_citations_exact(digest_engine, answer)
    viewed = [Turn("What did Zelenskyy and Scholz view before the briefing?", "Advanced drone technology.")]
    visited = digest_engine.ask("Who did they visit?", history=viewed)
    assert "wounded Ukrainian soldiers" in visited.sentences[0].text
    assert visited.short_answer is None  # the conversation's own names are no answer to "who"


def test_only_an_elliptical_follow_up_takes_its_conversation_s_answer_type(digest_engine: Engine) -> None:
    hosting = [Turn("Which country is hosting the new amphibious warfare training center?", "Norway.")]
    elliptical = digest_engine.ask("And what about the Patriot units?", history=hosting)
    assert elliptical.short_answer is not None and elliptical.short_answer.text == "Poland"
    who = [Turn("Who is NATO's Secretary General?", "Mark Rutte.")]
    own = digest_engine.ask("What did he warn Trump against?", history=who)
    assert not own.abstained and own.short_answer is None  # a "what" of its own, not a "who"
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
    config = replace(digest_engine.config.answer, support_margin=100.0, max_sentences=4, threshold=0.0)
    digest_engine.config = replace(digest_engine.config, answer=config)
    answer = digest_engine.ask("What will the German Patriot units in Poland do?")
    assert 1 < len(answer.sentences) <= 4
    rest = [(s.citations[0].doc_id, s.citations[0].start) for s in answer.sentences[1:]]
    by_doc: dict[str, list[int]] = {}
    for doc_id, start in rest:
        by_doc.setdefault(doc_id, []).append(start)
    assert all(starts == sorted(starts) for starts in by_doc.values())
    assert_citations_exact(digest_engine, answer)


def _candidate(doc_id: str, start: int, text: str, direction: int, score: float) -> Candidate:
    vector = np.zeros(8, dtype=np.float32)
    vector[direction] = 1.0
    return Candidate(doc_id, 0, start, start + len(text), text, vector, (0.5,) * len(FEATURES), score)


def test_confidence_margin_is_the_lead_over_a_reading_the_answer_leaves_out() -> None:
    best = _candidate("a", 0, "The envoy met the minister on Monday.", 0, 5.0)
    beside = _candidate("a", 40, "They visited wounded soldiers before the briefing.", 1, 4.8)
    reworded = _candidate("b", 0, "On Monday the envoy met the minister.", 0, 4.7)
    rival = _candidate("c", 0, "The minister flew home.", 2, 2.0)
    config = AnswerConfig(max_sentences=2)
    candidates = [best, beside, reworded, rival]
    groups = select(candidates, config)
    assert [g[0].text for g in groups] == [best.text, beside.text]
    margin = confidence_features(candidates, groups, config)[CONFIDENCE_FEATURES.index("margin")]
    # Neither the sentence shown beside the best nor its rewording is a rival: the one left out is.
    assert margin == pytest.approx(3.0)
    alone = select([best, rival], replace(config, max_sentences=1))
    assert confidence_features([best, rival], alone, config)[CONFIDENCE_FEATURES.index("margin")] == 3.0
    squeezed = select(candidates, replace(config, max_sentences=1))
    assert confidence_features(candidates, squeezed, config)[CONFIDENCE_FEATURES.index("margin")] == (
        pytest.approx(0.2)
    )


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


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("Which city's logistics hub will the air defenses guard?", AnswerType.PLACE),
        ("Which chancellor met Zelensky?", AnswerType.PERSON),
        ("How many fire units take part?", AnswerType.NUMBER),
        ("What fighter jets is France sending?", None),
        ("Which Polish city will the air defenses guard?", AnswerType.PLACE),
        ("What is the full name of Ukraine's president?", AnswerType.FULL_NAME),
        ("What is the name of the special envoy Trump appointed?", AnswerType.FULL_NAME),
        ("What is the name of the river through Kraków?", AnswerType.NAME),
        ("What is the name of the president's party?", AnswerType.NAME),
        ("What did state officials announce?", None),
    ],
)
def test_answer_type_of_questions(question: str, kind: AnswerType | None) -> None:
    assert answer_type(question) is kind


def test_a_short_answer_is_never_the_question_s_own_name_in_another_form() -> None:
    question = "Which chancellor did Zelensky meet in Berlin?"
    found = find_short_answer(question, "Zelensky met German Chancellor Olaf Scholz.")
    assert found is not None and found.text == "Olaf Scholz"  # the name, not the title it was asked by
    assert find_short_answer("Who leads Germany?", "The vote split German voters.") is None
    assert find_short_answer("Who praised China?", "Chinese officials praised the plan.") is None


def test_the_name_of_a_role_is_a_full_name_not_a_lone_capitalised_word() -> None:
    question = "What is the name of the special envoy Trump appointed for Ukraine?"
    assert find_short_answer(question, "Trump is appointing a special envoy to Ukraine and Russia.") is None
    named = find_short_answer(question, "Trump named retired general Keith Kellogg as his special envoy.")
    assert named is not None and named.text == "Keith Kellogg"


def test_a_month_or_weekday_is_neither_a_place_nor_a_person() -> None:
    question = "Which Polish city's logistics hub will the German air defenses guard?"
    assert find_short_answer(question, "Germany sends units to Poland in January and March.") is None
    hub = find_short_answer(question, "The units will protect a key logistical hub in Rzeszów.")
    assert hub is not None and hub.text == "Rzeszów"
    assert find_short_answer("Who spoke on Monday?", "Officials met on Monday.") is None
    assert find_short_answer("Who attended the summit?", "Officials attended Monday’s summit.") is None
    sentence = "The vote was held in May 2019, and May resigned."
    people = [(sentence[a:b], a) for a, b in candidates(sentence, AnswerType.PERSON)]
    assert people == [("May", sentence.rindex("May"))]  # the month is not a name; the woman is


def test_names_with_lower_case_particles_are_whole_names() -> None:
    question = "What is the name of the European Commission president?"
    sentence = "Ursula von der Leyen won a second term as head of the European Commission on Thursday."
    found = find_short_answer(question, sentence)
    assert found is not None and found.text == "Ursula von der Leyen"
    assert find_short_answer("Who leads Syria?", "Bashar al-Assad spoke.").text == "Bashar al-Assad"  # type: ignore[union-attr]


def test_a_place_is_found_in_a_document_by_its_people_but_a_name_is_not_a_place() -> None:
    assert names_place("The Cypriot government said talks would resume.", "Cyprus")
    assert names_place("French President Macron spoke.", "France")
    assert not names_place("Harry Kane scored twice.", "Harris")
    assert not names_place("Christa Wolf wrote it.", "Christian")


@pytest.mark.parametrize(
    ("sentence", "span"),
    [
        ("Talks start on his first day in office, aides said.", "first day in office"),
        ("The vote is due next week.", "next week"),
        ("The plant closed three years ago.", "three years ago"),
        ("Ministers will decide tomorrow.", "tomorrow"),
        ("The plant closed 1.5 years ago.", "1.5 years ago"),
        ("The ministers met in Paris.", None),
    ],
)
def test_news_dates_relative_to_now_answer_when(sentence: str, span: str | None) -> None:
    found = find_short_answer("When do the talks start?", sentence)
    assert (found.text if found else None) == span


def test_a_sentence_that_names_nobody_cannot_give_a_full_name(engine: Engine) -> None:
    engine.ingest(
        [
            Document(
                "envoy",
                "Trump plans talks between Ukraine and Russia. He is appointing a special envoy to "
                "broker a ceasefire between the two countries.",
            )
        ]
    )
    unnamed = engine.ask("What is the name of the special envoy Trump is appointing?")
    assert unnamed.abstained and unnamed.confidence == 0.0
    assert unnamed.related and unnamed.related[0].doc_id == "envoy"
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


def test_a_year_in_a_date_is_not_a_count() -> None:
    question = "How many Patriot batteries are in Poland?"
    assert find_short_answer(question, "Patriot units arrive in Poland in January 2025.") is None
    assert find_short_answer(question, "In 2024, 2000 Patriot crews served in Poland.").text == "2000"  # type: ignore[union-attr]
    assert find_short_answer(question, "Poland hosts a force of 1800 Patriot crews.").text == "1800"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("asked", "named", "echoes"),
    [
        ("germany", "german", True),
        ("chinese", "china", True),
        ("russia", "russian", True),
        ("israeli", "israel", True),
        ("iran", "iranian", True),
        ("christopher", "christine", False),
        ("christina", "christine", False),
        ("robert", "robertson", False),
        ("roberts", "robertson", False),
        ("france", "french", True),
        ("polish", "poland", True),
        ("netherland", "dutch", True),  # content terms fold the plural: Netherlands
        ("norway", "norwegian", True),
        ("france", "franklin", False),
        ("poland", "portugal", False),
    ],
)
def test_only_a_place_and_its_people_count_as_the_same_word(asked: str, named: str, echoes: bool) -> None:
    assert _echoes(named, {asked}) is echoes


@pytest.mark.parametrize(
    ("question", "sentence", "span"),
    [
        ("How much did Sky bid for the rights?", "Sky paid £4.2bn for the broadcast rights.", "£4.2bn"),
        ("How many species have been validated?", "Some 100–150 species have been validated.", "100–150"),
        (
            "How many people were brought over?",
            "An estimated 12 to 15 million people were brought over.",
            "12 to 15 million",
        ),
        ("How much did output grow?", "In 2003-04 output grew by $8.7 billion.", "$8.7 billion"),
        ("How many units did it add?", "It added units in 2003-04.", None),
        ("Who drove Ethelred out?", "Sweyn Forkbeard drove Ethelred out of England.", "Sweyn Forkbeard"),
        (
            "Who will Trump appoint to broker a ceasefire?",
            "Trump will appoint an envoy to broker a ceasefire in Ukraine.",
            None,
        ),
        ("Who was he a critic of?", "He was a critic of Egypt's premier.", None),
        ("Who raised it with Trump?", "He raised the transfer of missiles to North Korea with Trump.", None),
        ("Who is Norway's defense minister?", "Defense Minister Bjørn Arild Gram spoke.", "Bjørn Arild Gram"),
        ("Who warned him?", "NATO Secretary General Mark Rutte warned President-elect Trump.", "Mark Rutte"),
        (
            "Whose troops went to Russia?",
            "It reported the deployment of North Korean troops to Russia.",
            "North Korean",
        ),
        ("How many soldiers will it send?", "The deployment will last up to six months.", None),
        ("How many months will it last?", "The deployment will last up to six months.", "six"),
        ("How many soldiers will it send?", "It follows a previous deployment in 2024 and more.", None),
        ("Who is the envoy?", "The envoy met officials in January.", None),
        ("Who spoke?", "It is led by Pope Francis, who spoke on Sunday.", "Francis"),
    ],
)
def test_short_answers_take_whole_figures_and_never_a_place_for_a_person(
    question: str, sentence: str, span: str | None
) -> None:
    found = find_short_answer(question, sentence)
    assert (found.text if found else None) == span
