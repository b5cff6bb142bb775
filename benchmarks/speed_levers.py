"""CPU seconds per UNet call of the SD1.5 architecture for each speed lever, one thread, one process.

    .venv/bin/python benchmarks/speed_levers.py [--size 512] [--levers plain,tome,int8,...] [--repeats 2]
        [--threads 1] [--compile]

The UNet is SD1.5's (darkroom's bundled config) with random weights from seed 0, called with batch 2
(CFG: unconditional and conditional together) at timestep 500, as one denoising step calls it.
CPU seconds (process user+system time) are steadier than wall time on a shared machine; each row
is the median of --repeats calls after one warm-up call. A lever with the feature cache shows its
full call and its cached call separately (a 20-step pass at interval 3 makes 7 full and 13 cached).
Levers:
  plain         float32, as darkroom runs it by default here
  tome          token merging (darkroom.develop.tokenmerge), ratio --ratio
  int8          dynamic int8 Linear layers (darkroom.develop.quantize: torch.ao, fbgemm/x86 on AVX2)
  tome+int8     both
  fc3, fc3+tome, fc3+tome+int8   the same under feature cache 3 (full and cached call)
  sliced        plain with diffusers' sliced attention (attention_slice "auto")
  compile       torch.compile (inductor) of the plain UNet (--compile): compile seconds, then per call
"""

from __future__ import annotations

import argparse
import copy
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def sd15_unet():
    import torch
    from diffusers import UNet2DConditionModel

    from darkroom.models.detect import config_dir_for

    torch.manual_seed(0)
    unet = UNet2DConditionModel.from_config(UNet2DConditionModel.load_config(config_dir_for("sd1") / "unet"))
    return unet.eval().requires_grad_(False)


def variant(name: str, unet, ratio: float):
    from darkroom.develop.featurecache import cached_unet
    from darkroom.develop.quantize import int8_unet
    from darkroom.develop.tokenmerge import merged_unet

    parts = name.split("+")
    view = unet
    if "int8" in parts:
        view = int8_unet(unet)
    if "tome" in parts:
        view = merged_unet(view, ratio)
    if "sliced" in parts:
        view = copy.deepcopy(unet)
        view.set_attention_slice("auto")
    if "fc3" in parts:
        view = cached_unet(view, 3)
    return view


def seconds(call, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.process_time()
        call()
        times.append(time.process_time() - start)
    return statistics.median(times)


def inputs(size: int):
    import torch

    g = torch.Generator().manual_seed(1)
    return (torch.randn(2, 4, size // 8, size // 8, generator=g), torch.tensor(500),
            torch.randn(2, 77, 768, generator=g))


def measure(name: str, unet, args) -> str:
    import torch

    x, t, context = inputs(args.size)
    view = variant(name, unet, args.ratio)
    with torch.no_grad():
        if "fc3" in name.split("+"):  # calls 0, 3, ... are full; 1, 2, 4, 5 ... cached
            view(x, t, context)
            cached = seconds(lambda: view(x, t, context), 1)
            view(x, t, context)
            full = seconds(lambda: view(x, t, context), 1)
            mean = (7 * full + 13 * cached) / 20
            return f"{name:18} full {full:7.2f}  cached {cached:7.2f}  20-step mean {mean:7.2f}"
        view(x, t, context)
        return f"{name:18} {seconds(lambda: view(x, t, context), args.repeats):7.2f}"


def measure_compile(unet, args) -> str:
    import torch

    x, t, context = inputs(args.size)
    compiled = torch.compile(unet)
    with torch.no_grad():
        start = time.process_time()
        first = compiled(x, t, context).sample
        compile_s = time.process_time() - start
        per_call = seconds(lambda: compiled(x, t, context), args.repeats)
        plain = unet(x, t, context).sample
    same = torch.equal(first, compiled(x, t, context).sample)
    return (f"{'compile':18} {per_call:7.2f}  (first call incl. compile {compile_s:.0f} CPU-s; "
            f"repeat identical: {same}; max abs vs eager {float((first - plain).abs().max()):.2e})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--levers", default="plain,tome,int8,tome+int8,fc3,fc3+tome,fc3+tome+int8")
    parser.add_argument("--ratio", type=float, default=0.5)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--compile", action="store_true")
    args = parser.parse_args()
    import torch

    torch.set_num_threads(args.threads)
    unet = sd15_unet()
    print(f"SD1.5 UNet, random weights, batch 2, {args.size}x{args.size}, {args.threads} thread(s), "
          f"CPU s per call (median of {args.repeats}), token-merge ratio {args.ratio}", flush=True)
    for name in args.levers.split(","):
        print(measure(name, unet, args), flush=True)
    if args.compile:
        print(measure_compile(unet, args), flush=True)


if __name__ == "__main__":
    main()
