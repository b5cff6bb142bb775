"""darkroom replay IMAGE.png: re-run the embedded recipe and compare, pixel for pixel."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(sub) -> None:
    parser = sub.add_parser("replay", help="re-run a picture's embedded recipe; say 'identical' or how it differs")
    parser.add_argument("image", type=Path, help="a PNG written by darkroom")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from darkroom.cli.common import open_studio
    from darkroom.settings import Settings
    from darkroom.studio.replay import load_recipe

    recorded = load_recipe(args.image).runtime
    threads = Settings().threads
    if recorded and recorded.threads and threads <= 0:
        threads = recorded.threads  # matmul reductions can depend on the thread count
    result = open_studio(threads=threads).replay(args.image)
    if result["identical"]:
        print(f"identical: {args.image} replays bit for bit ({result['steps']} steps)")
        return 0
    if "shape" in result:
        print(f"differs: the replay is {result['shape'][1][1]}x{result['shape'][1][0]}, "
              f"the file {result['shape'][0][1]}x{result['shape'][0][0]}")
    else:
        print(f"differs: max abs pixel difference {result['max_abs']}, PSNR {result['psnr']:.2f} dB, "
              f"{result['differing']:.1%} of pixels differ")
    print(f"why: {result['why']}")
    return 1
