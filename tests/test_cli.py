"""The command line, run in-process (the model is shared with the rest of the session)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from index.location import open_store
from newsrag.cli import main
from rag.ingest.embedder import Embedder


def _run(capsys: pytest.CaptureFixture[str], store: Path, *args: str) -> tuple[int, str, str]:
    code = main(["--store", str(store), *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_search_on_the_new_default_store_indexes_the_digest_first(
    tmp_path: Path, embedder: Embedder, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NEWSRAG_STORE", str(tmp_path / "s"))
    code = main(["search", "Patriot missiles in Poland", "-k", "2"])
    out, _ = capsys.readouterr()
    assert code == 0
    first = out.splitlines()[0]
    assert first.startswith("1. [5df9e3f3ff27d6f8]")
    assert "Germany will deploy Patriot missile units to Poland" in out
    code, out, _ = _run(capsys, tmp_path / "s", "stats")
    assert code == 0
    assert "documents      10" in out and "chunks         10" in out and "format version 1" in out
    assert "all-MiniLM-L6-v2" in out


def test_ingest_reports_rejects_and_summary(
    tmp_path: Path, embedder: Embedder, capsys: pytest.CaptureFixture[str]
) -> None:
    feed = tmp_path / "feed.jsonl"
    feed.write_text(
        json.dumps({"id": "a", "text": "Floods closed the main road into Kraków."})
        + "\n{broken\n"
        + json.dumps({"id": "b", "text": "Snow delayed trains.", "published_at": "yesterday"})
        + "\n",
        encoding="utf-8",
    )
    code, out, err = _run(capsys, tmp_path / "s", "ingest", str(feed))
    assert code == 0
    assert f"rejected {feed}:2: invalid JSON" in err
    assert f"rejected {feed}:3: 'published_at' value 'yesterday'" in err
    assert out.strip().startswith("1 added, 0 updated, 0 unchanged, 2 rejected; 1 chunks")
    code, out, _ = _run(capsys, tmp_path / "s", "ingest", str(feed))
    assert "0 added, 0 updated, 1 unchanged, 2 rejected" in out
    code, out, _ = _run(capsys, tmp_path / "s", "delete", "a", "zzz")
    assert (code, out.strip()) == (0, "1 deleted, 1 not found")


def test_errors_are_one_line_and_non_zero(
    tmp_path: Path, embedder: Embedder, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = _run(capsys, tmp_path / "s", "ingest", str(tmp_path / "nothing-here"))
    assert code == 1 and "no such file or folder" in err
    code, _, err = _run(capsys, tmp_path / "s", "search", "   ")
    assert code == 1
    assert err.strip() == "newsrag: error: the query is empty: ask about something"
    code, _, err = _run(capsys, tmp_path / "s", "--model", str(tmp_path), "stats")
    assert (
        code == 1 and err.startswith("newsrag: error: no sentence-transformers model in") and err[-1] == "\n"
    )
    assert err.count("\n") == 1


def test_half_life_ranks_this_weeks_story_first_and_refuses_bad_days(
    tmp_path: Path, embedder: Embedder, capsys: pytest.CaptureFixture[str]
) -> None:
    feed = tmp_path / "feed.jsonl"
    stories = [
        ("older", "The council approved the harbour bridge budget after a long vote.", "2024-01-08"),
        ("newer", "Councillors added money to the harbour bridge budget.", "2024-03-04"),
        ("storm", "A storm closed the ski resort.", "2024-01-01"),
        ("museum", "The museum opened a new wing.", "2024-01-01"),
    ]
    feed.write_text(
        "".join(json.dumps({"id": i, "text": t, "published_at": d}) + "\n" for i, t, d in stories),
        encoding="utf-8",
    )
    store = tmp_path / "s"
    assert _run(capsys, store, "ingest", str(feed))[0] == 0
    question = "council approved the harbour bridge budget"
    code, out, _ = _run(capsys, store, "search", question, "-k", "1")
    assert code == 0 and out.startswith("1. [older]")
    code, out, _ = _run(capsys, store, "search", question, "-k", "1", "--half-life", "7")
    assert code == 0 and out.startswith("1. [newer]")
    for days in ("0", "-3", "nan", "inf", "36501", "soon"):
        with pytest.raises(SystemExit) as exited:
            main(["--store", str(store), "search", question, "--half-life", days])
        err = capsys.readouterr().err
        assert exited.value.code == 2 and "argument --half-life" in err and "Traceback" not in err


def test_a_named_store_that_is_not_there_is_an_error_not_a_new_store(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _no_model(monkeypatch)
    for command in (["stats"], ["ask", "Who won?"], ["search", "election"], ["delete", "a"]):
        code, out, err = _run(capsys, tmp_path / "typo", *command)
        assert code == 1 and out == ""
        assert err == f"newsrag: error: no store at {tmp_path / 'typo'}: make one with " + (
            f"`newsrag --store {tmp_path / 'typo'} ingest PATH`\n"
        )
    assert not (tmp_path / "typo").exists()


def _no_model(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make loading the model fail the test: what is checked here must be checked before it."""
    import rag.ingest.embedder

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the model was loaded")

    monkeypatch.setattr(rag.ingest.embedder, "shared_embedder", refuse)


