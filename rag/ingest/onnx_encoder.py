"""The ONNX backends: a sentence-transformers model exported once to ONNX, run with onnxruntime.

The export is made locally from the model folder (torch.onnx.export with the TorchScript
exporter, eager attention), never downloaded, and cached under
<cache>/<model fingerprint>/<variant>.onnx. Every file is written to a temporary name and
moved into place with os.replace, so a killed export leaves no half file behind.
Tokenising, truncation to max_seq_length, mean pooling and L2 normalisation follow the
sentence-transformers pipeline (Transformer -> Pooling(mean) -> Normalize).
"""

from __future__ import annotations

import json
import logging
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from index.atomic import write_atomic
from rag.errors import ModelNotFoundError

EXPORT_VERSION = 1  # bump when the export or quantisation recipe changes: old cache files are left unused
VARIANTS = {"onnx": "fp32", "onnx-int8": "int8"}
_SUPPORTED_MODULES = (
    "sentence_transformers.models.Transformer",
    "sentence_transformers.models.Pooling",
    "sentence_transformers.models.Normalize",
)


def onnx_path(cache_dir: Path, fingerprint: str, variant: str) -> Path:
    """The cache file of one variant ("fp32" or "int8") of the model with this fingerprint."""
    return cache_dir / fingerprint / f"{variant}-v{EXPORT_VERSION}.onnx"


