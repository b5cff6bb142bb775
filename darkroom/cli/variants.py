"""darkroom variants RECIPE_OR_IMAGE --count N [--vary seed|denoise|cfg]: compare versions of a step."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def register(sub) -> None:
    parser = sub.add_parser("variants", help="make N variants of a step and a contact sheet to compare them")
    parser.add_argument("recipe", type=Path, help="recipe JSON, or a darkroom PNG (its embedded recipe)")
    parser.add_argument("--count", "-n", type=int, default=4, help="how many variants (default: 4)")
    parser.add_argument("--vary", choices=["seed", "denoise", "cfg"], default="seed",
                        help="what changes (default: seed)")
    parser.add_argument("--step", type=int, default=None, help="index of the step to vary (default: the last)")
    parser.add_argument("-o", "--output", type=Path, default=Path("out"), help="output folder (default: ./out)")
    from darkroom.cli.common import add_output_arguments

    add_output_arguments(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from darkroom.cli.common import follow, open_studio, output_options
    from darkroom.studio.replay import load_recipe

    studio = open_studio()
    job = studio.variants(load_recipe(args.recipe), count=args.count, vary=args.vary, step_index=args.step,
                          out_dir=args.output, base=args.recipe.parent, **output_options(args))
    follow(job)
    for _, picture in job.variants:
        print(picture.path)
    print(job.sheet.path)
    print(f"variant group {job.sheet.group}: {len(job.variants)} variants; keep one with `darkroom keep IMAGE`",
          file=sys.stderr)
    return 0
