"""darkroom's txt2img through the Studio against plain diffusers on the same weights, steps, size and seed.

Builds the SD1.5 architecture (bundled config) with random weights once, saves it as a
diffusers folder, then runs each side in its own fresh process, alternating, so that peak
memory (max RSS) and wall time are measured the same way for both:

    .venv/bin/python benchmarks/overhead.py [--steps 3] [--size 512] [--repeats 2] [--threads 2]
                                            [--warmup run|lease] [--stages] [--model-folder DIR]

What is timed:
  diffusers  one `StableDiffusionPipeline.__call__` (DPM++ 2M Karras, CFG 7, a PIL image out).
  darkroom   one `studio.run(recipe)` with out_dir=None (submit + result: admission with the
             policy check, the job on a worker thread, denoise, VAE decode, watermark, XMP and
             signed C2PA, PNG, the library row and the audit events; no exported copy).
What is not timed: loading the model and the policy's sentence model. With `--warmup run`
(the default) each process first makes one tiny 1-step 64x64 picture the same way it is
then timed (darkroom: through the same Studio, which leases the engine, keeps it cached and
loads the policy; diffusers: one pipeline call), so first-call costs (torch's kernels and
allocators, lazy imports) are paid outside the timing on both sides alike. With
`--warmup lease` darkroom only leases the engine (`studio.engines.lease`) and checks one
prompt (the policy loads its sentence model on first use, not in `policy_for`) before timing,
and neither side makes a warm-up picture: the timed call then also pages in the weights
(safetensors are memory-mapped) and pays torch's first-call costs, on both sides.

Both processes get OMP_NUM_THREADS=threads and OMP_WAIT_POLICY=PASSIVE (which `import
darkroom` sets by default; libgomp reads it when torch loads it, so it is set for both here).
`import darkroom` also limits glibc to 2 malloc arenas (unless MALLOC_ARENA_MAX is set) and a
finished job gives its freed memory back (malloc_trim); the diffusers side does not import darkroom.
Peak RSS is the process's whole life (VmHWM; ru_maxrss is not used: after fork + exec it starts at
the parent's peak, and the parent has just built the model): darkroom's includes the policy's sentence model.
`--stages` runs one more process a side that records the resident set at each stage (imports, the policy,
the model, the warm-up, then the timed picture's UNet, VAE decode, marking and library write) and prints
darkroom's peak with and without what loading the policy added (`--repeats 0`: only that).
"RSS before" / "peak before" are the resident set and its peak just before the timed call
(after loading and the warm-up), to tell what the timed call itself adds. Peak memory
depends on glibc's malloc arenas: darkroom denoises on a worker thread (its own arena),
diffusers on the main thread; `--malloc-arena-max 1` sets MALLOC_ARENA_MAX for both sides.

Prints a table with the median wall time of the timed call, its CPU time (the process's
user + system time: less disturbed than wall time when other work shares the cores), the
process's peak RSS, and darkroom's ratio to diffusers; the 1-min load average after each run
shows which runs shared the machine (the run itself adds about `threads`).
Goal: <= 1.03x time, <= 1.03x peak memory (issue 15).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))  # memstages

PROMPT = "a photograph of an astronaut riding a horse, (detailed:1.1)"
NEGATIVE = "blurry"
MODEL_NAME = "sd15-random"
WARMUP = dict(steps=1, size=64)  # the tiny picture each process makes before timing (--warmup run)


def build_model(folder: Path) -> None:
    """SD1.5's UNet, VAE and CLIP text encoder with random weights (seed 0), as a diffusers folder."""
    import torch
    from diffusers import AutoencoderKL, StableDiffusionPipeline, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel

    from darkroom.develop.samplers import make_scheduler
    from darkroom.models.detect import config_dir_for
    from darkroom.models.engine import load_tokenizer

    torch.manual_seed(0)
    configs = config_dir_for("sd1")
    unet = UNet2DConditionModel.from_config(UNet2DConditionModel.load_config(configs / "unet"))
    vae = AutoencoderKL.from_config(AutoencoderKL.load_config(configs / "vae"))
    text_encoder = CLIPTextModel(CLIPTextConfig.from_pretrained(configs / "text_encoder"))
    tokenizer = load_tokenizer(configs / "tokenizer")
    scheduler_config = json.loads((configs / "scheduler/scheduler_config.json").read_text())
    pipe = StableDiffusionPipeline(
        vae=vae, text_encoder=text_encoder, tokenizer=tokenizer, unet=unet,
        scheduler=make_scheduler("DPM++ 2M Karras", scheduler_config),
        safety_checker=None, feature_extractor=None, requires_safety_checker=False,
    )
    pipe.save_pretrained(folder)


