"""darkroom import PICTURE [-o RECIPE.json]: an A1111 or ComfyUI picture as a darkroom recipe."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def register(sub) -> None:
    parser = sub.add_parser("import", help="turn an A1111 or ComfyUI picture's metadata into a recipe",
                            description="Read an A1111 infotext (PNG 'parameters', JPEG/WebP EXIF UserComment) or a "
                            "ComfyUI API-format 'prompt' graph of core nodes and write the darkroom recipe that "
                            "makes the picture again (`darkroom develop RECIPE.json`). What cannot be mapped is "
                            "listed on stderr, never guessed; exit status 1 when no recipe can be made.")
    parser.add_argument("picture", type=Path, help="PNG, JPEG or WebP file")
    parser.add_argument("-o", "--output", type=Path, help="write the recipe here (default: print it)")
    parser.add_argument("--model", help="registered model name to use (default: the one the picture names)")
    parser.add_argument("--source", choices=("auto", "a1111", "comfyui"), default="auto",
                        help="which metadata to read (default: ComfyUI's graph if there is one, else the infotext)")
    parser.set_defaults(run=run)


def read_metadata(path: Path) -> tuple[str | None, dict | None]:
    """(A1111 infotext, ComfyUI prompt graph) of a picture file."""
    from PIL import Image, UnidentifiedImageError

    from darkroom.errors import ImageError
    from darkroom.trust.marking import read_infotext

    try:
        with Image.open(path) as image:
            info, text = dict(image.info), read_infotext(image)
    except (OSError, UnidentifiedImageError) as err:
        raise ImageError(f"cannot read {path}: {err}") from None
    graph = None
    if isinstance(info.get("prompt"), str):
        try:
            graph = json.loads(info["prompt"])
        except ValueError:
            graph = None
    return text, graph if isinstance(graph, dict) else None


def run(args: argparse.Namespace) -> int:
    from darkroom.develop.recipe import Recipe
    from darkroom.errors import DarkroomError, ImageError
    from darkroom.interop import a1111, comfyui

    if not args.picture.is_file():
        raise ImageError(f"{args.picture} does not exist")
    text, graph = read_metadata(args.picture)
    if graph is not None and args.source in ("auto", "comfyui"):
        recipe, unmapped = comfyui.from_prompt(graph, args.model)
        source = "ComfyUI prompt graph"
    elif text is not None and args.source in ("auto", "a1111"):
        recipe, unmapped = a1111.to_recipe(text, args.model)
        source = "A1111 infotext"
    else:
        print(f"darkroom: {args.picture} has no {'metadata' if args.source == 'auto' else args.source + ' metadata'} "
              "to import", file=sys.stderr)
        return 1
    for item in unmapped:
        print(f"not mapped ({source}): {item}", file=sys.stderr)
    if recipe is None:
        print("darkroom: no recipe: the picture cannot be made again from what maps", file=sys.stderr)
        return 1
    try:
        text_out = Recipe.parse(recipe).model_dump_json(indent=2, exclude_none=True)
    except DarkroomError as err:
        print(f"darkroom: the imported values do not make a valid recipe: {err}", file=sys.stderr)
        return 1
    if args.output:
        args.output.write_text(text_out + "\n", encoding="utf-8")
        print(args.output)
    else:
        print(text_out)
    return 0
