"""The ONNX backends against torch: same vectors (fp32), close vectors (int8), cached export."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from pydantic import ValidationError

from api.settings import Settings
from newsrag.cli import main
from rag.errors import InvalidRequestError, ModelNotFoundError
from rag.ingest import onnx_encoder
from rag.ingest.embedder import Embedder, EmbedderConfig, shared_embedder

LONG = (
    "The central bank left its benchmark rate unchanged on Thursday, saying inflation had eased "
    "but remained above its target, and signalled that it would keep policy tight for longer. "
) * 12  # ~400 wordpieces: past the model's 256, so truncation is exercised

SENTENCES = [
    "Wildfires forced more than 30,000 people to evacuate their homes in northern California.",
    "The Senate passed a $1.2 trillion infrastructure bill with bipartisan support on Tuesday.",
    "Apple unveiled a new iPhone with a faster chip and a better camera at its annual event.",
    "Scientists confirmed the first case of the new variant in South Africa last week.",
    "Who won the 2022 World Cup final in Qatar?",
    LONG,
]


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One export cache for the module: each variant is exported once."""
    return tmp_path_factory.mktemp("onnx-cache")


@pytest.fixture(scope="module")
def embedder() -> Embedder:
    """The torch backend, the reference every ONNX vector is compared with."""
    return shared_embedder(EmbedderConfig(backend="torch"))


@pytest.fixture(scope="module")
def torch_vectors(embedder: Embedder) -> np.ndarray:
    return embedder.encode(SENTENCES)


@pytest.fixture(scope="module")
def onnx_embedder(cache: Path) -> Embedder:
    return Embedder(EmbedderConfig(backend="onnx", threads=1, onnx_cache=str(cache)))


@pytest.fixture(scope="module")
def int8_embedder(cache: Path, onnx_embedder: Embedder) -> Embedder:
    return Embedder(EmbedderConfig(backend="onnx-int8", threads=1, onnx_cache=str(cache)))


def test_long_sentence_is_truncated(embedder: Embedder, onnx_embedder: Embedder) -> None:
    assert embedder.wordpieces(LONG) > embedder.max_wordpieces == onnx_embedder.max_wordpieces == 256
    assert onnx_embedder.wordpieces(LONG) == embedder.wordpieces(LONG)


def test_fp32_onnx_matches_torch(onnx_embedder: Embedder, torch_vectors: np.ndarray) -> None:
    vectors = onnx_embedder.encode(SENTENCES)
    assert vectors.shape == (len(SENTENCES), 384) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert (vectors * torch_vectors).sum(axis=1).min() > 0.9999


def test_spans_are_pooled_alike_by_both_backends(
    embedder: Embedder, onnx_embedder: Embedder, torch_vectors: np.ndarray
) -> None:
    story = "  " + SENTENCES[0] + " " + SENTENCES[1]  # leading blanks: the model reads it stripped
    first = (2, 2 + len(SENTENCES[0]))
    second = (first[1] + 1, len(story))
    past = (len(LONG) - 60, len(LONG))  # beyond the 256 wordpieces the model reads
    texts, spans = [story, LONG], [[first, second], [(0, 40), past]]
    for backend in (embedder, onnx_embedder):
        vectors, pooled = backend.encode_spans(texts, spans)
        assert (vectors * backend.encode(texts)).sum(axis=1).min() > 0.9999  # the texts' own vectors
        assert [p.shape for p in pooled] == [(2, 384), (2, 384)]
        np.testing.assert_allclose(np.linalg.norm(pooled[0], axis=1), 1.0, atol=1e-5)
        # each span is nearest its own sentence read alone, and the cut-off span has no vector
        own = pooled[0] @ torch_vectors[:2].T
        assert own[0, 0] > own[0, 1] and own[1, 1] > own[1, 0] and own.diagonal().min() > 0.7
        assert not pooled[1][1].any() and pooled[1][0].any()
    torch_pooled = embedder.encode_spans(texts, spans)[1][0]
    onnx_pooled = onnx_embedder.encode_spans(texts, spans)[1][0]
    assert (torch_pooled * onnx_pooled).sum(axis=1).min() > 0.9999


