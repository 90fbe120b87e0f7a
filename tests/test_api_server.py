"""Smoke test through a real `newsrag serve` (uvicorn) process on an ephemeral port: one server per module."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

KEY = "smoke-key"
AUTH = {"Authorization": f"Bearer {KEY}"}
START_TIMEOUT = 120.0


@dataclass
class Server:
    """A running server: its base URL, process and combined output file."""

    url: str
    process: subprocess.Popen[bytes]
    log: Path


def free_port() -> int:
    """A port nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_ready(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    """Poll /readyz until the model and store are loaded, or fail with the server's output."""
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"server exited with {process.returncode}:\n{log.read_text()}")
        try:
            if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    process.kill()
    pytest.fail(f"server not ready after {START_TIMEOUT} s:\n{log.read_text()}")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """`newsrag serve` on a new store (so it seeds the digest), stopped with SIGINT at the end."""
    folder = tmp_path_factory.mktemp("api-server")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSRAG_")}
    env.update(NEWSRAG_API_KEY=KEY, NEWSRAG_RATE_LIMIT="0", NEWSRAG_CORS_ORIGINS="https://news.example")
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
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{port}"
    wait_ready(url, process, log)
    yield Server(url, process, log)
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=30) == 0, log.read_text()
    assert "Traceback" not in log.read_text()
    assert (folder / "store" / "vectors.faiss").is_file()


def test_serve_seeds_the_digest_and_is_ready(server: Server) -> None:
    assert httpx.get(f"{server.url}/readyz").json() == {"status": "ready", "documents": 10}
    assert httpx.get(f"{server.url}/healthz").json()["status"] == "ok"


def test_ask_over_http(server: Server) -> None:
    response = httpx.post(
        f"{server.url}/v1/ask",
        json={"question": "Where will Germany deploy Patriot missile units?"},
        headers={"Origin": "https://news.example"},
    )
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == "https://news.example"
    body = response.json()
    assert body["abstained"] is False and "Poland" in body["text"]


def test_writes_need_the_key_over_http(server: Server) -> None:
    document = [
        {"id": "smoke-1", "text": "The lighthouse keeper retired after forty years.", "source": "Smoke"}
    ]
    refused = httpx.post(f"{server.url}/v1/documents", json=document)
    assert refused.status_code == 401 and refused.json()["error"]["code"] == "unauthorized"
    accepted = httpx.post(f"{server.url}/v1/documents", json=document, headers=AUTH)
    assert accepted.status_code == 200 and accepted.json()["added"] == 1
    hits = httpx.get(f"{server.url}/v1/search", params={"q": "lighthouse keeper", "source": "smoke"}).json()[
        "hits"
    ]
    assert [h["doc_id"] for h in hits] == ["smoke-1"]


def test_queries_keep_working_during_an_ingest(server: Server) -> None:
    base = httpx.get(f"{server.url}/v1/stats").json()["documents"]
    batch = [
        {
            "id": f"bulk-{i}",
            "source": "Bulk",
            "text": f"Warehouse {i} shipped {i * 3} pallets of steel. "
            f"Customs cleared lorry {i} at dawn. The drivers rested before the return trip.",
        }
        for i in range(100)
    ]
    seen: list[tuple[int, Any]] = []
    done = threading.Event()

    def read() -> None:
        with httpx.Client(base_url=server.url, timeout=30) as client:
            while not done.is_set():
                stats = client.get("/v1/stats")
                found = client.get("/v1/search", params={"q": "pallets of steel", "k": 3})
                seen.append((stats.status_code, stats.json().get("documents")))
                seen.append((found.status_code, None))

    readers = [threading.Thread(target=read) for _ in range(4)]
    for reader in readers:
        reader.start()
    try:
        ingest = httpx.post(f"{server.url}/v1/documents", json=batch, headers=AUTH, timeout=120)
    finally:
        done.set()
        for reader in readers:
            reader.join()
    assert ingest.status_code == 200 and ingest.json()["added"] == 100
    assert seen and {status for status, _ in seen} == {200}
    assert {count for _, count in seen if count is not None} <= {base, base + 100}


def test_metrics_scrape_and_access_log(server: Server) -> None:
    httpx.get(
        f"{server.url}/v1/search",
        params={"q": "NATO membership", "k": 2},
        headers={"X-Request-ID": "smoke-r1"},
    )
    text = httpx.get(f"{server.url}/metrics").text
    assert 'newsrag_http_requests_total{method="GET",route="/v1/search",status="200"}' in text
    assert 'newsrag_http_request_duration_seconds_bucket{le="0.5",method="GET",route="/v1/search"}' in text
    assert "newsrag_store_documents " in text
    time.sleep(0.2)  # let the server flush its log line
    lines = [json.loads(line) for line in server.log.read_text().splitlines() if line.startswith("{")]
    mine = [line for line in lines if line["request_id"] == "smoke-r1"]
    assert len(mine) == 1
    assert (mine[0]["method"], mine[0]["route"], mine[0]["status"], mine[0]["client"]) == (
        "GET",
        "/v1/search",
        200,
        "127.0.0.1",
    )
    assert mine[0]["latency_ms"] > 0


