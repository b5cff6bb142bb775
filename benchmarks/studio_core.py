"""The studio core's costs: previews, cancel latency, two jobs at once.

    .venv/bin/python benchmarks/studio_core.py [--section a|b|c|all] [--size 512] [--steps 4]
                                               [--repeats 2] [--threads 2]

a. previews on vs off. The SD1.5 architecture with random weights (benchmarks/overhead.py's
   build_model) at --size (512) for --steps (4) steps, and darkroom-mini (the shipped 64x64
   model) at 20 steps: the same job with previews=True and settings.preview_every=1 (the
   worst case: a preview of the latents and of the predicted x0 after every step) against
   previews=False, alternating. Besides the wall time of each job (submit to result) it
   reports the time spent inside the previewer (x0 + the two preview pictures, measured by
   wrapping `Previewer.images`, which computes x0 too; darkroom's code is not changed). The
   previewer picks its method by the decoder's cost (darkroom.develop.previews.choose_method).
b. cancel latency. A job with many steps; `job.cancel()` right after the reader sees the
   step event --cancel-after (2); the time from cancel() to the 'cancelled' event (both
   time.time()), the denoising steps that still ran after cancel(), and the time of one
   step (the interval between consecutive step events before the cancel). SD1.5 at
   --cancel-size (256) and darkroom-mini.
c. two jobs at once on darkroom-mini: (generate + hires 2x) and (generate + inpaint box),
   submitted together to a Studio with settings.concurrent_jobs=2 and to one with 1
   (sequential: each job runs alone), with torch threads 1 and 2 (per job: 2 concurrent jobs
   of 2 threads = 4 threads on 2 cores). Wall time for both; whether each concurrent job's
   final picture has the same pixels as the same job run alone (decoded from the library's
   PNG, `studio.library.get_bytes(sha)`). "cores busy" is the process's CPU time over the
   wall time: how much of the 2 cores the two jobs kept busy.

Every Studio gets a fresh temp data dir; the SD1.5 model (and the policy's sentence model) is
loaded by a tiny 1-step 64x64 warm-up job, then one 1-step job at the section's size (the
first use of buffers that size) before anything is timed; the mini model by a warm-up run
of each recipe. Prints a markdown table per section, with the load average (which counts
this script's own threads: about --threads in a and b, up to 4 in c).
Run-to-run wall times of the SD1.5 jobs vary by about 10 % on a quiet 2-core VM; the
"inside previewer" and CPU columns of section a are the steadier measures.
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import darkroom  # noqa: E402,F401  (sets OMP_WAIT_POLICY before torch loads)

PROMPT = "a photograph of an astronaut riding a horse, (detailed:1.1)"
NEGATIVE = "blurry"
MINI_PROMPT = "a large red circle on the left, blue background"
SD15 = "sd15-random"
MINI = "darkroom-mini"
_TMP = tempfile.TemporaryDirectory(prefix="darkroom-studio-core-")


# ---------------------------------------------------------------------------- helpers
def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f}/{five:.2f}/{fifteen:.2f}"


def machine_line() -> str:
    import torch

    return f"machine: {os.cpu_count()} cores, torch {torch.__version__}, load average (1/5/15 min) {load()}"


def new_home() -> Path:
    return Path(tempfile.mkdtemp(dir=_TMP.name, prefix="home-"))


def new_studio(threads: int, jobs: int = 1, home: Path | None = None):
    """A Studio on a fresh data dir; torch's thread count is set here (a Studio sets it only once per
    process), before the Studio starts its worker threads (each takes the count on its first op)."""
    import torch

    from darkroom import Studio
    from darkroom.settings import Settings

    torch.set_num_threads(threads)
    return Studio(settings=Settings(home=home or new_home(), threads=threads, concurrent_jobs=jobs))


_sd15_folder: Path | None = None


def sd15_studio(threads: int, size: int):
    """A Studio with the SD1.5-architecture random model registered and loaded: a 1-step 64x64 warm-up job
    (engine, policy), then a 1-step one at `size` (torch's and malloc's first use of buffers that size)."""
    global _sd15_folder
    from overhead import build_model

    if _sd15_folder is None:
        _sd15_folder = Path(_TMP.name) / "sd15-random"
        print(f"(building the SD1.5-architecture model with random weights in {_sd15_folder})", flush=True)
        build_model(_sd15_folder)
    studio = new_studio(threads)
    studio.registry.add(_sd15_folder, name=SD15)  # hashes 4 GB once per data dir
    studio.run(generate(SD15, steps=1, size=64))  # loads the engine (kept cached) and the policy's model
    if size != 64:
        studio.run(generate(SD15, steps=1, size=size))
    return studio


def generate(model: str, *, steps: int, size: int | None = None, seed: int = 1, later=()):
    from darkroom import Recipe

    prompt, negative = (MINI_PROMPT, "") if model == MINI else (PROMPT, NEGATIVE)
    step = {"op": "generate", "prompt": prompt, "negative_prompt": negative, "steps": steps, "cfg": 7.0,
            "sampler": "DPM++ 2M Karras", "seed": seed}
    if size:
        step.update(width=size, height=size)
    return Recipe.parse({"model": {"name": model}, "steps": [step, *later]})


def median(values) -> float:
    return statistics.median(values) if values else float("nan")


def table(header: list[str], rows: list[list]) -> str:
    cells = [[str(c) for c in row] for row in [header, *rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    lines = ["| " + " | ".join(c.ljust(w) for c, w in zip(row, widths)) + " |" for row in cells]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


class PreviewClock:
    """Time spent computing previews (predicted x0 + the preview pictures), summed over the process."""

    def __init__(self):
        from darkroom.studio import worker

        self.seconds, self.count, self._lock = 0.0, 0, threading.Lock()
        self.method: str | None = None
        images = worker.Previewer.images
        clock = self

        def timed_images(previewer, latents, x0_of):  # x0_of() (the predicted x0) runs inside
            start = time.perf_counter()
            out = images(previewer, latents, x0_of)
            clock.add(time.perf_counter() - start, count=1)
            clock.method = previewer.method
            return out

        worker.Previewer.images = timed_images

    def add(self, seconds: float, count: int = 0) -> None:
        with self._lock:
            self.seconds += seconds
            self.count += count

    def take(self) -> tuple[float, int]:
        with self._lock:
            out, self.seconds, self.count = (self.seconds, self.count), 0.0, 0
        return out


# ---------------------------------------------------------------------------- a. previews
def timed_job(studio, recipe, previews: bool) -> tuple[float, float, int]:
    """Wall time and process CPU time from submit to result, and the step events that carried a preview."""
    start, cpu = time.perf_counter(), time.process_time()
    job = studio.submit(recipe, previews=previews)
    shown = sum(1 for e in job.events() if e.kind == "step" and e.preview is not None)
    job.result()
    return time.perf_counter() - start, time.process_time() - cpu, shown


def previews_case(studio, clock: PreviewClock, label: str, recipe, repeats: int, size: int) -> list:
    times: dict[bool, list[float]] = {False: [], True: []}
    cpus: dict[bool, list[float]] = {False: [], True: []}
    inside: list[float] = []
    shown = 0
    clock.take()
    for repeat in range(repeats):
        for previews in ((False, True) if repeat % 2 == 0 else (True, False)):
            seconds, cpu, count = timed_job(studio, recipe, previews)
            times[previews].append(seconds)
            cpus[previews].append(cpu)
            spent, _ = clock.take()
            if previews:
                inside.append(spent)
                shown = count
    off, on = median(times[False]), median(times[True])
    runs = lambda xs: " ".join(f"{x:.2f}" for x in xs)  # noqa: E731
    return [label, f"{size}x{size}", recipe.steps[0].steps, clock.method or "-", shown,
            f"{off:.2f} ({runs(times[False])})", f"{on:.2f} ({runs(times[True])})",
            f"{on / off:.3f}", f"{median(cpus[True]) / median(cpus[False]):.3f}",
            f"{median(inside):.3f} ({100 * median(inside) / off:.1f} %)"]


def section_a(args) -> None:
    clock = PreviewClock()
    rows = []
    studio = sd15_studio(args.threads, args.size)
    studio.settings.preview_every = 1
    print(f"a. start: load {load()}", flush=True)
    rows.append(previews_case(studio, clock, "SD1.5 arch (random)", generate(SD15, steps=args.steps, size=args.size),
                              args.repeats, args.size))
    studio.close()
    studio = new_studio(args.threads)
    studio.settings.preview_every = 1
    mini = generate(MINI, steps=20)
    studio.run(mini)  # warm-up
    rows.append(previews_case(studio, clock, MINI, mini, max(args.repeats, 5), 64))
    studio.close()
    print(f"\na. previews on vs off: preview_every=1 (latents + predicted x0 pictures after every step), "
          f"{args.threads} threads, DPM++ 2M Karras, CFG 7; median (runs); {machine_line()}")
    print(table(["model", "size", "steps", "preview method", "previews/job", "off s", "on s", "on/off",
                 "on/off CPU", "inside previewer s/job (% of off)"], rows))


# ---------------------------------------------------------------------------- b. cancel
def cancel_case(studio, label: str, recipe, k: int, repeats: int, size: int) -> list:
    latencies, late_steps, step_times = [], [], []
    for _ in range(repeats):
        job = studio.submit(recipe)
        cancelled_at = last_step = None
        late = 0
        for event in job.events():
            if event.kind != "step":
                continue
            if cancelled_at is None:
                if last_step is not None:
                    step_times.append(event.time - last_step)
                last_step = event.time
                if event.step >= k:
                    cancelled_at = time.time()
                    job.cancel()
            elif event.time > cancelled_at:
                late += 1  # a denoising step that ended after cancel() was called
        assert event.kind == "cancelled", event.kind
        latencies.append(event.time - cancelled_at)
        late_steps.append(late)
    step, lat = median(step_times), median(latencies)
    return [label, f"{size}x{size}", recipe.steps[0].steps, k, f"{step:.3f}", f"{lat:.3f}", f"{max(latencies):.3f}",
            f"{lat / step:.2f}", " ".join(map(str, late_steps)), " ".join(f"{x:.3f}" for x in latencies)]


def section_b(args) -> None:
    rows = []
    k = args.cancel_after
    studio = sd15_studio(args.threads, args.cancel_size)
    print(f"b. start: load {load()}", flush=True)
    rows.append(cancel_case(studio, "SD1.5 arch (random)", generate(SD15, steps=50, size=args.cancel_size), k,
                            args.repeats, args.cancel_size))
    studio.close()
    studio = new_studio(args.threads)
    studio.run(generate(MINI, steps=2))  # warm-up
    rows.append(cancel_case(studio, MINI, generate(MINI, steps=150), k, max(args.repeats, 5), 64))
    studio.close()
    print(f"\nb. cancel latency: job.cancel() right after the step-{k} event; {args.threads} threads, no previews; "
          f"{machine_line()}")
    print(table(["model", "size", "steps", "cancel after", "one step s (median)", "cancel->cancelled s (median)",
                 "max s", "latency / step", "step events after cancel()", "latencies s"], rows))


# ---------------------------------------------------------------------------- c. two jobs
def two_recipes(steps: int):
    hires = generate(MINI, steps=steps, seed=3, later=[{"op": "hires", "scale": 2}])
    box = {"kind": "box", "x": 16, "y": 16, "width": 32, "height": 32}
    inpaint = generate(MINI, steps=steps, seed=4, later=[{"op": "inpaint", "zone": box}])
    return {"generate+hires 2x": hires, "generate+inpaint box": inpaint}


def final_pixels(studio, job):
    import numpy as np
    from PIL import Image

    picture = job.result()[-1]
    return np.asarray(Image.open(io.BytesIO(studio.library.get_bytes(picture.sha256))).convert("RGB"))


def both(studio, recipes: dict) -> tuple[float, dict, dict]:
    """Submit every recipe at once; wall time until all are done, each job's own time, final pixels."""
    start, cpu = time.perf_counter(), time.process_time()
    jobs = {name: studio.submit(recipe) for name, recipe in recipes.items()}
    for job in jobs.values():
        job.wait()
    wall = time.perf_counter() - start
    own = {"cores busy": (time.process_time() - cpu) / wall}
    for name, job in jobs.items():
        events = list(job.events())
        own[name] = events[-1].time - next(e.time for e in events if e.kind == "started")
    return wall, own, {name: final_pixels(studio, job) for name, job in jobs.items()}


