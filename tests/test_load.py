"""Ten clients against a real `newsrag serve` while `newsrag ingest` (another process) writes to its store.

The short version of bench/load.py: no request may fail, and the new documents must be searchable.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from test_api_server import Server, free_port, wait_ready

REPO = Path(__file__).resolve().parents[1]
CLIENTS = 10
MIN_SECONDS = 8.0
THINK_SECONDS = 0.05  # between a client's requests: leaves the 2-core CI box some room for the ingest
NEW = [
    {
        "id": f"load-{i}",
        "source": "LoadWire",
        "text": f"The harbour council of Quellmarsh{i} approved a ferry terminal with {i + 3} berths. "
        "Fishermen asked for a quieter night schedule.",
    }
    for i in range(20)
]


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("NEWSRAG_")} | {"NEWSRAG_RATE_LIMIT": "0"}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """`newsrag serve` on a new store, which it seeds with the shipped digest."""
    folder = tmp_path_factory.mktemp("load")
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "newsrag.cli",
        "--store",
        str(folder / "store"),
        "serve",
        "--port",
        str(port),
    ]
    log = folder / "server.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=_env())
    url = f"http://127.0.0.1:{port}"
    wait_ready(url, process, log)
    yield Server(url, process, log)
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=60) == 0, log.read_text()


def _questions() -> list[str]:
    lines = (REPO / "data" / "eval" / "queries.jsonl").read_text().splitlines()
    return [json.loads(line)["text"] for line in lines if line.strip()]


def test_no_request_fails_while_another_process_ingests(server: Server, tmp_path: Path) -> None:
    questions = _questions()
    statuses: list[int] = []
    lock = threading.Lock()
    stop = threading.Event()

    def client(offset: int) -> None:
        with httpx.Client(base_url=server.url, timeout=60) as http:
            n = offset
            while not stop.is_set():
                question = questions[n % len(questions)]
                try:
                    if n % 4 == 3:
                        status = http.post("/v1/ask", json={"question": question}).status_code
                    else:
                        status = http.get("/v1/search", params={"q": question, "k": 5}).status_code
                except httpx.HTTPError:
                    status = 0
                with lock:
                    statuses.append(status)
                n += 1
                time.sleep(THINK_SECONDS)

    threads = [threading.Thread(target=client, args=(i * 5,)) for i in range(CLIENTS)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    time.sleep(1.0)
    path = tmp_path / "new.jsonl"
    path.write_text("".join(json.dumps(d) + "\n" for d in NEW))
    store = str(server.log.parent / "store")
    command = [sys.executable, "-m", "newsrag.cli", "--store", store, "ingest", str(path)]
    ingest = subprocess.run(command, env=_env(), capture_output=True, text=True, timeout=120)
    before_end = len(statuses)
    time.sleep(max(1.5, MIN_SECONDS - (time.monotonic() - started)))  # let readers see the new snapshot
    stop.set()
    for thread in threads:
        thread.join()

    assert ingest.returncode == 0, ingest.stderr
    assert "20 added" in ingest.stdout
    assert before_end > CLIENTS and len(statuses) > before_end  # requests ran during and after the ingest
    assert statuses.count(200) == len(statuses), {s: statuses.count(s) for s in set(statuses)}
    with httpx.Client(base_url=server.url, timeout=30) as http:
        for i, document in enumerate(NEW):
            lexical = {"q": f"Quellmarsh{i}", "k": 1, "mode": "lexical"}
            hybrid = {"q": f"Quellmarsh{i} ferry", "k": 1}
            for params in (lexical, hybrid):
                hits = http.get("/v1/search", params=params).json()["hits"]
                assert [h["doc_id"] for h in hits] == [document["id"]], params
        assert http.get("/v1/stats").json()["documents"] == 10 + len(NEW)