def _read_only_mount_works() -> bool:
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        script = f"mount --bind -o ro {folder} {folder} && ! touch {folder}/probe 2>/dev/null"
        probe = subprocess.run(["unshare", "-rm", "sh", "-c", script], capture_output=True, check=False)
        return probe.returncode == 0


@pytest.mark.skipif(not _read_only_mount_works(), reason="this machine cannot make a read-only bind mount")
def test_a_store_on_a_read_only_mount_is_served_and_refuses_writes(
    tmp_path: Path, embedder: Any, digest_documents: Any
) -> None:
    from rag.engine import Engine

    store = tmp_path / "store"
    with Engine.open(store, embedder=embedder) as engine:
        engine.ingest(digest_documents)
    before = {p.relative_to(store): p.read_bytes() for p in store.rglob("*") if p.is_file()}
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSRAG_")}
    env.update(NEWSRAG_API_KEY=KEY, NEWSRAG_RATE_LIMIT="0")
    serve = f"{sys.executable} -m newsrag.cli --store {store} serve --port {port} --read-only"
    # The server sees the store folder through a read-only bind mount of its own (a user and
    # mount namespace: nothing changes outside it, no root needed).
    command = ["unshare", "-rm", "sh", "-c", f"mount --bind -o ro {store} {store} && exec {serve}"]
    log = tmp_path / "server.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(url, process, log)
        question = {"question": "Where will Germany deploy Patriot missile units?"}
        answer = httpx.post(f"{url}/v1/ask", json=question, timeout=30)
        assert answer.status_code == 200 and "Poland" in answer.json()["text"]
        assert httpx.get(f"{url}/v1/stats", timeout=10).json()["documents"] == len(digest_documents)
        write = httpx.post(f"{url}/v1/documents", json=[{"text": "New."}], headers=AUTH, timeout=10)
        assert write.status_code == 403 and write.json()["error"]["code"] == "read_only"
        assert "read-only" in write.json()["error"]["message"]
        delete = httpx.delete(f"{url}/v1/documents/x", headers=AUTH, timeout=10)
        assert delete.status_code == 403
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=30)
    assert "Traceback" not in log.read_text()
    assert {p.relative_to(store): p.read_bytes() for p in store.rglob("*") if p.is_file()} == before


def test_serve_on_a_milvus_lite_store_seeds_answers_writes_and_reports_stats(tmp_path: Path) -> None:
    store = f"milvus-lite:{tmp_path / 'store.db'}"
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSRAG_")}
    env.update(NEWSRAG_API_KEY=KEY, NEWSRAG_RATE_LIMIT="0")
    command = [sys.executable, "-m", "newsrag.cli", "--store", store, "serve", "--port", str(port)]
    log = tmp_path / "server.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(url, process, log)
        answer = httpx.post(
            f"{url}/v1/ask", json={"question": "Where will Germany deploy Patriot missile units?"}
        )
        assert answer.status_code == 200 and "Poland" in answer.json()["text"]
        document = [
            {"id": "lite-1", "text": "The lighthouse keeper retired after forty years.", "source": "Lite"}
        ]
        assert httpx.post(f"{url}/v1/documents", json=document, headers=AUTH, timeout=30).json()["added"] == 1
        hits = httpx.get(f"{url}/v1/search", params={"q": "lighthouse keeper", "source": "LITE"}).json()[
            "hits"
        ]
        assert [h["doc_id"] for h in hits] == ["lite-1"]
        stats = httpx.get(f"{url}/v1/stats").json()
        assert (stats["documents"], stats["generation"]) == (11, 2) and stats["size_bytes"] > 0
    finally:
        process.send_signal(signal.SIGINT)
        code = process.wait(timeout=30)
    assert code == 0 and "Traceback" not in log.read_text()


def test_serve_refuses_several_workers_on_one_milvus_lite_file(tmp_path: Path) -> None:
    store = f"milvus-lite:{tmp_path / 'store.db'}"
    command = [sys.executable, "-m", "newsrag.cli", "--store", store, "serve", "--workers", "2"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.startswith(f"newsrag: error: {store} is a milvus-lite store, which one process opens")
    assert len(done.stderr.splitlines()) == 1