def run_side(side: str, folder: str, steps: int, size: int, threads: int, warmup: str) -> dict:
    if side == "diffusers":
        import torch
        from diffusers import StableDiffusionPipeline

        # plain diffusers: darkroom is not imported here (it sets glibc's malloc arenas); the folder's
        # scheduler is the DPM++ 2M Karras that build_model saved with darkroom's make_scheduler
        torch.set_num_threads(threads)
        pipe = StableDiffusionPipeline.from_pretrained(folder, local_files_only=True, safety_checker=None)
        pipe.set_progress_bar_config(disable=True)

        def generate(steps: int, size: int):
            return pipe(PROMPT, negative_prompt=NEGATIVE, num_inference_steps=steps, guidance_scale=7.0,
                        width=size, height=size, generator=torch.Generator("cpu").manual_seed(1)).images

        if warmup == "run":
            generate(WARMUP["steps"], WARMUP["size"])
        before = memory_mb()
        start, cpu = time.perf_counter(), time.process_time()
        generate(steps, size)
        seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    else:
        from darkroom import Recipe, Studio
        from darkroom.settings import Settings
        from darkroom.trust.gate import policy_for

        def recipe(steps: int, size: int) -> Recipe:
            return Recipe.parse({"model": {"name": MODEL_NAME}, "steps": [{
                "op": "generate", "prompt": PROMPT, "negative_prompt": NEGATIVE, "steps": steps, "cfg": 7.0,
                "sampler": "DPM++ 2M Karras", "width": size, "height": size, "seed": 1}]})

        with tempfile.TemporaryDirectory(prefix="darkroom-overhead-") as home, \
                Studio(settings=Settings(home=Path(home), threads=threads)) as studio, ExitStack() as held:
            studio.registry.add(folder, name=MODEL_NAME)  # hashes the folder (not timed)
            if warmup == "run":
                studio.run(recipe(WARMUP["steps"], WARMUP["size"]))  # engine (kept cached) + policy
            else:
                held.enter_context(studio.engines.lease(studio.registry.resolve(MODEL_NAME), studio.settings))
                policy_for(studio.settings).check({"prompt": "warm-up"})  # the sentence model loads on first use
            before = memory_mb()
            start, cpu = time.perf_counter(), time.process_time()
            studio.run(recipe(steps, size))
            seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    peak = memory_mb()["VmHWM"]  # not ru_maxrss: after fork + exec it keeps the parent's peak (the model build)
    return {"seconds": seconds, "cpu_seconds": cpu, "max_rss_mb": peak,
            "load": os.getloadavg()[0], "rss_before_mb": before["VmRSS"], "peak_before_mb": before["VmHWM"]}


# ---------------------------------------------------------------------------- --stages: where the memory goes
def stages_diffusers(folder: str, steps: int, size: int, threads: int) -> dict:
    from memstages import Stages

    stages = Stages()
    stages.mark("python")
    import torch
    from diffusers import StableDiffusionPipeline

    stages.mark("imports")
    torch.set_num_threads(threads)
    pipe = StableDiffusionPipeline.from_pretrained(folder, local_files_only=True, safety_checker=None)
    pipe.set_progress_bar_config(disable=True)
    stages.mark("model loaded")

    def generate(steps: int, size: int):
        return pipe(PROMPT, negative_prompt=NEGATIVE, num_inference_steps=steps, guidance_scale=7.0,
                    width=size, height=size, generator=torch.Generator("cpu").manual_seed(1)).images

    generate(WARMUP["steps"], WARMUP["size"])
    stages.mark("warm-up picture")
    for owner, name, label in ((type(pipe.unet), "forward", "UNet calls"),
                               (type(pipe.vae), "decode", "VAE decode"), (type(pipe), "__call__", "the picture")):
        stages.wrap(owner, name, label)
    generate(steps, size)
    stages.mark("after the picture")
    return {"rows": stages.rows, "peak": stages.peak(), "anon_peak": stages.anon_peak}