class OnnxEncoder:
    """Encodes texts with an ONNX export of a mean-pooled, normalised sentence-transformers model."""

    def __init__(
        self, folder: Path, variant: str, cache_dir: Path, fingerprint: str, threads: int | None
    ) -> None:
        self.max_seq_length, self._lower = _check_pipeline(folder)
        self.tokenizer = _load_tokenizer(folder)
        self.path = onnx_path(cache_dir, fingerprint, variant)
        self.exported = not self.path.is_file()  # True when this construction had to build the file
        if self.exported:
            build(folder, variant, self.path, onnx_path(cache_dir, fingerprint, "fp32"), self.tokenizer)
        self._session = _session(self.path, threads)
        self._inputs = {i.name for i in self._session.get_inputs()}
        self.dimension = int(self._session.get_outputs()[0].shape[-1])

    def encode(self, texts: list[str], batch_size: int) -> np.ndarray:
        """Unit vectors for texts, batched longest-first as sentence-transformers does."""
        order = np.argsort([-len(t) for t in texts], kind="stable")
        out = np.empty((len(texts), self.dimension), dtype=np.float32)
        for start in range(0, len(texts), batch_size):
            picked = order[start : start + batch_size]
            out[picked] = self._encode_batch([texts[i] for i in picked])
        return out

    def encode_tokens(self, texts: list[str], batch_size: int) -> list[tuple[np.ndarray, np.ndarray]]:
        """Per text, its token embeddings and their character offsets in the prepared text
        (`prepare`), the [CLS] and [SEP] rows included with offsets (0, 0)."""
        order = np.argsort([-len(t) for t in texts], kind="stable")
        out: list[tuple[np.ndarray, np.ndarray]] = [(np.empty(0), np.empty(0))] * len(texts)
        for start in range(0, len(texts), batch_size):
            picked = order[start : start + batch_size]
            tokens, mask, offsets = self._run([texts[i] for i in picked], offsets=True)
            for row, i in enumerate(picked):
                n = int(mask[row].sum())
                out[i] = (tokens[row, :n], offsets[row, :n])
        return out

    def prepare(self, text: str) -> str:
        """What the model reads of text, as sentence-transformers prepares it."""
        return prepared(text, self._lower)

    def _encode_batch(self, texts: list[str]) -> np.ndarray:
        tokens, mask, _ = self._run(texts, offsets=False)
        weights = mask[:, :, None].astype(np.float32)
        pooled = (tokens * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return (pooled / np.clip(norms, 1e-12, None)).astype(np.float32)

    def _run(self, texts: list[str], offsets: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Token embeddings, attention mask and (when asked) offsets of one padded batch."""
        features = self.tokenizer(
            [self.prepare(t) for t in texts],
            padding=True,
            truncation="longest_first",
            max_length=self.max_seq_length,
            return_tensors="np",
            return_offsets_mapping=offsets,
        )
        feeds = {name: np.asarray(v, dtype=np.int64) for name, v in features.items() if name in self._inputs}
        tokens = self._session.run(None, feeds)[0]
        found = np.asarray(features["offset_mapping"]) if offsets else np.empty(0)
        return tokens, feeds["attention_mask"], found


def prepared(text: str, lower: bool) -> str:
    """What a sentence-transformers Transformer module reads of text: stripped, lowercased if it says so."""
    return text.strip().lower() if lower else text.strip()


def build(folder: Path, variant: str, target: Path, fp32: Path, tokenizer: Any) -> None:
    """Write target: the fp32 export, or the fused int8 model derived from it (exporting it first)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    if not fp32.is_file():
        _atomic(fp32, lambda tmp: _export(folder, tmp, tokenizer))
    if variant == "int8":
        _atomic(target, lambda tmp: _quantise(folder, fp32, tmp))


def _atomic(target: Path, write: Any) -> None:
    """Run write(temp_path) next to target, fsync, then move it into place."""
    try:
        write_atomic(target, write)
    except (OSError, RuntimeError, ValueError) as exc:  # torch and onnxruntime raise these on failure
        raise ModelNotFoundError(f"cannot write the ONNX model {target}: {exc}") from exc


def _export(folder: Path, tmp: Path, tokenizer: Any) -> None:
    import torch
    import transformers

    transformers.utils.logging.disable_progress_bar()
    transformers.utils.logging.set_verbosity_error()
    model = transformers.AutoModel.from_pretrained(
        str(folder), attn_implementation="eager", local_files_only=True
    )
    model.eval()
    sample = tokenizer(
        ["an example sentence", "a second, longer example sentence"], padding=True, return_tensors="pt"
    )
    names = list(sample.keys())

    class _TokenEmbeddings(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
            return self.model(**dict(zip(names, inputs, strict=True))).last_hidden_state

    axes = {name: {0: "batch", 1: "sequence"} for name in names}
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer warnings about Python control flow on shapes
        torch.onnx.export(
            _TokenEmbeddings(),
            tuple(sample[n] for n in names),
            str(tmp),
            input_names=names,
            output_names=["token_embeddings"],
            dynamic_axes={**axes, "token_embeddings": {0: "batch", 1: "sequence"}},
            opset_version=17,
            dynamo=False,
        )


def _quantise(folder: Path, fp32: Path, tmp: Path) -> None:
    """BERT-fuse the fp32 graph, then int8 dynamic quantisation per channel with reduce_range.

    Plain dynamic int8 drifts too far (cosine to torch 0.95 mean, 0.90 min); fused and per-channel
    with reduce_range it stays at ~0.99 (see MODELS.md).
    """
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from onnxruntime.transformers.optimizer import optimize_model

    config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    fused = tmp.with_name(tmp.name + ".fused.onnx")  # as unique as tmp
    logging.disable(logging.WARNING)  # the quantiser logs advice to the root logger on every run
    try:
        optimized = optimize_model(
            str(fp32),
            model_type="bert",
            num_heads=int(config["num_attention_heads"]),
            hidden_size=int(config["hidden_size"]),
        )
        optimized.save_model_to_file(str(fused))
        quantize_dynamic(
            str(fused),
            str(tmp),
            weight_type=QuantType.QInt8,
            per_channel=True,
            reduce_range=True,
            extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
        )
    finally:
        logging.disable(logging.NOTSET)
        fused.unlink(missing_ok=True)


def _session(path: Path, threads: int | None) -> Any:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads or 0  # 0: onnxruntime's default (one per physical core)
    options.inter_op_num_threads = 1
    # Idle workers sleep rather than spin: on a shared or busy box, spinning threads burn the very
    # cores the other workers (and torch, and other processes) are waiting for.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3
    try:
        return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own untyped errors on a bad file
        raise ModelNotFoundError(
            f"cannot load the exported model {path}: {exc}; delete the file to export it again"
        ) from None


def _check_pipeline(folder: Path) -> tuple[int, bool]:
    """max_seq_length and do_lower_case, once the model is known to be Transformer + mean Pooling."""
    modules = json.loads((folder / "modules.json").read_text(encoding="utf-8"))
    kinds = [m.get("type") for m in modules]
    pooling = next((folder / m["path"] for m in modules if m.get("type") == _SUPPORTED_MODULES[1]), None)
    mean = False
    if pooling is not None and (pooling / "config.json").is_file():
        settings = json.loads((pooling / "config.json").read_text(encoding="utf-8"))
        modes = [k for k, v in settings.items() if k.startswith("pooling_mode") and v]
        mean = modes == ["pooling_mode_mean_tokens"]
    if not mean or any(k not in _SUPPORTED_MODULES for k in kinds) or kinds[0] != _SUPPORTED_MODULES[0]:
        raise ModelNotFoundError(
            f"the ONNX backends run only mean-pooled Transformer models, and {folder} has modules "
            f"{', '.join(str(k).rsplit('.', 1)[-1] for k in kinds)}: use the torch backend for it"
        )
    config = json.loads((folder / "sentence_bert_config.json").read_text(encoding="utf-8"))
    return int(config["max_seq_length"]), bool(config.get("do_lower_case", False))


def _load_tokenizer(folder: Path) -> Any:
    import transformers

    transformers.utils.logging.set_verbosity_error()  # counting long texts is not an error
    try:
        return transformers.AutoTokenizer.from_pretrained(str(folder), local_files_only=True)
    except (OSError, ValueError) as exc:
        raise ModelNotFoundError(f"cannot load the tokenizer from {folder}: {exc}") from None
