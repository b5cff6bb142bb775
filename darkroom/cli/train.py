"""darkroom train lora: teach darkroom-mini a new concept with a LoRA, on the CPU, in minutes."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def register(sub) -> None:
    parser = sub.add_parser("train", help="train a LoRA for darkroom-mini")
    train = parser.add_subparsers(dest="train_command", required=True, metavar="WHAT")
    lora = train.add_parser(
        "lora", help="teach darkroom-mini a new colour word, or what a folder of captioned pictures shows",
        description="Train a LoRA for darkroom-mini and write it as a kohya-format .safetensors (diffusers, "
                    "A1111 and ComfyUI load it too). CONCEPT is a colour word the model never saw (teal, pink, "
                    "brown: scenes drawn by the world generator) or a folder of pictures, each with a caption "
                    "in NAME.txt beside NAME.png. The same seed writes the same file.",
    )
    lora.add_argument("concept", help="teal, pink or brown, or a folder of captioned pictures")
    lora.add_argument("-o", "--out", type=Path, required=True, help="the .safetensors file to write")
    lora.add_argument("--steps", type=int, default=300, help="training steps (default 300)")
    lora.add_argument("--seed", type=int, default=0, help="seed of every random draw (default 0)")
    lora.add_argument("--rank", type=int, default=4, help="LoRA rank (default 4)")
    lora.add_argument("--batch", type=int, default=8, help="pictures per step (default 8)")
    lora.add_argument("--images", type=int, default=256, help="scenes to draw for a concept (default 256)")
    lora.add_argument("--lr", type=float, default=2e-3, help="learning rate (default 0.002)")
    lora.add_argument("--add", action="store_true", help="register the LoRA afterwards (darkroom models add)")
    lora.set_defaults(run=run_lora)


def run_lora(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from darkroom.train import train_lora

    bar = tqdm(total=args.steps, desc=f"train {args.out.name}", unit="step", file=sys.stderr)

    def progress(step: int, total: int, loss: float) -> None:
        bar.update(step - bar.n)
        bar.set_postfix(loss=f"{loss:.4f}")

    try:
        result = train_lora(args.concept, args.out, steps=args.steps, seed=args.seed, rank=args.rank,
                            batch=args.batch, images=args.images, lr=args.lr, progress=progress)
    finally:
        bar.close()
    print(f"wrote {result.path}: {result.steps} steps, {result.examples} pictures, rank {result.rank}, "
          f"final loss {result.final_loss:.4f}, {result.seconds:.0f} s")
    if args.add:
        from darkroom.models.networks import NetworkRegistry
        from darkroom.settings import Settings

        entry = NetworkRegistry(Settings()).add(result.path)
        print(f"added lora {entry.name}: use it with <lora:{entry.name}:1>, e.g. "
              f"\"a large {args.concept} circle <lora:{entry.name}:1>\"")
    return 0