def stages_darkroom(folder: str, steps: int, size: int, threads: int) -> dict:
    from memstages import Stages

    stages = Stages()
    stages.mark("python")
    import darkroom.develop.denoise
    import darkroom.develop.latents
    import darkroom.library.store
    import darkroom.studio.studio
    import darkroom.trust.marking
    from darkroom import Recipe, Studio
    from darkroom.settings import Settings
    from darkroom.trust.gate import policy_for

    stages.mark("imports")

    def recipe(steps: int, size: int) -> Recipe:
        return Recipe.parse({"model": {"name": MODEL_NAME}, "steps": [{
            "op": "generate", "prompt": PROMPT, "negative_prompt": NEGATIVE, "steps": steps, "cfg": 7.0,
            "sampler": "DPM++ 2M Karras", "width": size, "height": size, "seed": 1}]})

    with tempfile.TemporaryDirectory(prefix="darkroom-overhead-") as home, \
            Studio(settings=Settings(home=Path(home), threads=threads)) as studio:
        studio.registry.add(folder, name=MODEL_NAME)
        stages.mark("studio open, model registered")
        policy_for(studio.settings).check({"prompt": "warm-up"})
        stages.mark("policy (sentence model)")
        with studio.engines.lease(studio.registry.resolve(MODEL_NAME), studio.settings):
            pass
        stages.mark("model loaded")
        studio.run(recipe(WARMUP["steps"], WARMUP["size"]))
        stages.mark("warm-up picture")
        for owner, name, label in (
                (darkroom.develop.denoise, "denoise", "denoise (UNet)"),
                (darkroom.develop.latents, "decode", "VAE decode"),
                (darkroom.trust.marking, "finish_image", "marking (watermark, XMP, C2PA)"),
                (darkroom.library.store.Library, "put", "library write"),
                (darkroom.studio.studio.Studio, "run", "the picture (studio.run)")):
            stages.wrap(owner, name, label)
        studio.run(recipe(steps, size))
        stages.mark("after the picture")
    return {"rows": stages.rows, "peak": stages.peak(), "anon_peak": stages.anon_peak}


def print_stages(results: dict, args) -> None:
    print(f"\nwhere the memory goes (--stages): {args.size}x{args.size}, {args.steps} steps, one process a side; "
          "MB: resident set before / peak during / after a stage (a point: RSS now, peak so far), "
          "and after it anonymous (heap, tensors) / file-backed (mapped weights, libraries)")
    for side, result in results.items():
        print(f"{side}  (process peak {result['peak']:.0f} MB, anonymous peak {result['anon_peak']:.0f} MB)")
        print(f"  {'stage':34} {'before':>8} {'peak':>8} {'after':>8} {'anon':>8} {'file':>8} {'anon peak':>9}")
        for label, row in result["rows"].items():
            print(f"  {label:34} {row['before']:8.0f} {row['peak']:8.0f} {row.get('after', 0):8.0f} "
                  f"{row.get('anon', 0):8.0f} {row.get('file', 0):8.0f} {row.get('anon_peak', 0):9.0f}")
    dark, plain = results.get("darkroom"), results.get("diffusers")
    if dark and plain:
        rows = dark["rows"]
        policy = rows["policy (sentence model)"]["after"] - rows["studio open, model registered"]["after"]
        print(f"peak ratio {dark['peak'] / plain['peak']:.3f} (anonymous {dark['anon_peak'] / plain['anon_peak']:.3f}); "
              f"loading the policy added {policy:.0f} MB: without it {(dark['peak'] - policy) / plain['peak']:.3f} "
              f"(anonymous {(dark['anon_peak'] - policy) / plain['anon_peak']:.3f})")


