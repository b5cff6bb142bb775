"""Training is influence, not a fix: a LoRA teaches darkroom-mini a colour, and costs the old ones.

    .venv/bin/python benchmarks/lora.py [--concept teal] [--steps 300] [--batch 8] [--count 24] [--threads 2]

Trains a LoRA with `darkroom.train.train_lora` (the world generator's scenes: half with the new
colour, half plain, as prior preservation), then prints the checker's table from
`darkroom.train.evaluate_lora`: the new colour's accuracy with the LoRA at weight 0 (the plain
model), 0.5 and 1.0, and the old attributes' accuracy on plain scenes at the same weights.
Wall time and CPU time of the training (the machine's load average is printed: wall time is
disturbed by other work, CPU time less so).
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("HF_HUB_OFFLINE", "1")


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--concept", default="teal")
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--rank", type=int, default=4)
    parser.add_argument("--images", type=int, default=256)
    parser.add_argument("--count", type=int, default=24, help="pictures per prompt set and weight")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=None, help="keep the LoRA here (default: a temp folder)")
    parser.add_argument("--lora", type=Path, default=None, help="measure this LoRA instead of training one")
    args = parser.parse_args(argv)

    import torch

    from darkroom.train.evaluate import evaluate_lora, format_table

    torch.set_num_threads(args.threads)
    out = args.lora or train(args)
    started = time.perf_counter()
    rows = evaluate_lora(out, args.concept, count=args.count, seed=args.seed + 1)
    print(f"\nchecker, {args.count} pictures per set and weight, 20 steps, CFG 5 "
          f"({time.perf_counter() - started:.0f} s):\n")
    print(format_table(rows, args.concept))
    return 0


def train(args) -> Path:
    import numpy as np

    from darkroom.train import train_lora

    out = args.out or Path(tempfile.mkdtemp(prefix="darkroom-lora-")) / f"{args.concept}.safetensors"
    wall, cpu = time.perf_counter(), cpu_seconds()
    result = train_lora(args.concept, out, steps=args.steps, seed=args.seed, rank=args.rank, batch=args.batch,
                        images=args.images)
    wall, cpu = time.perf_counter() - wall, cpu_seconds() - cpu
    print(f"trained {out} ({out.stat().st_size // 1024} KiB): {args.steps} steps of batch {args.batch}, rank "
          f"{args.rank}, {result.examples} pictures, {args.threads} threads; wall {wall:.0f} s, CPU {cpu:.0f} s; "
          f"loss first 20 steps {np.mean(result.losses[:20]):.4f}, last 20 {result.final_loss:.4f}; "
          f"load average {os.getloadavg()[0]:.1f}", flush=True)
    return out


if __name__ == "__main__":
    raise SystemExit(main())
