"""darkroom generate "PROMPT" [...]: raw txt2img."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from pydantic import ValidationError

from darkroom.cli.fields import add_step_arguments, step_values
from darkroom.errors import InvalidParameter


def register(sub) -> None:
    from darkroom.develop.recipe import GenerateStep, HiresStep

    parser = allow_negative_values(sub.add_parser("generate", help="make raw images from a prompt (txt2img)"))
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
    from darkroom.develop.presets import PRESETS

    parser.add_argument("--preset", choices=list(PRESETS), help="; ".join(f"{p.name}: {p.trades}"
                                                                        for p in PRESETS.values()))
    parser.add_argument("--precision", "--dtype", dest="precision",
                        choices=("auto", "float32", "bfloat16", "float16"),
                        help="weights and compute precision (default: $DARKROOM_DTYPE or auto: bfloat16 on a CPU "
                        "with bf16 hardware, float16 on CUDA, else float32); recorded in the recipe")
    parser.add_argument("--model", "-m", help="registered model name or path (default: darkroom-mini)")
    parser.add_argument("-o", "--output", type=Path, default=Path("out"), help="output folder (default: ./out)")
    from darkroom.cli.common import add_output_arguments

    add_output_arguments(parser)
    parser.set_defaults(run=run)


SIZE_LIKE = re.compile(r"^-\d+$|^-\d*\.\d+$|^-\d+\s*[xX×]")  # what argparse must take as a value


def allow_negative_values(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Let `--size -64x64` reach parse_size (argparse would take it for an unknown flag and say only
    "expected one argument"), so the message says what is wrong with the value."""
    parser._negative_number_matcher = SIZE_LIKE
    return parser


def parse_size(text: str) -> tuple[int, int]:
    match = re.fullmatch(r"\s*([-+]?\d+)\s*[xX×]\s*([-+]?\d+)\s*", text)
    if not match:
        raise argparse.ArgumentTypeError(f"size {text!r} is not WxH, e.g. 512x512")
    width, height = int(match.group(1)), int(match.group(2))
    if width <= 0 or height <= 0:
        raise argparse.ArgumentTypeError(f"size {text!r}: width and height must be positive (at least 8), "
                                         "e.g. 512x512")
    return width, height


def build_recipe(args: argparse.Namespace, model_name: str, settings=None):
    from darkroom.develop.recipe import GenerateStep, HiresStep, ModelRef, Recipe, describe_errors

    from darkroom.develop.presets import apply_preset

    values = apply_preset(getattr(args, "preset", None), step_values(args, GenerateStep), settings)
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
    from darkroom.cli.common import follow, open_studio, output_options

    studio = open_studio(**({"dtype": args.precision} if getattr(args, "precision", None) else {}))
    recipe = build_recipe(args, args.model or studio.registry.default().name, studio.settings)
    studio.warm_up(recipe)
    for picture in follow(studio.submit(recipe, out_dir=args.output, **output_options(args))):
        if picture.final:
            print(picture.path)
    return 0