def memory_mb() -> dict[str, float]:
    """The process's resident set now (VmRSS) and its peak so far (VmHWM), from /proc (Linux)."""
    try:
        lines = Path("/proc/self/status").read_text().splitlines()
    except OSError:
        return {"VmRSS": float("nan"), "VmHWM": float("nan")}
    fields = dict(line.split(":", 1) for line in lines if ":" in line)
    return {key: int(fields[key].split()[0]) / 1024 for key in ("VmRSS", "VmHWM")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--warmup", choices=("run", "lease"), default="run",
                        help="run: one tiny 1-step 64x64 picture per process before timing (both sides); "
                             "lease: darkroom leases the engine and loads the policy, no warm-up picture")
    parser.add_argument("--malloc-arena-max", type=int, default=None,
                        help="MALLOC_ARENA_MAX for both sides (glibc; default: unset, as users run it)")
    parser.add_argument("--stages", action="store_true",
                        help="after the table, one more process a side that records the resident memory of "
                             "each stage (imports, policy, model, warm-up, UNet, decode, marking, library write)")
    parser.add_argument("--model-folder", type=Path, default=None,
                        help="an SD1.5-architecture diffusers folder to use instead of building one "
                             "(e.g. build/cpu-speed/sd15-random, which benchmarks/cpu_speed.py builds)")
    parser.add_argument("--side", help=argparse.SUPPRESS)
    parser.add_argument("--folder", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.side:
        if args.stages:
            staged = stages_darkroom if args.side == "darkroom" else stages_diffusers
            print(json.dumps(staged(args.folder, args.steps, args.size, args.threads)))
        else:
            print(json.dumps(run_side(args.side, args.folder, args.steps, args.size, args.threads, args.warmup)))
        return
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
           "OMP_NUM_THREADS": str(args.threads), "OMP_WAIT_POLICY": "PASSIVE"}
    if args.malloc_arena_max is not None:
        env["MALLOC_ARENA_MAX"] = str(args.malloc_arena_max)

    def run(side: str, folder: Path, *extra: str) -> dict:
        out = subprocess.run(
            [sys.executable, __file__, "--side", side, "--folder", str(folder), "--steps", str(args.steps),
             "--size", str(args.size), "--threads", str(args.threads), "--warmup", args.warmup, *extra],
            env=env, capture_output=True, text=True)
        if out.returncode:
            sys.exit(f"the {side} side failed:\n{out.stderr[-4000:]}")
        return json.loads(out.stdout.strip().splitlines()[-1])

    with tempfile.TemporaryDirectory() as tmp:
        folder = args.model_folder or Path(tmp) / "sd15-random"
        if not args.model_folder:
            build_model(folder)
        results: dict[str, list[dict]] = {"diffusers": [], "darkroom": []}
        load_before = os.getloadavg()
        for repeat in range(args.repeats):
            for side in ["diffusers", "darkroom"] if repeat % 2 == 0 else ["darkroom", "diffusers"]:
                results[side].append(run(side, folder))
        if args.repeats:
            print_table(results, args, load_before, os.getloadavg())
        if args.stages:
            print_stages({side: run(side, folder, "--stages") for side in ("diffusers", "darkroom")}, args)


def print_table(results: dict, args, load_before, load_after) -> None:
    def med(side, key):
        return statistics.median(r[key] for r in results[side])

    print(f"SD1.5 architecture, random weights, {args.size}x{args.size}, {args.steps} steps, "
          f"DPM++ 2M Karras, CFG 7, {args.threads} threads, {args.repeats} runs each (median), "
          f"warm-up: {args.warmup}" + (f", MALLOC_ARENA_MAX={args.malloc_arena_max}"
                                       if args.malloc_arena_max is not None else ""))
    print(f"machine: {os.cpu_count()} cores, load average (1/5/15 min) before "
          f"{'/'.join(f'{x:.2f}' for x in load_before)}, after {'/'.join(f'{x:.2f}' for x in load_after)}")
    keys = ("seconds", "cpu_seconds", "max_rss_mb", "rss_before_mb", "peak_before_mb")
    print(f"{'':12} {'time s':>9} {'CPU s':>9} {'peak RSS MB':>12} {'RSS before':>11} {'peak before':>12}   "
          f"runs: time s (1-min load average after it)")
    for side in ("diffusers", "darkroom"):
        runs = " ".join(f"{r['seconds']:.2f} ({r['load']:.2f})" for r in results[side])
        print(f"{side:12} {med(side, keys[0]):9.2f} {med(side, keys[1]):9.2f} {med(side, keys[2]):12.0f} "
              f"{med(side, keys[3]):11.0f} {med(side, keys[4]):12.0f}   {runs}")
    ratio = {key: med("darkroom", key) / med("diffusers", key) for key in keys}
    print(f"{'ratio':12} {ratio[keys[0]]:9.3f} {ratio[keys[1]]:9.3f} {ratio[keys[2]]:12.3f} {ratio[keys[3]]:11.3f} "
          f"{ratio[keys[4]]:12.3f}   goal <= 1.03 time, <= 1.03 peak memory")


if __name__ == "__main__":
    main()
