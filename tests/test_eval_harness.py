"""`newsrag eval` end to end on a tiny BEIR folder with the real model, plus its one-line errors."""

from __future__ import annotations

import io
import json
from contextlib import redirect_stderr
from pathlib import Path

import pytest

from eval.datasets import load_dataset
from eval.harness import Plan, evaluate, write_outputs
from eval.index_cache import IndexInfo, cache_folder, cache_key
from newsrag.cli import main
from rag.config import EngineConfig
from rag.engine import Engine
from rag.errors import InvalidRequestError
from rag.ingest.embedder import Embedder, shared_embedder
from rag.retrieve.pipeline import MODES
from rag.types import Passage

CORPUS = {
    "volcano": (
        "Mount Etna erupted on Tuesday, sending lava down its eastern slope in Sicily. "
        "Flights at Catania airport were suspended for six hours."
    ),
    "football": (
        "Brazil beat Argentina 2-0 in the Copa America final in Rio de Janeiro. "
        "The winning goals came from Vinicius in the second half."
    ),
    "bank": (
        "The European Central Bank raised its main interest rate to 4.5 percent. "
        "The bank said inflation in the euro area remained too high."
    ),
    "telescope": (
        "The James Webb Space Telescope photographed a galaxy 13 billion light years away. "
        "Astronomers said the image shows stars forming in the early universe."
    ),
    "strike": (
        "Dock workers in Rotterdam went on strike over pay for three days. "
        "Shipping containers piled up at the port during the walkout."
    ),
    "election": (
        "Voters in Iceland elected a new parliament on Saturday. "
        "The Independence Party won the most seats with 24 percent of the vote."
    ),
    # Long enough for several chunks: rankings must still list each document once.
    "marathon": " ".join(
        f"In mile {n} of the Lisbon marathon the runners passed a {colour} banner and a brass band playing."
        for n, colour in enumerate(
            ["red", "green", "yellow", "white", "black", "orange", "purple"] * 4, start=1
        )
    ),
}
QUERIES = {
    "q1": ("Which volcano erupted in Sicily?", "volcano", ["Mount Etna", "Etna"]),
    "q2": ("Who won the Copa America final between Brazil and Argentina?", "football", ["Brazil"]),
    "q3": ("To what level did the European Central Bank raise its interest rate?", "bank", ["4.5 percent"]),
    "q4": (
        "How far away was the galaxy photographed by the James Webb Space Telescope?",
        "telescope",
        ["13 billion light years"],
    ),
    "q5": ("How long did the Rotterdam dock workers strike?", "strike", ["three days"]),
    "q6": (
        "Which party won the most seats in the Iceland parliament election?",
        "election",
        ["Independence Party", "The Independence Party"],
    ),
}
UNANSWERABLE = {"u1": "What is the recipe for a classic French onion soup?"}


