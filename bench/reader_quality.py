"""The reader on its own, over the gold paragraph: SQuAD 2.0 EM/F1 on the held-out articles, for
the fp32 export against the int8 file that ships (the choice between them is made on this).

    python -m bench.reader_quality [--fp32 runs/reader/reader-fp32.onnx] [--limit N]

Every window of the question's own paragraph is read; the answer is the best window's span
(by answerability logit + span margin) when its answerability logit is above 0, else no answer.
Scored as SQuAD 2.0's scorer does: over all questions, an unanswerable one right when no answer
is given. This is a model-level figure; the answer the service gives is measured by newsrag eval.
The forced figures answer every answerable question with the best span whatever the logit: the
gold paragraph given and no abstention, they bound what the service's EM/F1 over all answerable
questions can reach with this model.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from eval.answer_metrics import exact_match, f1
from eval.datasets import load_dataset, select_queries
from rag.compose.reader import MODEL_FILE, Reader, shared_reader
from rag.compose.reader_input import window_around, window_budget
from rag.language.text import sentence_spans

SQUAD = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "squad-v2.0-dev"


def predict(reader: Reader, question: str, context: str) -> tuple[str, str, list[float]]:
    """The predicted answer ("" for none), the best span however unsure, and every window's
    answerability logit."""
    spans = [(s.start, s.end) for s in sentence_spans(context)]
    counts = reader.token_counts([context[a:b] for a, b in spans])
    budget = window_budget(reader.question_tokens(question))
    windows = sorted(
        {(w.start, w.end) for w in (window_around(i, spans, counts, budget) for i in range(len(spans)))}
    )
    readings = reader.read(question, [context[a:b] for a, b in windows])
    scores = [r.answerable + r.span_margin for r in readings]
    best = int(np.argmax(scores))
    r = readings[best]
    forced = context[windows[best][0] + r.start : windows[best][0] + r.end].strip()
    return (forced if r.answerable > 0 else ""), forced, [x.answerable for x in readings]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--fp32", type=Path, help="the fp32 export to compare with")
    parser.add_argument("--int8", type=Path, default=MODEL_FILE)
    parser.add_argument("--limit", type=int)
    parser.add_argument("--part", default="test")
    args = parser.parse_args()
    dataset = load_dataset(SQUAD)
    texts = {d.doc_id: d.text for d in dataset.documents}
    qids = select_queries(dataset, part=args.part, limit=args.limit)
    tokenizer = shared_reader().tokenizer
    readers = {"int8": Reader.unchecked(tokenizer, args.int8)}
    if args.fp32:
        readers["fp32"] = Reader.unchecked(tokenizer, args.fp32)
    results: dict[str, dict[str, float]] = {}
    logits: dict[str, list[float]] = {}
    for name, reader in readers.items():
        ems, f1s, has_ems, has_f1s, forced_ems, forced_f1s = [], [], [], [], [], []
        started = time.perf_counter()
        logits[name] = []
        for qid in qids:
            key = dataset.answers[qid]
            answer, forced, answerable = predict(reader, dataset.queries[qid], texts[key.corpus_id or ""])
            logits[name] += answerable
            golds = key.answers if not key.is_impossible else ("",)
            em = exact_match(answer, golds) if answer or golds != ("",) else 1.0
            f = f1(answer, golds) if answer or golds != ("",) else 1.0
            ems.append(em)
            f1s.append(f)
            if not key.is_impossible:
                has_ems.append(em)
                has_f1s.append(f)
                forced_ems.append(exact_match(forced, golds))
                forced_f1s.append(f1(forced, golds))
        results[name] = {
            "questions": len(qids),
            "em": float(np.mean(ems)),
            "f1": float(np.mean(f1s)),
            "has_answer_em": float(np.mean(has_ems)),
            "has_answer_f1": float(np.mean(has_f1s)),
            "has_answer_em_forced": float(np.mean(forced_ems)),
            "has_answer_f1_forced": float(np.mean(forced_f1s)),
            "seconds": time.perf_counter() - started,
        }
        print(name, json.dumps(results[name]), flush=True)
    if "fp32" in logits:
        correlation = float(np.corrcoef(logits["int8"], logits["fp32"])[0, 1])
        print(json.dumps({"answerability_logit_correlation": correlation}))


if __name__ == "__main__":
    main()
