"""`darkroom serve` under load, on loopback only: N clients x M jobs on darkroom-mini.

    .venv/bin/python benchmarks/serve_load.py [--clients 8] [--jobs 4] [--steps 4] [--leak 500]

Starts a real uvicorn on 127.0.0.1 (ephemeral port) over one Studio in a fresh data dir, then:
1. load: each client thread posts its jobs one after another (POST /api/v1/jobs, then the SSE
   stream until done); throughput, p50/p95 latency (submit -> done), errors;
2. afterwards every picture must be in the library and verify, and `audit verify` must pass;
3. warm latency of one 64x64 txt2img over HTTP (A1111 /sdapi/v1/txt2img) against the same
   request in-process (`studio.run`);
4. memory: the process's RSS after 50 jobs and after `--leak` jobs (sequential, 2 steps).
Every loop is bounded in count and time; nothing leaves 127.0.0.1.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx  # noqa: E402
import uvicorn  # noqa: E402

from darkroom import Recipe, Studio  # noqa: E402
from darkroom.serve.app import ServerConfig, create_app  # noqa: E402
from darkroom.serve.server import open_socket  # noqa: E402
from darkroom.settings import Settings  # noqa: E402

DEADLINE_S = 1800


def recipe(seed: int, steps: int) -> dict:
    return {"model": {"name": "darkroom-mini"}, "steps": [
        {"op": "generate", "prompt": "a large red circle on the left, blue background", "seed": seed,
         "steps": steps}]}


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def start_server(studio):
    sock = open_socket("127.0.0.1", 0)
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(studio, ServerConfig(port=port)), log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.02)
    return server, thread, f"http://127.0.0.1:{port}"


def run_job(client: httpx.Client, body: dict) -> tuple[float, str]:
    start = time.perf_counter()
    answer = client.post("/api/v1/jobs", json={"recipe": body})
    if answer.status_code != 202:
        return time.perf_counter() - start, f"HTTP {answer.status_code}"
    job_id = answer.json()["id"]
    last = None
    with client.stream("GET", f"/api/v1/jobs/{job_id}/events") as stream:
        for line in stream.iter_lines():
            if line.startswith("event: "):
                last = line[7:]
    return time.perf_counter() - start, "" if last == "done" else f"ended {last}"


def load(url: str, clients: int, jobs: int, steps: int) -> dict:
    latencies, errors = [], []
    lock = threading.Lock()

    def client_loop(index: int) -> None:
        with httpx.Client(base_url=url, timeout=600) as client:
            for j in range(jobs):
                seconds, error = run_job(client, recipe(1000 * index + j, steps))
                with lock:
                    latencies.append(seconds)
                    if error:
                        errors.append(error)

    start = time.perf_counter()
    threads = [threading.Thread(target=client_loop, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(DEADLINE_S)
    wall = time.perf_counter() - start
    ordered = sorted(latencies)
    return {"jobs": len(latencies), "wall_s": wall, "throughput": len(latencies) / wall,
            "p50": statistics.median(ordered), "p95": ordered[max(0, int(len(ordered) * 0.95) - 1)],
            "errors": errors}


def check_library(studio) -> tuple[int, int, bool]:
    records = [r for r in studio.library.records() if r.kind == "image"]
    verified = sum(studio.verify_bytes(studio.library.get_bytes(r.sha256)).ok for r in records)
    return len(records), verified, bool(studio.audit.verify().ok)


def warm_latency(url: str, studio, repeats: int) -> tuple[float, float]:
    body = {"prompt": "a small green square", "seed": 5, "steps": 20, "width": 64, "height": 64,
            "sampler_name": "Euler a", "cfg_scale": 5, "override_settings": {"sd_model_checkpoint": "darkroom-mini"}}
    direct = Recipe.parse(recipe(5, 20))
    http_s, local_s = [], []
    with httpx.Client(base_url=url, timeout=600) as client:
        client.post("/sdapi/v1/txt2img", json=body)  # warm
        for _ in range(repeats):
            start = time.perf_counter()
            assert client.post("/sdapi/v1/txt2img", json=body).status_code == 200
            http_s.append(time.perf_counter() - start)
            start = time.perf_counter()
            studio.run(direct)
            local_s.append(time.perf_counter() - start)
    return statistics.median(http_s), statistics.median(local_s)


def leak(url: str, total: int) -> tuple[float, float]:
    after_50 = None
    with httpx.Client(base_url=url, timeout=600) as client:
        for i in range(total):
            run_job(client, recipe(50_000 + i, 2))
            if i + 1 == 50:
                after_50 = rss_mb()
    return after_50, rss_mb()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--jobs", type=int, default=4, help="jobs per client")
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--leak", type=int, default=500, help="jobs for the memory check (0: skip)")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="darkroom-load-"))
    studio = Studio(settings=Settings(home=home, threads=args.threads))
    server, thread, url = start_server(studio)
    print(f"darkroom serve on {url}, data dir {home}, load average {os.getloadavg()[0]:.2f}")
    result = load(url, args.clients, args.jobs, args.steps)
    print(f"\n{args.clients} clients x {args.jobs} jobs, darkroom-mini 64x64, {args.steps} steps, "
          f"{args.threads} torch threads, 1 worker")
    print(f"{'jobs':>6} {'wall s':>8} {'jobs/s':>7} {'p50 s':>7} {'p95 s':>7} {'errors':>7}")
    print(f"{result['jobs']:>6} {result['wall_s']:>8.1f} {result['throughput']:>7.2f} {result['p50']:>7.2f} "
          f"{result['p95']:>7.2f} {len(result['errors']):>7}")
    pictures, verified, audit_ok = check_library(studio)
    print(f"\nlibrary: {pictures} pictures, {verified} verify; audit verify: {'intact' if audit_ok else 'BROKEN'}")
    http_s, local_s = warm_latency(url, studio, args.repeats)
    print(f"\nwarm 64x64 txt2img, 20 steps (median of {args.repeats})")
    print(f"{'':14} {'s':>7}\n{'HTTP (A1111)':14} {http_s:>7.3f}\n{'in-process':14} {local_s:>7.3f}\n"
          f"{'ratio':14} {http_s / local_s:>7.3f}")
    if args.leak:
        after_50, after_all = leak(url, args.leak)
        print(f"\nmemory (RSS MB): after 50 jobs {after_50:.0f}, after {args.leak} jobs {after_all:.0f} "
              f"({after_all / after_50:.3f}x)")
    if result["errors"]:
        print("errors:", json.dumps(result["errors"][:10]))
    server.should_exit = True
    thread.join(30)
    studio.shutdown()


if __name__ == "__main__":
    main()