def section_c(args) -> None:
    import numpy as np

    recipes = two_recipes(args.mini_steps)
    rows = []
    reference = None  # threads=1, alone
    for threads in (1, 2):
        sequential, concurrent = new_studio(threads, jobs=1), new_studio(threads, jobs=2)
        # warm-up (engine, policy, both pipelines); the sequential one's pixels: each job run alone
        alone = both(sequential, recipes)[2]
        first = both(concurrent, recipes)[2]
        walls: dict[str, list[float]] = {"sequential": [], "concurrent": []}
        owns: dict[str, list[dict]] = {"sequential": [], "concurrent": []}
        same = {"sequential": True,  # every later run has the same pixels as `alone`
                "concurrent": all(np.array_equal(alone[n], first[n]) for n in recipes)}
        for repeat in range(args.repeats):
            order = ("sequential", "concurrent") if repeat % 2 == 0 else ("concurrent", "sequential")
            for mode in order:
                wall, own, pixels = both(sequential if mode == "sequential" else concurrent, recipes)
                walls[mode].append(wall)
                owns[mode].append(own)
                same[mode] &= all(np.array_equal(alone[n], pixels[n]) for n in recipes)
        if reference is None:
            reference = alone
        same_as_1 = all(np.array_equal(reference[n], alone[n]) for n in recipes)
        sequential.close()
        concurrent.close()
        seq, con = median(walls["sequential"]), median(walls["concurrent"])
        for mode, wall in (("sequential (concurrent_jobs=1)", seq), ("concurrent (concurrent_jobs=2)", con)):
            key = mode.split()[0]
            own = " / ".join(f"{median([o[n] for o in owns[key]]):.2f}" for n in recipes)
            busy = median([o["cores busy"] for o in owns[key]])
            rows.append([threads, mode, f"{wall:.2f}", " ".join(f"{w:.2f}" for w in walls[key]), f"{busy:.2f}", own,
                         f"{seq / wall:.2f}x",
                         "yes" if same[key] else "NO",
                         "yes" if same_as_1 else "no"])
    names = " / ".join(recipes)
    print(f"\nc. two jobs on {MINI} ({names}; {args.mini_steps} first-pass steps), submitted together; "
          f"median of {args.repeats}; {machine_line()}")
    print(table(["torch threads per job", "mode", "wall s for both", "runs", "cores busy (CPU s / wall s)",
                 f"each job s, started to done ({names})",
                 "speed-up vs sequential", "pixels = alone (every run)",
                 "pixels = threads 1"], rows))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--section", choices=("a", "b", "c", "all"), default="all")
    parser.add_argument("--size", type=int, default=512, help="a: the SD1.5 picture size")
    parser.add_argument("--steps", type=int, default=4, help="a: the SD1.5 job's steps")
    parser.add_argument("--repeats", type=int, default=2,
                        help="runs per case (darkroom-mini cases in a and b: at least 5)")
    parser.add_argument("--threads", type=int, default=2, help="a, b: torch threads")
    parser.add_argument("--cancel-size", type=int, default=256, help="b: the SD1.5 picture size")
    parser.add_argument("--cancel-after", type=int, default=2, help="b: cancel after this step event")
    parser.add_argument("--mini-steps", type=int, default=20, help="c: first-pass steps of both recipes")
    args = parser.parse_args()
    print(machine_line(), flush=True)
    sections = "abc" if args.section == "all" else args.section
    for name in sections:
        start = time.perf_counter()
        {"a": section_a, "b": section_b, "c": section_c}[name](args)
        print(f"(section {name}: {time.perf_counter() - start:.0f} s, load now {load()})", flush=True)


if __name__ == "__main__":
    main()
