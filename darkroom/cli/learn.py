"""darkroom learn list | run NAME: the lessons of the learning mode, as experiments on a real model."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def register(sub) -> None:
    parser = sub.add_parser("learn", help="lessons that show how noise becomes an image (learning mode)")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    listing = actions.add_parser("list", help="the lessons")
    listing.add_argument("--lang", choices=("en", "de"), default="en", help="language (default: en)")
    listing.set_defaults(run=list_lessons)
    run = actions.add_parser("run", help="run a lesson: pictures, plots, numbers and an HTML page")
    run.add_argument("name", help="lesson name or number (see `darkroom learn list`)")
    run.add_argument("--lang", choices=("en", "de"), default="en", help="language of the texts (default: en)")
    run.add_argument("-o", "--output", type=Path, default=None, help="output folder (default: ./out/learn/NAME)")
    run.add_argument("--model", default="darkroom-mini",
                     help="registered model (default: darkroom-mini; lessons 1, 2, 3, 5, 6, 7 work on any model)")
    run.add_argument("--prompt", help="the lesson's prompt instead of its own")
    run.add_argument("--seed", type=seed_number, help="the lesson's seed instead of its own (0-4294967295)")
    run.add_argument("--short", action="store_true", help="a short form: fewer seeds and steps (seconds)")
    run.add_argument("--project", default="learn", help="library project of the pictures (default: learn)")
    run.set_defaults(run=run_lesson)


def seed_number(value: str) -> int:
    """--seed: a seed as recipes take it (darkroom.develop.fields.MAX_SEED)."""
    if not value.strip().isdigit() or int(value) > 2**32 - 1:
        raise argparse.ArgumentTypeError(f"{value!r}: use a whole number from 0 to 4294967295")
    return int(value)


def list_lessons(args: argparse.Namespace) -> int:
    from darkroom.learn import catalog
    from darkroom.learn.texts import text

    for lesson in catalog(args.lang):
        note = "" if lesson["available"] else f"  ({text(args.lang, 'ui.waits')})"
        print(f"{lesson['number']}  {lesson['name']:<9} {lesson['title']}{note}")
    return 0


def run_lesson(args: argparse.Namespace) -> int:
    from darkroom.cli.common import cancel_on_ctrl_c, open_studio
    from darkroom.develop.recipe import Recipe
    from darkroom.learn import find
    from darkroom.learn import run_lesson as run
    from darkroom.learn import studio_settings
    from darkroom.learn.page import write_lesson

    lesson = find(args.name)
    out = args.output or Path("out") / "learn" / lesson.name
    check_folder(out)
    options = {k: v for k, v in (("prompt", args.prompt), ("seed", args.seed)) if v is not None}
    studio = open_studio(**studio_settings())
    # the policy and the engine load while the lesson starts; the training lesson loads its own copy of the model
    # (darkroom.train) at once, and two diffusers loads at a time are not safe: it warms up the policy only
    first = Recipe.parse({"model": {"name": args.model}, "steps": [{"op": "generate", "prompt": "warm-up"}]})
    studio.warm_up(None if lesson.name == "training" else first)
    stop = Stop()
    with cancel_on_ctrl_c(stop):
        result = run(studio, lesson.name, out_dir=out, lang=args.lang, short=args.short, model=args.model,
                     options=options, emit=progress, project=args.project, cancelled=stop.requested)
    page = write_lesson(result, out, args.lang)
    for name, value in result.numbers.items():
        print(f"{name}: {value}", file=sys.stderr)
    print(f"{result.title}: {result.seconds} s", file=sys.stderr)
    print(page)
    return 0


def check_folder(out: Path) -> None:
    """The lesson's folder can be written (created if missing) before anything runs."""
    from darkroom.errors import InvalidParameter
    from darkroom.fsutil import OutputFolderError, prepare_output_dir

    try:
        prepare_output_dir(out)
    except OutputFolderError as err:
        raise InvalidParameter(str(err)) from None


def progress(kind: str, data: dict) -> None:
    if kind == "picture":
        print(f"  {data['figure'].id}: {data['shot'].label}", file=sys.stderr)


class Stop:
    """What Ctrl-C sets: the lesson stops at its next job (the running one is cancelled)."""

    def __init__(self):
        self.cancel_requested = False

    def cancel(self) -> None:
        self.cancel_requested = True

    def requested(self) -> bool:
        return self.cancel_requested
