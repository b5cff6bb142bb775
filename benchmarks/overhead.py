"""darkroom's txt2img against plain diffusers on the same weights, steps, size and seed.

Builds the SD1.5 architecture (bundled config) with random weights once, saves it as a
diffusers folder, then runs each side in its own fresh process, alternating, so that peak
memory (max RSS) and wall time are measured the same way for both:

    .venv/bin/python benchmarks/overhead.py [--steps 3] [--size 512] [--repeats 2] [--threads 2]

Prints a table with the median time of the generation call, the process's peak RSS, and
darkroom's ratio to diffusers. Goal: <= 1.03x time, <= 1.05x peak memory.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PROMPT = "a photograph of an astronaut riding a horse, (detailed:1.1)"
NEGATIVE = "blurry"


def build_model(folder: Path) -> None:
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


def run_side(side: str, folder: str, steps: int, size: int, threads: int) -> dict:
    import torch

    torch.set_num_threads(threads)
    if side == "diffusers":
        from diffusers import StableDiffusionPipeline

        from darkroom.develop.samplers import make_scheduler

        pipe = StableDiffusionPipeline.from_pretrained(folder, local_files_only=True, safety_checker=None)
        pipe.scheduler = make_scheduler("DPM++ 2M Karras", pipe.scheduler.config)
        pipe.set_progress_bar_config(disable=True)
        start = time.perf_counter()
        pipe(PROMPT, negative_prompt=NEGATIVE, num_inference_steps=steps, guidance_scale=7.0,
             width=size, height=size, generator=torch.Generator("cpu").manual_seed(1))
    else:
        from darkroom.develop.recipe import GenerateStep, ModelRef, Recipe
        from darkroom.develop.runner import run_recipe
        from darkroom.settings import Settings

        recipe = Recipe(model=ModelRef(name=folder), steps=[GenerateStep(
            prompt=PROMPT, negative_prompt=NEGATIVE, steps=steps, cfg=7.0, width=size, height=size, seed=1)])
        settings = Settings(home=Path(tempfile.mkdtemp()), threads=threads)
        from darkroom.develop.runner import load_engine

        from darkroom.trust.gate import policy_for

        load_engine(recipe, settings)  # loading the model and the policy's sentence model
        policy_for(settings)           # happens once per process; it is not what we time
        start = time.perf_counter()
        run_recipe(recipe, settings)
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--side", help=argparse.SUPPRESS)
    parser.add_argument("--folder", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.side:
        print(json.dumps(run_side(args.side, args.folder, args.steps, args.size, args.threads)))
        return
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": str(args.threads)}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "sd15-random"
        build_model(folder)
        results: dict[str, list[dict]] = {"diffusers": [], "darkroom": []}
        for repeat in range(args.repeats):
            order = ["diffusers", "darkroom"] if repeat % 2 == 0 else ["darkroom", "diffusers"]
            for side in order:
                out = subprocess.run(
                    [sys.executable, __file__, "--side", side, "--folder", str(folder),
                     "--steps", str(args.steps), "--size", str(args.size), "--threads", str(args.threads)],
                    env=env, check=True, capture_output=True, text=True)
                results[side].append(json.loads(out.stdout.strip().splitlines()[-1]))
    print_table(results, args)


def print_table(results: dict, args) -> None:
    def med(side, key):
        return statistics.median(r[key] for r in results[side])

    print(f"SD1.5 architecture, random weights, {args.size}x{args.size}, {args.steps} steps, "
          f"DPM++ 2M Karras, CFG 7, {args.threads} threads, {args.repeats} runs each (median)")
    print(f"{'':12} {'time s':>9} {'peak RSS MB':>12}")
    for side in ("diffusers", "darkroom"):
        print(f"{side:12} {med(side, 'seconds'):9.2f} {med(side, 'max_rss_mb'):12.0f}")
    print(f"{'ratio':12} {med('darkroom', 'seconds') / med('diffusers', 'seconds'):9.3f} "
          f"{med('darkroom', 'max_rss_mb') / med('diffusers', 'max_rss_mb'):12.3f}")


if __name__ == "__main__":
    main()