def test_fp32_onnx_keeps_torch_fingerprint(onnx_embedder: Embedder, embedder: Embedder) -> None:
    assert (onnx_embedder.name, onnx_embedder.fingerprint) == (embedder.name, embedder.fingerprint)


def test_int8_is_close_but_fingerprinted_apart(
    int8_embedder: Embedder, embedder: Embedder, torch_vectors: np.ndarray
) -> None:
    cosines = (int8_embedder.encode(SENTENCES) * torch_vectors).sum(axis=1)
    assert cosines.min() > 0.97
    assert int8_embedder.fingerprint != embedder.fingerprint
    assert int8_embedder.name == f"{embedder.name} onnx-int8"


def test_order_and_batching_do_not_change_vectors(onnx_embedder: Embedder) -> None:
    together = onnx_embedder.encode(SENTENCES)
    alone = np.stack([onnx_embedder.encode([s])[0] for s in SENTENCES])
    np.testing.assert_allclose(together, alone, atol=1e-5)


def test_export_is_cached(cache: Path, onnx_embedder: Embedder, int8_embedder: Embedder) -> None:
    files = sorted(cache.rglob("*.onnx"))
    assert [f.name for f in files] == ["fp32-v1.onnx", "int8-v1.onnx"]
    assert onnx_embedder._onnx.exported and int8_embedder._onnx.exported
    mtimes = [f.stat().st_mtime_ns for f in files]
    again = Embedder(EmbedderConfig(backend="onnx-int8", onnx_cache=str(cache)))
    assert not again._onnx.exported
    assert [f.stat().st_mtime_ns for f in files] == mtimes
    assert sorted(p.name for p in cache.rglob("*") if p.is_file()) == ["fp32-v1.onnx", "int8-v1.onnx"]


def test_failed_export_leaves_no_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(folder: Path, tmp: Path, tokenizer: object) -> None:
        tmp.write_bytes(b"half a model")
        raise RuntimeError("killed mid-export")

    monkeypatch.setattr(onnx_encoder, "_export", broken)
    with pytest.raises(ModelNotFoundError, match="killed mid-export"):
        Embedder(EmbedderConfig(backend="onnx", onnx_cache=str(tmp_path)))
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []


def test_default_is_fp32_onnx() -> None:
    assert EmbedderConfig().backend == "onnx"


def test_unknown_backend_is_refused() -> None:
    with pytest.raises(
        InvalidRequestError, match=r"unknown embedding backend 'tensorrt': choose one of torch, onnx"
    ):
        EmbedderConfig(backend="tensorrt")


def test_unknown_backend_at_the_cli(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["--store", str(tmp_path / "s"), "--backend", "tensorrt", "stats"]) == 1
    err = capsys.readouterr().err
    assert (
        err == "newsrag: error: unknown embedding backend 'tensorrt': choose one of torch, onnx, onnx-int8\n"
    )


def test_unknown_backend_in_settings() -> None:
    with pytest.raises(ValidationError, match="unknown embedding backend 'tensorrt'"):
        Settings(embed_backend="tensorrt")
    assert Settings(embed_backend="onnx-int8").embed_backend == "onnx-int8"


def test_the_export_folder_follows_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from newsrag.cli import onnx_cache

    monkeypatch.setenv("NEWSRAG_ONNX_CACHE", str(tmp_path / "models"))
    assert Settings().onnx_cache == tmp_path / "models"
    assert onnx_cache(str(tmp_path / "models")) == str(tmp_path / "models")
    monkeypatch.delenv("NEWSRAG_ONNX_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert Settings().onnx_cache == tmp_path / "xdg" / "newsrag" / "onnx"
    assert onnx_cache("") == str(tmp_path / "xdg" / "newsrag" / "onnx")
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/cache")  # not absolute: ignored, as the spec says
    assert Settings().onnx_cache == Path.home() / ".cache" / "newsrag" / "onnx"
    monkeypatch.setenv("NEWSRAG_ONNX_CACHE", "  ")  # blank is unset
    assert Settings().onnx_cache == Path.home() / ".cache" / "newsrag" / "onnx"
