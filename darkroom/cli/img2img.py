"""darkroom img2img IMAGE --prompt ... --denoise 0.6: re-imagine a picture."""

from __future__ import annotations

import argparse
from pathlib import Path

from pydantic import ValidationError

from darkroom.cli.common import add_output_arguments, add_scope_arguments
from darkroom.cli.fields import add_step_arguments, step_values
from darkroom.errors import InvalidParameter

ALIASES = {"negative_prompt": ["--negative", "-n"], "cfg": ["--cfg", "--cfg-scale"], "seed": ["--seed", "-s"],
           "prompt": ["--prompt", "-p"]}


def register(sub) -> None:
    from darkroom.develop.recipe import Img2ImgStep

    parser = sub.add_parser("img2img", help="re-imagine a picture (PNG, JPEG, WebP) from a prompt")
    add_step_arguments(parser, Img2ImgStep, positional=("image",), aliases=ALIASES, skip=("op", "width", "height"))
    add_common(parser, "WxH of the output (default: the input's, rounded to 8)")
    parser.set_defaults(run=run)


def add_common(parser: argparse.ArgumentParser, size_help: str) -> None:
    from darkroom.cli.generate import allow_negative_values, parse_size

    allow_negative_values(parser)
    parser.add_argument("--size", type=parse_size, help=size_help)
    parser.add_argument("--model", "-m", help="registered model name (default: the default model)")
    parser.add_argument("-o", "--output", type=Path, default=Path("out"), help="output folder (default: ./out)")
    add_scope_arguments(parser)
    add_output_arguments(parser)


def one_step_recipe(args: argparse.Namespace, step_type, extra: dict | None = None):
    from darkroom.develop.recipe import ModelRef, Recipe, describe_errors
    from darkroom.models.registry import Registry
    from darkroom.settings import Settings

    values = step_values(args, step_type)
    values.update(extra or {})
    if args.size:
        values["width"], values["height"] = args.size
    values["image"] = str(Path(values["image"]).expanduser().resolve())
    try:
        step = step_type(**values)
    except ValidationError as err:
        raise InvalidParameter(describe_errors(err)) from None
    model = args.model or Registry(Settings()).default().name
    return Recipe(model=ModelRef(name=model), steps=[step])


def run(args: argparse.Namespace) -> int:
    from darkroom.cli.develop import develop_and_write
    from darkroom.develop.recipe import Img2ImgStep

    for picture in develop_and_write(one_step_recipe(args, Img2ImgStep), args.output, args):
        print(picture.path)
    return 0
