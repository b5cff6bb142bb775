"""Peak memory of a hires fix to 1024x1024 against one to 2048x2048 (goal: 2048 at most 1.3x 1024).

    .venv/bin/python benchmarks/hires_memory.py [--sizes 1024,2048] [--raw 256] [--steps 2] [--denoise 0.5]
        [--cfg 7] [--upscaler Lanczos] [--threads 2] [--workdir build/cpu-speed]

Weights: the SD1.5 architecture with fixed-seed random weights (the folder benchmarks/cpu_speed.py
builds in build/cpu-speed/sd15-random; built here if missing). Each size runs in its own fresh process
through darkroom's develop runner, precision "auto": a raw of --raw pixels (--steps steps), then a hires
step that resizes it to the size (--upscaler: a pixel upscaler also VAE-encodes at the full size) and
denoises it with --denoise (schedule chosen so that --steps steps actually run), CFG --cfg.

Measured from /proc/self/status: VmHWM (peak resident set) of the whole process, and the peak of each
stage of the hires step (the peak is reset before each one via /proc/self/clear_refs): VAE encode,
UNet pass, VAE decode. Memory does not depend on the machine's load, so a shared machine is fine;
the wall times do. On CUDA the table also shows torch's peak allocated GPU memory.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from memstages import Stages, status_mb  # noqa: E402

PROMPT = "a photograph of an astronaut riding a horse, detailed"
SEED = 1


def run_size(args) -> dict:
    import torch

    from darkroom.develop import latents, passes
    from darkroom.develop.recipe import Recipe
    from darkroom.develop.runner import Run, develop
    from darkroom.models.engine import load_engine
    from darkroom.models.registry import Registry
    from darkroom.settings import Settings

    torch.set_num_threads(args.threads)
    settings = Settings(home=Path(args.workdir) / "darkroom-home", threads=args.threads)
    engine = load_engine(Registry(settings).resolve(str(Path(args.workdir) / "sd15-random")), settings=settings)
    loaded = status_mb()["VmRSS"]
    stages = Stages()
    for module, name, label in ((latents, "encode", "encode"), (passes, "img2img_latents", "unet"),
                                (latents, "decode", "decode")):
        stages.wrap(module, name, label)
    recipe = Recipe.parse({"model": {"name": engine.entry.name}, "steps": [
        {"op": "generate", "prompt": PROMPT, "seed": SEED, "steps": args.steps, "cfg": args.cfg,
         "width": args.raw, "height": args.raw},
        {"op": "hires", "resize_width": args.size, "resize_height": args.size, "denoise": args.denoise,
         "steps": args.steps, "upscaler": args.upscaler}]})
    if engine.device.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
    wall = time.perf_counter()
    image = develop(Run(engine, recipe, load_input=None))[-1].image
    wall = time.perf_counter() - wall
    return {"size": list(image.size), "wall": wall, "loaded_mb": loaded,
            "peak_mb": stages.peak(), "anon_peak_mb": stages.anon_peak,
            "stages": {label: [row["peak"], row.get("anon_peak", 0.0)] for label, row in stages.rows.items()},
            "dtype": str(engine.dtype).removeprefix("torch."),
            "cuda_peak_mb": torch.cuda.max_memory_allocated() / 2**20 if engine.device.type == "cuda" else None,
            "sha256": hashlib.sha256(image.tobytes()).hexdigest()[:16]}


def child(args, size: int) -> dict:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "OMP_NUM_THREADS": str(args.threads),
           "OMP_WAIT_POLICY": "PASSIVE"}
    cmd = [sys.executable, __file__, "--child", str(size), "--raw", str(args.raw), "--steps", str(args.steps),
           "--denoise", str(args.denoise), "--cfg", str(args.cfg), "--upscaler", args.upscaler,
           "--threads", str(args.threads), "--workdir", str(args.workdir)]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True)
    lines = done.stdout.strip().splitlines()
    if done.returncode or not lines:
        reason = (done.stderr.strip().splitlines() or [f"exit status {done.returncode}, no output"])[-1]
        return {"error": reason[:200]}
    return json.loads(lines[-1])


def print_table(args, rows: dict[int, dict]) -> None:
    print(f"hires fix on the SD1.5 architecture (random weights): raw {args.raw}x{args.raw}, {args.steps} steps, "
          f"then {args.upscaler} to the size, denoise {args.denoise}, {args.steps} steps, CFG {args.cfg}; "
          f"{args.threads} thread(s), each size in its own process. MB: peak RSS (VmHWM) / peak anonymous "
          "memory (RssAnon, sampled; mapped weight pages not counted)")
    print(f"{'size':>10} {'dtype':>8} {'loaded':>7} {'VAE encode':>12} {'UNet pass':>12} {'VAE decode':>12} "
          f"{'process':>12} {'GPU peak':>9} {'wall s':>7}  picture sha256")
    for size, row in rows.items():
        if "error" in row:
            print(f"{size:>10} failed: {row['error']}")
            continue
        stage = {label: f"{rss:.0f}/{anon:.0f}" for label, (rss, anon) in row["stages"].items()}
        process = f"{row['peak_mb']:.0f}/{row['anon_peak_mb']:.0f}"
        gpu = f"{row['cuda_peak_mb']:9.0f}" if row["cuda_peak_mb"] is not None else f"{'-':>9}"
        print(f"{size:>5}x{size:<4} {row['dtype']:>8} {row['loaded_mb']:7.0f} {stage.get('encode', '-'):>12} "
              f"{stage.get('unet', '-'):>12} {stage.get('decode', '-'):>12} "
              f"{process:>12} {gpu} {row['wall']:7.0f}  {row['sha256']}")
    done = [rows[s] for s in rows if "peak_mb" in rows[s]]
    if len(done) == 2:
        print(f"ratio {max(rows)}/{min(rows)}: peak RSS {done[-1]['peak_mb'] / done[0]['peak_mb']:.3f}, "
              f"anonymous {done[-1]['anon_peak_mb'] / done[0]['anon_peak_mb']:.3f} (goal <= 1.3)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1024,2048", help="hires target sides, comma-separated")
    parser.add_argument("--raw", type=int, default=256, help="side of the raw picture the hires fix starts from")
    parser.add_argument("--steps", type=int, default=2)
    parser.add_argument("--denoise", type=float, default=0.5)
    parser.add_argument("--cfg", type=float, default=7.0)
    parser.add_argument("--upscaler", default="Lanczos", help="a darkroom hires upscaler (Lanczos: VAE encode too)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--workdir", type=Path, default=ROOT / "build" / "cpu-speed")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(run_size(argparse.Namespace(**{**vars(args), "size": args.child}))))
        return
    from cpu_speed import build_sd15

    build_sd15(args.workdir / "sd15-random")
    rows = {}
    for size in (int(s) for s in args.sizes.split(",")):
        rows[size] = child(args, size)
        print(f"  {size}: {json.dumps(rows[size])}", file=sys.stderr)
    print_table(args, rows)


if __name__ == "__main__":
    main()