def test_bad_arguments_are_refused_before_the_model_loads(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _no_model(monkeypatch)
    monkeypatch.setenv("NEWSRAG_STORE", str(tmp_path / "default"))
    for command, says in [
        (["ask", " "], "the question is empty: ask about something"),
        (["search", ""], "the query is empty: ask about something"),
        (["search", "x", "--mode", "fast"], "unknown retrieval mode 'fast'"),
    ]:
        assert main(command) == 1
        err = capsys.readouterr().err
        assert err.startswith(f"newsrag: error: {says}") and err.count("\n") == 1
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n", encoding="utf-8")
    code, _, err = _run(capsys, tmp_path / "s", "ingest", str(empty))
    assert (code, err) == (1, f"newsrag: error: no documents found in {empty}\n")
    assert not (tmp_path / "s").exists() and not (tmp_path / "default").exists()


def test_ask_names_each_source_by_title_else_outlet_else_first_words(
    tmp_path: Path, embedder: Embedder, capsys: pytest.CaptureFixture[str]
) -> None:
    feed = tmp_path / "feed.jsonl"
    stories = [
        {
            "id": "t",
            "title": "Bridge vote",
            "source": "Gazette",
            "published_at": "2024-03-04",
            "text": "The council approved the harbour bridge budget on Monday.",
        },
        {"id": "o", "source": "Courier", "text": "The harbour bridge will open in 2027, officials said."},
        {"id": "w", "text": "Harbour bridge tolls will be two euros for cars from the first day."},
    ]
    feed.write_text("".join(json.dumps(s) + "\n" for s in stories), encoding="utf-8")
    store = tmp_path / "s"
    assert _run(capsys, store, "ingest", str(feed))[0] == 0
    lines = []
    for question in (
        "When did the council approve the harbour bridge budget?",
        "When will the harbour bridge open?",
        "How much will the harbour bridge tolls be?",
    ):
        code, out, _ = _run(capsys, store, "ask", question)
        assert code == 0
        lines += [line for line in out.splitlines() if line.startswith("[")]
    assert "[1] Bridge vote (Gazette, 2024-03-04)" in lines
    assert "[1] Courier" in lines
    assert "[1] Harbour bridge tolls will be two euros for…" in lines  # eight words


def test_migrate_copies_a_store_into_milvus_and_back_and_refuses_a_full_target(
    tmp_path: Path, embedder: Embedder, capsys: pytest.CaptureFixture[str]
) -> None:
    feed = tmp_path / "feed.jsonl"
    rows = [
        {"id": "a", "text": "Floods closed the main road into Kraków. Crews pumped water all night."},
        {
            "id": "b",
            "text": "Snow delayed trains in the north.",
            "source": "Courier",
            "metadata": {"line": 7},
        },
        {"id": "c", "text": "The harbour bridge will cost 40 million euros.", "title": "Bridge"},
    ]
    feed.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    folder, milvus, back = tmp_path / "s", f"milvus-lite:{tmp_path / 'm.db'}", tmp_path / "back"
    assert _run(capsys, folder, "ingest", str(feed))[0] == 0
    assert _run(capsys, folder, "delete", "a")[0] == 0  # chunk 1 is gone: the copy numbers b and c from 1
    code, out, err = main_run(capsys, "migrate", str(folder), milvus)
    assert (code, err) == (0, "")
    assert out.strip() == f"2 documents, 2 chunks, 2 sentences copied from {folder} to {milvus} in 1 write"
    code, out, _ = main_run(capsys, "--store", milvus, "search", "snow and trains", "-k", "2")
    assert code == 0 and out.splitlines()[0].startswith("1. [b]")
    code, out, _ = main_run(capsys, "migrate", milvus, str(back), "--batch", "1")
    assert code == 0 and out.strip().endswith("in 2 writes")
    for store, ids in ((folder, {2: "b", 3: "c"}), (milvus, {1: "b", 2: "c"}), (back, {1: "b", 2: "c"})):
        opened = open_store(store, {}, create=False)
        view = opened.snapshot()
        assert {i: row.doc_id for i, row in view.chunks([1, 2, 3]).items()} == ids
        b = view.document("b")
        assert b is not None and (b.source, b.metadata) == ("Courier", {"line": 7})
        opened.close()
    for store in (folder, back):
        code, out, _ = _run(capsys, store, "ask", "How much will the harbour bridge cost?")
        assert code == 0 and "40 million euros" in out
    code, out, err = main_run(capsys, "migrate", str(folder), milvus)
    assert (code, out) == (1, "")
    assert err == f"newsrag: error: {milvus} already holds 2 documents; migrate into a new, empty location\n"
    code, _, err = main_run(capsys, "migrate", str(tmp_path / "none"), str(tmp_path / "t"))
    assert code == 1 and err.startswith("newsrag: error: no store at") and len(err.splitlines()) == 1


def main_run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """The command line with exactly these arguments (no --store added)."""
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err
