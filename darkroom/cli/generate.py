"""darkroom generate "PROMPT" [...]: raw txt2img."""

from __future__ import annotations

import argparse
import re
import sys
from contextlib import contextmanager
from pathlib import Path

from pydantic import ValidationError

from darkroom.cli.fields import add_step_arguments, step_values
from darkroom.errors import InvalidParameter


def register(sub) -> None:
    from darkroom.develop.recipe import GenerateStep, HiresStep

    parser = sub.add_parser("generate", help="make raw images from a prompt (txt2img)")
    add_step_arguments(
        parser,
        GenerateStep,
        positional=("prompt",),
        aliases={"negative_prompt": ["--negative", "-n"], "batch_size": ["--batch"],
                 "cfg": ["--cfg", "--cfg-scale"], "seed": ["--seed", "-s"]},
        skip=("op", "width", "height"),
    )
    parser.add_argument("--size", type=parse_size, help="WxH in pixels (default: the model's native size)")
    hires = parser.add_argument_group("Hi-Res Fix (any --hires-* flag adds a hires step)")
    add_step_arguments(hires, HiresStep, prefix="hires", skip=("op", "resize_width", "resize_height"))
    hires.add_argument("--hires-resize", type=parse_size, help="WxH target instead of --hires-scale "
                       "(keeps the aspect ratio, center-crops)")
    parser.add_argument("--model", "-m", help="registered model name or path (default: darkroom-mini)")
    parser.add_argument("-o", "--output", type=Path, default=Path("out"), help="output folder (default: ./out)")
    parser.set_defaults(run=run)


def parse_size(text: str) -> tuple[int, int]:
    match = re.fullmatch(r"\s*(\d+)\s*[xX×]\s*(\d+)\s*", text)
    if not match:
        raise argparse.ArgumentTypeError(f"size {text!r} is not WxH, e.g. 512x512")
    return int(match.group(1)), int(match.group(2))


def build_recipe(args: argparse.Namespace, model_name: str):
    from darkroom.develop.recipe import GenerateStep, HiresStep, ModelRef, Recipe, describe_errors

    values = step_values(args, GenerateStep)
    if args.size:
        values["width"], values["height"] = args.size
    hires = step_values(args, HiresStep, prefix="hires")
    if getattr(args, "hires_resize", None):
        hires["resize_width"], hires["resize_height"] = args.hires_resize
    steps: list = []
    try:
        steps.append(GenerateStep(**values))
        if hires:
            steps.append(HiresStep(**hires))
    except ValidationError as err:
        raise InvalidParameter(("hires_" if steps else "") + describe_errors(err)) from None
    return Recipe(model=ModelRef(name=model_name), steps=steps)


def run(args: argparse.Namespace) -> int:
    from darkroom.develop import output
    from darkroom.develop.runner import develop
    from darkroom.library import Library
    from darkroom.models.registry import Registry
    from darkroom.settings import Settings

    settings = Settings()
    model_name = args.model or Registry(settings).default().name
    recipe = build_recipe(args, model_name)
    with progress_bar() as progress:
        results = develop(recipe, settings, progress=progress)
    library = Library(settings)
    for developed, path, _ in output.save_all(results, args.output, library):
        if developed.final:
            print(path)
    return 0


@contextmanager
def progress_bar():
    """A tqdm bar on stderr, restarted for each denoising run (one per picture and step)."""
    from tqdm import tqdm

    bar = None

    def update(done: int, total: int) -> None:
        nonlocal bar
        if bar is None or done == 1:
            if bar is not None:
                bar.close()
            bar = tqdm(total=total, unit="step", file=sys.stderr, leave=False)
        bar.update(1)

    try:
        yield update
    finally:
        if bar is not None:
            bar.close()