def write_dataset(folder: Path) -> Path:
    """A BEIR folder whose right answers are obvious by reading: one document per topic."""
    (folder / "qrels").mkdir(parents=True)
    corpus = [{"_id": d, "title": "", "text": t} for d, t in CORPUS.items()]
    queries = [{"_id": q, "text": t} for q, (t, _, _) in QUERIES.items()]
    queries += [{"_id": q, "text": t} for q, t in UNANSWERABLE.items()]
    answers = [{"_id": q, "answers": a, "is_impossible": False} for q, (_, _, a) in QUERIES.items()]
    answers += [{"_id": q, "answers": [], "is_impossible": True} for q in UNANSWERABLE]
    for name, rows in (("corpus", corpus), ("queries", queries), ("answers", answers)):
        (folder / f"{name}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    qrels = "".join(f"{q}\t{d}\t1\n" for q, (_, d, _) in QUERIES.items())
    (folder / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\n" + qrels, encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> dict[str, object]:
    """Two runs over the tiny set, the second from the cache and compared with the first."""
    assert shared_embedder() is embedder  # the CLI reuses the session's model
    root = tmp_path_factory.mktemp("eval")
    data, cache = write_dataset(root / "tiny"), root / "cache"
    first = main(["eval", str(data), "--cache-dir", str(cache), "--out", str(root / "first")])
    compare = ["--modes", "lexical,dense", "--limit", "100", "--compare", str(root / "first")]
    gates = ["--fail-below", "mrr@10=0.5", "--fail-below", "lexical:ndcg@10=1.01"]
    with redirect_stderr(io.StringIO()) as stderr:
        second = main(
            ["eval", str(data), "--cache-dir", str(cache), "--out", str(root / "second"), *compare, *gates]
        )
    return {"root": root, "first": first, "second": second, "stderr": stderr.getvalue()}


def _metrics(folder: Path) -> dict:
    return json.loads((folder / "metrics.json").read_text(encoding="utf-8"))


def test_every_mode_finds_the_obvious_document(runs: dict) -> None:
    assert runs["first"] == 0
    metrics = _metrics(runs["root"] / "first")
    assert list(metrics["modes"]) == list(MODES)
    for mode, body in metrics["modes"].items():
        assert body["queries"] == 6, mode
        assert body["metrics"] == {
            m: 1.0 for m in ("ndcg@10", "recall@5", "recall@10", "recall@100", "mrr@10", "map")
        }
        assert body["recall_at_k"][0] == 1.0
    assert metrics["dataset"]["documents"] == 7 and metrics["judged_queries_run"] == 6
    assert metrics["index"]["reused"] is False and metrics["index"]["documents"] == 7
    assert metrics["index"]["chunks"] > 7  # the marathon report is split


@pytest.mark.skipif(not hasattr(Engine, "ask"), reason="engine.ask is not there yet")
def test_answers_from_the_real_engine(runs: dict) -> None:
    answers = _metrics(runs["root"] / "first")["answers"]
    assert answers["status"] == "measured" and answers["questions"] == 7
    assert answers["metrics"]["bad_citations"] == 0  # every citation slices its sentence exactly
    # Each question is answered by one sentence; the reader abstains on one of the six, "Who won the
    # Copa America final between Brazil and Argentina?", whose answer is one of its own words.
    assert answers["metrics"]["answer_hit"] >= 5 / 6
    assert answers["metrics"]["citation_precision"] == 1.0
    assert answers["metrics"]["abstention_recall"] == 1.0  # soup recipes are not in the news


def test_run_folder_files(runs: dict) -> None:
    folder = runs["root"] / "first"
    assert (folder / "recall_at_k.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    report = (folder / "report.md").read_text(encoding="utf-8")
    assert report.startswith("# Evaluation of tiny (test split)") and "| hybrid | 1.0000 |" in report
    lines = [line.split("\t") for line in (folder / "run.tsv").read_text(encoding="utf-8").splitlines()]
    assert all(len(f) == 6 and f[1] == "Q0" for f in lines)
    assert {f[5] for f in lines} == set(MODES)
    assert len({(f[0], f[5], f[2]) for f in lines}) == len(lines)  # one line per document
    assert sum(1 for f in lines if f[0] == "q1" and f[5] == "dense") == len(CORPUS)
    firsts = {(f[0], f[5]): f[2] for f in lines if f[3] == "1"}
    assert firsts == {(q, mode): doc for q, (_, doc, _) in QUERIES.items() for mode in MODES}
    records = [
        json.loads(line) for line in (folder / "per_query.jsonl").read_text(encoding="utf-8").splitlines()
    ]
    assert [r["qid"] for r in records] == [*QUERIES, *UNANSWERABLE]
    assert records[0]["retrieval"]["hybrid"]["ranking"][0][0] == "volcano"
    assert records[-1]["retrieval"] == {}  # unjudged: asked, not ranked


def test_the_cache_follows_the_corpus_content_not_its_path(tmp_path: Path, embedder: Embedder) -> None:
    def folder(root: Path) -> Path:
        return cache_folder(
            tmp_path / "cache", dataset := load_dataset(root), cache_key(dataset, EngineConfig(), embedder)
        )

    here = write_dataset(tmp_path / "here" / "tiny")
    there = write_dataset(tmp_path / "there" / "tiny")  # a checkout elsewhere: same bytes, new mtime
    assert folder(here) == folder(there)
    corpus = there / "corpus.jsonl"
    corpus.write_text(corpus.read_text(encoding="utf-8").replace("three days", "four days"), encoding="utf-8")
    assert folder(here) != folder(there)


def test_second_run_reuses_the_index_compares_and_gates(runs: dict) -> None:
    assert runs["second"] == 3
    assert runs["stderr"].splitlines()[-1] == "newsrag: gate failed: lexical:ndcg@10 = 1.0000 < 1.01"
    warnings = [line for line in runs["stderr"].splitlines() if "warning" in line]
    assert warnings == [
        "newsrag: warning: not like for like with the baseline, limit: baseline not set, this run 100"
    ]
    metrics = _metrics(runs["root"] / "second")
    assert metrics["index"]["reused"] is True and list(metrics["modes"]) == ["lexical", "dense"]
    rows = {(c["mode"], c["metric"]): c for c in metrics["comparison"]}
    assert rows[("lexical", "ndcg@10")] == {
        "mode": "lexical", "metric": "ndcg@10", "baseline": 1.0, "current": 1.0, "delta": 0.0, "p_value": 1.0,
        "paired": 6,
    }  # fmt: skip
    assert ("hybrid", "ndcg@10") not in rows
    assert metrics["gate_failures"] == ["lexical:ndcg@10 = 1.0000 < 1.01"]


def test_the_same_run_through_a_milvus_lite_index_scores_alike(runs: dict) -> None:
    root = runs["root"]
    argv = ["eval", str(root / "tiny"), "--cache-dir", str(root / "cache"), "--index-store", "milvus-lite"]
    assert main([*argv, "--out", str(root / "lite"), "--compare", str(root / "first")]) == 0
    embedded, lite = _metrics(root / "first"), _metrics(root / "lite")
    assert lite["index"]["folder"] == f"milvus-lite:{embedded['index']['folder']}.db"
    assert lite["index"]["reused"] is False and lite["index"]["chunks"] == embedded["index"]["chunks"]
    assert lite["settings"]["index store"] == "milvus-lite"
    for mode in MODES:
        assert lite["modes"][mode]["metrics"] == embedded["modes"][mode]["metrics"], mode
    assert lite["answers"]["metrics"]["bad_citations"] == 0
    assert main([*argv, "--modes", "lexical", "--out", str(root / "lite-again")]) == 0
    assert _metrics(root / "lite-again")["index"]["reused"] is True


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--index-store", "mongodb"], "unknown index store 'mongodb'"),
        (["--modes", "dense,telepathy"], "unknown retrieval mode telepathy"),
        (["--fail-below", "ndcg@10"], "is not METRIC=VALUE"),
        (["--fail-below", "sparkle=1"], "unknown metric 'sparkle'"),
        (["--compare", "/nonexistent/run"], "is not an eval run folder"),
    ],
)
def test_bad_arguments_are_one_line_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    data = write_dataset(tmp_path / "set")
    assert main(["eval", str(data), "--cache-dir", str(tmp_path / "c"), *argv]) == 1
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and err.startswith("newsrag: error: ") and message in err


def test_bad_datasets_are_one_line_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["eval", str(tmp_path / "missing")]) == 1
    assert capsys.readouterr().err.startswith("newsrag: error: dataset folder")
    data = write_dataset(tmp_path / "set")
    with (data / "queries.jsonl").open("a", encoding="utf-8") as handle:
        handle.write("{not json\n")
    assert main(["eval", str(data)]) == 1
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and "queries.jsonl:8: malformed JSON" in err


