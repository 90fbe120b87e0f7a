"""Embedding backends side by side: speed, agreement with torch, and retrieval quality.

Run from the repository root: .venv/bin/python -m bench.embedders [--passages N] [--rounds R] [--out FILE]

On the same texts in one process (SciFact passages as the ingest embeds them, title then
text, and the 300 SciFact test queries) it measures, for each backend at 1 and 2 threads:
throughput at batch 32, single-query p50/p95 latency, the ratio to torch at the same thread
count, and the cosine of every vector to torch's. Timing rounds alternate the backends (the
order rotates each round) so a neighbour's load on the other core hits them all alike; the
best round's throughput is reported, latencies pool every round.

Then nDCG@10 of dense and hybrid retrieval on SciFact test and RealTimeQA (questions from
2022 on), read from `newsrag --backend B eval ...` run folders under --runs, running the
evaluation when a folder is missing. int8 indexes the corpus itself (its own fingerprint);
fp32 ONNX shares torch's fingerprint, so it reuses torch's cached index exactly as a user
switching backends would, and only its query vectors differ (the cosine column shows by how
little). Give `newsrag eval` another --cache-dir to have fp32 ONNX index the corpus too.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from rag.ingest.embedder import BACKENDS, Embedder, EmbedderConfig

DATASETS = Path(__file__).resolve().parents[2] / "shared" / "datasets"
QUALITY = {  # name: (folder, extra eval arguments)
    "scifact": (DATASETS / "scifact", []),
    "realtimeqa": (DATASETS / "realtimeqa-news", ["--ids-from", "2022"]),
}
MODES = ("dense", "hybrid")
THREADS = (1, 2)


def load_texts(folder: Path, passages: int) -> tuple[list[str], list[str]]:
    """The first N corpus passages (title, newline, text) and every test query."""
    docs = []
    with (folder / "corpus.jsonl").open(encoding="utf-8") as handle:
        for line in handle:
            record = json.loads(line)
            title = record.get("title") or ""
            docs.append(f"{title}\n{record['text']}" if title else record["text"])
            if len(docs) >= passages:
                break
    with (folder / "queries.jsonl").open(encoding="utf-8") as handle:
        queries = [json.loads(line)["text"] for line in handle]
    return docs, queries


def load_embedders() -> dict[tuple[str, int], Embedder]:
    """One embedder per backend and thread count (torch's threads are set per round instead)."""
    embedders = {}
    for backend in BACKENDS:
        for threads in THREADS:
            if backend == "torch" and threads > 1:
                embedders[(backend, threads)] = embedders[(backend, 1)]
            else:
                embedders[(backend, threads)] = Embedder(EmbedderConfig(backend=backend, threads=threads))
    return embedders


def time_round(
    embedder: Embedder, threads: int, docs: list[str], queries: list[str]
) -> tuple[float, list[float]]:
    """Seconds to encode docs at batch 32, and each query's latency alone (ms)."""
    if embedder.backend == "torch":
        import torch

        torch.set_num_threads(threads)  # process-wide: set before every torch measurement
    embedder.encode(queries[:8])  # warm up
    started = time.perf_counter()
    embedder.encode(docs)
    seconds = time.perf_counter() - started
    latencies = []
    for query in queries:
        started = time.perf_counter()
        embedder.encode([query])
        latencies.append((time.perf_counter() - started) * 1000)
    return seconds, latencies


def measure_speed(
    embedders: dict[tuple[str, int], Embedder], docs: list[str], queries: list[str], rounds: int
) -> dict[tuple[str, int], dict[str, float]]:
    """Throughput and latency per (backend, threads), rounds alternating the order."""
    keys = list(embedders)
    seconds: dict[tuple[str, int], list[float]] = {k: [] for k in keys}
    latencies: dict[tuple[str, int], list[float]] = {k: [] for k in keys}
    for r in range(rounds):
        order = keys[r % len(keys) :] + keys[: r % len(keys)]
        for key in order:
            took, lat = time_round(embedders[key], key[1], docs, queries)
            seconds[key].append(took)
            latencies[key] += lat
            print(f"round {r + 1} {key[0]:>9} {key[1]}t: {len(docs) / took:6.1f} texts/s", file=sys.stderr)
    result = {}
    for key in keys:
        lat = sorted(latencies[key])
        result[key] = {
            "texts_per_s": len(docs) / min(seconds[key]),
            "texts_per_s_rounds": [len(docs) / s for s in seconds[key]],
            "p50_ms": statistics.median(lat),
            "p95_ms": lat[int(0.95 * (len(lat) - 1))],
        }
    return result


def agreement(embedders: dict[tuple[str, int], Embedder], texts: list[str]) -> dict[str, dict[str, float]]:
    """Cosine of each backend's vectors to torch's on the same texts (mean and min)."""
    reference = embedders[("torch", 1)].encode(texts)
    result = {}
    for backend in BACKENDS:
        cosines = (embedders[(backend, 1)].encode(texts) * reference).sum(axis=1)
        result[backend] = {"cos_mean": float(cosines.mean()), "cos_min": float(cosines.min())}
    return result


def quality(runs: Path, run_missing: bool) -> dict[str, dict[str, dict[str, float | None]]]:
    """nDCG@10 per dataset, backend and mode, from eval run folders (run when missing)."""
    result: dict[str, dict[str, dict[str, float | None]]] = {}
    for name, (folder, extra) in QUALITY.items():
        result[name] = {}
        for backend in BACKENDS:
            out = runs / f"{name}-{backend}"
            if not (out / "metrics.json").is_file() and run_missing:
                command = [sys.executable, "-m", "newsrag.cli", "--backend", backend, "eval", str(folder)]
                command += [
                    "--modes",
                    ",".join(MODES),
                    "--cache-dir",
                    ".newsrag/eval-cache",
                    "--out",
                    str(out),
                    *extra,
                ]
                print("running " + " ".join(command), file=sys.stderr)
                subprocess.run(command, check=True)
            result[name][backend] = _ndcg(out / "metrics.json")
    return result


def _ndcg(path: Path) -> dict[str, float | None]:
    if not path.is_file():
        return dict.fromkeys(MODES)
    modes = json.loads(path.read_text(encoding="utf-8"))["modes"]
    return {m: modes[m]["metrics"]["ndcg@10"] if m in modes else None for m in MODES}


def table(
    speed: dict[tuple[str, int], dict[str, float]], cos: dict[str, dict[str, float]], ndcg: Any
) -> list[str]:
    """The markdown tables: speed and agreement, then quality deltas to torch."""
    header = "| backend | threads | texts/s (batch 32) | × torch | query p50 ms | p95 ms | × torch p50 |"
    lines = [header + " cos mean / min |", "|---" * 8 + "|"]
    for (backend, threads), s in speed.items():
        base = speed[("torch", threads)]
        ratio = s["texts_per_s"] / base["texts_per_s"]
        lines.append(
            f"| {backend} | {threads} | {s['texts_per_s']:.1f} | {ratio:.2f} "
            f"| {s['p50_ms']:.1f} | {s['p95_ms']:.1f} | {base['p50_ms'] / s['p50_ms']:.2f} "
            f"| {cos[backend]['cos_mean']:.4f} / {cos[backend]['cos_min']:.4f} |"
        )
    lines += [
        "",
        "| dataset | mode | "
        + " | ".join(BACKENDS)
        + " | "
        + " | ".join(f"Δ {b}" for b in BACKENDS[1:])
        + " |",
    ]
    lines.append("|---" * (2 + 2 * len(BACKENDS) - 1) + "|")
    for name, per_backend in ndcg.items():
        for mode in MODES:
            values = [per_backend[b][mode] for b in BACKENDS]
            torch_value = values[0]
            cells = [f"{v:.4f}" if v is not None else "—" for v in values]
            deltas = [
                f"{v - torch_value:+.4f}" if v is not None and torch_value is not None else "—"
                for v in values[1:]
            ]
            lines.append(f"| {name} | {mode} | " + " | ".join(cells + deltas) + " |")
    return lines


def main() -> None:
    """Measure, print the tables, write the JSON."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--passages", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--runs", type=Path, default=Path("runs/embedders"), help="eval run folders")
    parser.add_argument("--no-eval", action="store_true", help="report only run folders that exist")
    parser.add_argument("--out", type=Path, default=Path("runs/embedders/bench.json"))
    parser.add_argument(
        "--quality-only", action="store_true", help="keep the speed and cosine figures already in --out"
    )
    args = parser.parse_args()
    if args.quality_only:
        payload = json.loads(args.out.read_text(encoding="utf-8"))
    else:
        docs, queries = load_texts(DATASETS / "scifact", args.passages)
        embedders = load_embedders()
        speed = measure_speed(embedders, docs, queries, args.rounds)
        payload = {
            "passages": len(docs),
            "queries": len(queries),
            "rounds": args.rounds,
            "speed": {f"{b}/{t}": s for (b, t), s in speed.items()},
            "cosine_to_torch": agreement(embedders, docs + queries),
        }
    payload["ndcg@10"] = quality(args.runs, not args.no_eval)
    speed = {(key.split("/")[0], int(key.split("/")[1])): s for key, s in payload["speed"].items()}
    payload["table"] = lines = table(speed, payload["cosine_to_torch"], payload["ndcg@10"])
    print("\n".join(lines))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    print(f"written to {args.out}")


if __name__ == "__main__":
    main()
