"""Time of each lesson of the learning mode: `darkroom learn run NAME` in its own process.

    .venv/bin/python benchmarks/learn_times.py [NAME ...] [--lang en] [--short] [--keep DIR] [--jobs N] [--threads N]

Each lesson runs as a user runs it (`python -m darkroom learn run NAME -o DIR`, HF_HUB_OFFLINE=1), in
one data dir that a first, untimed `learn run tokens --short` prepared (keys, databases, the mini
model's hash). Per lesson: wall seconds, CPU seconds (user + system of the child), images made (every
picture a job returned, the measurements' too, from the lesson's numbers.json) and the load average
before it started. The goal is under 60 s wall on an idle 2-core machine; CPU seconds are less
disturbed by other work than wall seconds, and a lesson that uses one core has wall = CPU when idle.
`darkroom learn run` runs a lesson's jobs side by side, one torch thread each (darkroom.learn.studio_settings);
--jobs and --threads set DARKROOM_JOBS and DARKROOM_THREADS for the lessons instead (--jobs 1: one at a time).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(HERE))

from darkroom.learn import LESSONS  # noqa: E402


def child_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run(args: list[str], env: dict) -> tuple[float, float, subprocess.CompletedProcess]:
    cpu, started = child_cpu(), time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "darkroom", *args], env=env, cwd=HERE, capture_output=True,
                          text=True)
    return time.perf_counter() - started, child_cpu() - cpu, done


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="lessons (default: all that are available)")
    parser.add_argument("--lang", choices=("en", "de"), default="en")
    parser.add_argument("--short", action="store_true", help="the short forms (as the tests run them)")
    parser.add_argument("--keep", type=Path, help="keep the lesson folders here (default: a temporary folder)")
    parser.add_argument("--jobs", type=int, help="jobs at once (DARKROOM_JOBS; default: the learning mode's)")
    parser.add_argument("--threads", type=int, help="torch threads per job (DARKROOM_THREADS; default: the "
                        "learning mode's)")
    options = parser.parse_args()
    names = options.names or [lesson.name for lesson in LESSONS if lesson.available()]
    work = Path(tempfile.mkdtemp(prefix="darkroom-learn-times-"))
    out = options.keep or work / "out"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "DARKROOM_HOME": str(work / "home")}
    for name, value in (("DARKROOM_JOBS", options.jobs), ("DARKROOM_THREADS", options.threads)):
        if value is not None:
            env[name] = str(value)
    prepared = run(["learn", "run", "tokens", "--short", "-o", str(work / "prepare")], env)[2]
    if prepared.returncode:
        print(prepared.stderr, file=sys.stderr)
        return 1
    jobs, threads = env.get("DARKROOM_JOBS", "the learning mode's"), env.get("DARKROOM_THREADS", "the learning mode's")
    print(f"lessons ({'short' if options.short else 'full'} forms, --lang {options.lang}), each in its own process; "
          f"jobs at once: {jobs}, threads per job: {threads}\n")
    print(f"{'lesson':<10} {'wall s':>8} {'CPU s':>8} {'images':>7} {'load':>6}  page")
    total_wall = total_cpu = 0.0
    for name in names:
        load = os.getloadavg()[0]
        folder = out / name
        wall, cpu, done = run(["learn", "run", name, "--lang", options.lang, "-o", str(folder),
                               *(["--short"] if options.short else [])], env)
        if done.returncode:
            print(f"{name:<10} failed (exit {done.returncode}): {done.stderr.strip()[-400:]}")
            continue
        images = json.loads((folder / "numbers.json").read_text()).get("images", "?")
        total_wall, total_cpu = total_wall + wall, total_cpu + cpu
        print(f"{name:<10} {wall:8.1f} {cpu:8.1f} {images:>7} {load:6.2f}  {done.stdout.strip()}")
    print(f"{'all':<10} {total_wall:8.1f} {total_cpu:8.1f}")
    print(f"\nload average now: {os.getloadavg()[0]:.2f} (wall s is only comparable on an idle machine)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
