"""darkroom develop RECIPE.json [-o DIR]: run a recipe, write every intermediate and the final picture."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from darkroom.cli.common import add_output_arguments, add_scope_arguments, follow, open_studio, output_options, \
    scope_options


def register(sub) -> None:
    parser = sub.add_parser("develop", help="run a recipe (JSON, or a PNG that embeds one); write every step's picture")
    parser.add_argument("recipe", type=Path, help="recipe JSON file, or a darkroom PNG")
    parser.add_argument("-o", "--output", type=Path, default=Path("out"), help="output folder (default: ./out)")
    parser.add_argument("--final-only", action="store_true", help="write only the final pictures")
    add_scope_arguments(parser)
    add_output_arguments(parser)
    parser.set_defaults(run=run)


def develop_and_write(recipe, out_dir: Path, args: argparse.Namespace, *, final_only: bool = False,
                      base: Path | None = None) -> list:
    """Run the whole recipe as a job; each chain's pictures are written when the chain is done."""
    studio = open_studio()
    job = studio.submit(recipe, out_dir=out_dir, final_only=final_only, base=base, **scope_options(args),
                         **output_options(args))
    if base is not None:  # files a recipe file named: the user sees what was read
        for taken in getattr(job, "taken_inputs", []):
            if taken.path is not None:
                print(f"darkroom: {taken.where} read from {taken.path} (sha256:{taken.sha256[:12]})", file=sys.stderr)
    return [p for p in follow(job) if p.path is not None]


def run(args: argparse.Namespace) -> int:
    from darkroom.studio.replay import load_recipe

    recipe = load_recipe(args.recipe)
    for picture in develop_and_write(recipe, args.output, args, final_only=args.final_only, base=args.recipe.parent):
        print(picture.path)
        print(f"  step {picture.step_index} {picture.op:<8} {picture.width}x{picture.height} "
              f"sha256:{picture.sha256[:12]}" + ("  (final)" if picture.final else ""), file=sys.stderr)
    return 0
