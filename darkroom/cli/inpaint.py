"""darkroom inpaint IMAGE (--mask M.png | --box X,Y,W,H | --ellipse X,Y,W,H | --zone face) --prompt ..."""

from __future__ import annotations

import argparse
import re

from darkroom.cli.fields import add_step_arguments
from darkroom.cli.img2img import ALIASES, add_common, one_step_recipe


def register(sub) -> None:
    from darkroom.develop.recipe import InpaintStep

    parser = sub.add_parser("inpaint", help="repaint a zone of a picture; every other pixel stays exactly as it was")
    add_step_arguments(parser, InpaintStep, positional=("image",), aliases=ALIASES,
                       skip=("op", "zone", "width", "height"))
    zone = parser.add_mutually_exclusive_group(required=True)
    zone.add_argument("--mask", help="mask picture, white = repaint, same size as the image")
    zone.add_argument("--box", type=_rect, help="rectangle X,Y,W,H in pixels")
    zone.add_argument("--ellipse", type=_rect, help="ellipse inside the rectangle X,Y,W,H")
    zone.add_argument("--zone", type=_detect, metavar="DETECTOR[:N|:all]",
                      help="a detected zone: face (the largest), face:1 (the second), face:all")
    add_common(parser, "WxH the zone is repainted at with --inpaint-area masked (default: the model's native size)")
    parser.set_defaults(run=run)


def _rect(text: str) -> dict:
    match = re.fullmatch(r"\s*(\d+)\s*,\s*(\d+)\s*,\s*(\d+)\s*,\s*(\d+)\s*", text)
    if not match:
        raise argparse.ArgumentTypeError(f"{text!r} is not X,Y,W,H, e.g. 16,16,64,48")
    x, y, w, h = map(int, match.groups())
    return {"x": x, "y": y, "width": w, "height": h}


def _detect(text: str) -> dict:
    name, _, which = text.partition(":")
    if which and which != "all" and not which.isdigit():
        raise argparse.ArgumentTypeError(f"{text!r}: after the detector give :N or :all, e.g. face:0")
    return {"kind": "detect", "detector": name, "index": None if which == "all" else int(which or 0)}


def zone_of(args: argparse.Namespace) -> dict:
    from pathlib import Path

    if args.mask:
        return {"kind": "mask", "image": str(Path(args.mask).expanduser().resolve())}
    if args.box:
        return {"kind": "box", **args.box}
    if args.ellipse:
        return {"kind": "ellipse", **args.ellipse}
    return args.zone


def run(args: argparse.Namespace) -> int:
    from darkroom.cli.develop import develop_and_write
    from darkroom.develop.recipe import InpaintStep

    recipe = one_step_recipe(args, InpaintStep, {"zone": zone_of(args)})
    for picture in develop_and_write(recipe, args.output, args):
        print(picture.path)
    return 0