class HalfBroken:
    """A searcher with one mode that raises, as a mode whose model file is missing would."""

    def search(self, query: str, k: int = 10, filters: object = None, mode: str = "hybrid") -> list[Passage]:
        if mode == "broken":
            raise InvalidRequestError("cannot read the ranker model")
        return []


def test_a_failing_mode_is_reported_and_the_others_kept(tmp_path: Path) -> None:
    dataset = load_dataset(write_dataset(tmp_path / "set"))
    index = IndexInfo(tmp_path, "k", reused=True, seconds=0.0, documents=7, chunks=7, sentences=7)
    evaluation = evaluate(dataset, HalfBroken(), index, Plan(("q1", "u1"), ("broken", "empty")))
    assert evaluation.failed_modes == {"broken": "cannot read the ranker model"}
    assert [m.run.mode for m in evaluation.modes] == ["empty"]
    assert evaluation.modes[0].summary["ndcg@10"] == 0.0  # nothing retrieved
    write_outputs(evaluation, tmp_path / "out")
    assert _metrics(tmp_path / "out")["failed_modes"] == {"broken": "cannot read the ranker model"}


def test_an_unwritable_run_folder_fails_before_indexing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = write_dataset(tmp_path / "set")
    (tmp_path / "file").write_text("", encoding="utf-8")
    assert (
        main(["eval", str(data), "--cache-dir", str(tmp_path / "c"), "--out", str(tmp_path / "file" / "x")])
        == 1
    )
    assert capsys.readouterr().err.startswith("newsrag: error: cannot create the run folder")
    assert not (tmp_path / "c").exists()


