"""Time of each develop step: generate -> hires 2x -> img2img -> inpaint (whole) -> inpaint (only masked).

    .venv/bin/python benchmarks/develop_steps.py                       # a tiny SD1 model built in code
    .venv/bin/python benchmarks/develop_steps.py --model darkroom-mini # a registered model
    [--size 64] [--steps 20] [--repeats 3] [--threads 1]

The model is loaded and each prompt encoded once before timing. Prints the median wall time
of every step over the repeats, with the picture size it made.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", help="registered model name (default: a tiny SD1 model built in code)")
    parser.add_argument("--size", type=int, default=None, help="first-pass size (default: the model's native size)")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch

    torch.set_num_threads(args.threads)
    from darkroom.cli import main as cli
    from darkroom.develop import runner
    from darkroom.develop.recipe import Recipe
    from darkroom.models.registry import Registry
    from darkroom.settings import Settings

    model = args.model
    if model is None:
        os.environ["DARKROOM_HOME"] = tempfile.mkdtemp(prefix="darkroom-bench-")
        sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
        from tinymodels import save_diffusers, tiny_pipeline

        folder = save_diffusers(tiny_pipeline("sd1"), Path(os.environ["DARKROOM_HOME"]) / "tiny-sd1")
        cli(["models", "add", str(folder), "--name", "tiny"])
        model = "tiny"
    size = args.size or Registry(Settings()).resolve(model).native_size
    zone = {"kind": "ellipse", "x": size // 2, "y": size // 2, "width": size, "height": size}
    steps = [
        {"op": "generate", "prompt": "a lighthouse on a cliff at dusk", "seed": 1, "steps": args.steps,
         "width": size, "height": size},
        {"op": "hires", "scale": 2, "upscaler": "Latent"},
        {"op": "img2img", "denoise": 0.6},
        {"op": "inpaint", "zone": zone},
        {"op": "inpaint", "zone": zone, "inpaint_area": "masked"},
    ]
    labels = ["generate", "hires 2x (Latent, 0.45)", "img2img (0.6)", "inpaint whole", "inpaint only masked"]
    times: dict[int, list[float]] = {}
    sizes: dict[int, tuple[int, int]] = {}
    for op, fn in list(runner.STEPS.items()):
        def timed(ctx, frame, step, index, fn=fn):
            start = time.perf_counter()
            out = fn(ctx, frame, step, index)
            times.setdefault(index, []).append(time.perf_counter() - start)
            sizes[index] = out.image.size
            return out

        runner.STEPS[op] = timed
    recipe = Recipe.parse({"model": {"name": model}, "steps": steps})
    from darkroom.models.cache import get_engine

    settings = Settings()
    engine = get_engine(Registry(settings).resolve(model), settings)

    def no_inputs(ref: str):
        raise ValueError(f"this recipe takes no input pictures ({ref})")

    runner.develop(runner.Run(engine, recipe, no_inputs))  # warm-up: load, encode prompts
    times.clear()
    for _ in range(args.repeats):
        runner.develop(runner.Run(engine, recipe, no_inputs))
    print(f"model {model}, {args.steps} steps, {args.threads} thread(s), median of {args.repeats}")
    print(f"| {'step':<24} | {'size':>9} | {'seconds':>8} |")
    print(f"|{'-' * 26}|{'-' * 11}|{'-' * 10}|")
    for index, label in enumerate(labels):
        w, h = sizes[index]
        print(f"| {label:<24} | {f'{w}x{h}':>9} | {statistics.median(times[index]):>8.3f} |")


if __name__ == "__main__":
    main()