def test_as_asked_hides_what_was_published_after_each_question(tmp_path: Path) -> None:
    """A question from March is judged on March's news: the May story with the same words is not there yet."""
    data = tmp_path / "dated"
    (data / "qrels").mkdir(parents=True)
    corpus = [
        ("march", "2024-03-02", "Harbour city council elected Ana Lopes as its mayor on Friday."),
        ("may", "2024-05-10", "Harbour city council elected Ana Lopes as its mayor again after a recount."),
        ("tide", "2024-03-01", "A spring tide flooded the harbour promenade overnight."),
    ]
    rows = {
        "corpus": [{"_id": d, "text": t, "metadata": {"date": day}} for d, day, t in corpus],
        "queries": [{"_id": "q1", "text": "Whom did the harbour city council elect as mayor?"}],
        "answers": [{"_id": "q1", "answers": ["Ana Lopes"], "date": "2024/03/04"}],
    }
    for name, records in rows.items():
        (data / f"{name}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    (data / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\nq1\tmarch\t1\n", encoding="utf-8")
    cache = ["--cache-dir", str(tmp_path / "cache"), "--modes", "hybrid,hybrid+recent"]
    assert main(["eval", str(data), *cache, "--out", str(tmp_path / "all")]) == 0
    assert main(["eval", str(data), *cache, "--as-asked", "--out", str(tmp_path / "asked")]) == 0

    def ranked(run: str, mode: str) -> list[str]:
        record = json.loads((tmp_path / run / "per_query.jsonl").read_text(encoding="utf-8").splitlines()[0])
        return [doc for doc, _ in record["retrieval"][mode]["ranking"]]

    assert "may" in ranked("all", "hybrid")
    for mode in ("hybrid", "hybrid+recent"):
        assert ranked("asked", mode)[0] == "march" and "may" not in ranked("asked", mode)
    assert _metrics(tmp_path / "asked")["settings"]["as asked"]
    answer = json.loads((tmp_path / "asked" / "per_query.jsonl").read_text(encoding="utf-8").splitlines()[0])
    cited = {c["doc_id"] for s in answer["answer"]["sentences"] for c in s["citations"]}
    assert cited and cited <= {"march", "tide"}


def test_a_follow_up_is_searched_and_asked_with_its_conversation(tmp_path: Path) -> None:
    """ "How long will it last?" alone is about the exercise that lasts; after the Patriot question,
    it is about the Patriot deployment, in retrieval and in the answer."""
    data = tmp_path / "talk"
    (data / "qrels").mkdir(parents=True)
    rows = {
        "corpus": [
            {
                "_id": "patriot",
                "text": "Germany will deploy Patriot units to Poland in January. "
                "The deployment will last up to six months.",
            },
            {
                "_id": "drill",
                "text": "Norway hosts a winter drill in Sørreisa. The drill will last two weeks.",
            },
        ],
        "queries": [
            {
                "_id": "q1",
                "text": "How long will it last?",
                "history": ["When will Germany deploy Patriot units?"],
            },
            {"_id": "q2", "text": "How long will it last?"},
        ],
        "answers": [{"_id": "q1", "answers": ["up to six months"]}, {"_id": "q2", "answers": ["two weeks"]}],
    }
    for name, records in rows.items():
        (data / f"{name}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    (data / "qrels" / "test.tsv").write_text(
        "query-id\tcorpus-id\tscore\nq1\tpatriot\t1\nq2\tdrill\t1\n", encoding="utf-8"
    )
    out = tmp_path / "run"
    assert (
        main(
            [
                "eval",
                str(data),
                "--cache-dir",
                str(tmp_path / "cache"),
                "--modes",
                "hybrid",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    records = {
        r["qid"]: r
        for r in map(json.loads, (out / "per_query.jsonl").read_text(encoding="utf-8").splitlines())
    }
    assert [records[q]["retrieval"]["hybrid"]["ranking"][0][0] for q in ("q1", "q2")] == ["patriot", "drill"]
    followed = records["q1"]["answer"]
    assert followed["sentences"] and "six months" in followed["sentences"][0]["text"]


def test_as_asked_needs_every_question_dated(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = write_dataset(tmp_path / "set")
    argv = ["eval", str(data), "--cache-dir", str(tmp_path / "c"), "--out", str(tmp_path / "o"), "--as-asked"]
    assert main([*argv, "--modes", "lexical"]) == 1
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1
    assert err.startswith("newsrag: error: 7 of 7 questions have no date in answers.jsonl (first: q1)")
