"""darkroom develop RECIPE.json [-o DIR]: run a recipe, write every intermediate and the final picture."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from darkroom.errors import ImageError, InvalidParameter


def register(sub) -> None:
    parser = sub.add_parser("develop", help="run a recipe (JSON, or a PNG that embeds one); write every step's picture")
    parser.add_argument("recipe", type=Path, help="recipe JSON file, or a darkroom PNG")
    parser.add_argument("-o", "--output", type=Path, default=Path("out"), help="output folder (default: ./out)")
    parser.add_argument("--final-only", action="store_true", help="write only the final pictures")
    add_scope_arguments(parser)
    parser.set_defaults(run=run)


def add_scope_arguments(parser: argparse.ArgumentParser) -> None:
    """--project, --consent, --label: who a run belongs to and what the user confirmed (not in the recipe)."""
    from darkroom.trust.consent import BASES

    parser.add_argument("--project", help="library project the pictures belong to, for retention and erasure "
                        "(default: $DARKROOM_PROJECT or 'default')")
    parser.add_argument("--consent", action="store_true",
                        help="confirm you may edit the photos of people among the inputs: you have the person's "
                        "consent (GDPR Art. 6(1)(a)); recorded in the audit log")
    parser.add_argument("--basis", choices=BASES, help="confirm another lawful basis instead: contract (Art. "
                        "6(1)(b)) or legitimate-interests (Art. 6(1)(f))")
    parser.add_argument("--label", action="store_true", default=None,
                        help="draw a visible 'KI-generiert / AI-generated' band into pictures derived from "
                        "uploaded photos (deep-fake disclosure, AI Act Art. 50(4)); kept with the photo")


def scope_of(args: argparse.Namespace):
    """The run scope (darkroom.trust.gate.run_scope) the command line asks for."""
    from darkroom.trust.gate import run_scope

    basis = getattr(args, "basis", None) or ("consent" if getattr(args, "consent", False) else None)
    return run_scope(project=getattr(args, "project", None), consent=basis, label=getattr(args, "label", None))


def load_recipe(path: Path):
    """A Recipe from a JSON file or from the `darkroom` chunk of a PNG."""
    from darkroom.develop.output import read_recipe_text
    from darkroom.develop.recipe import Recipe

    if not path.is_file():
        raise InvalidParameter(f"recipe file {path} does not exist")
    data = path.read_bytes()
    if data.startswith(b"\x89PNG"):
        text = read_recipe_text(path)
        if text is None:
            raise ImageError(f"{path} carries no darkroom recipe (no 'darkroom' PNG chunk)")
        return Recipe.parse(text)
    try:
        return Recipe.parse(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise InvalidParameter(f"{path} is neither a recipe JSON file nor a PNG") from None


def ingest_inputs(recipe, library, base: Path | None = None):
    from darkroom.develop.inputs import ingest_inputs as ingest

    return ingest(recipe, library, base)


def develop_and_write(recipe, out_dir: Path, settings=None, *, final_only: bool = False, base: Path | None = None):
    """Run the whole recipe in memory, then write its pictures (nothing is written if a step fails)."""
    from darkroom.cli.generate import progress_bar
    from darkroom.develop import output
    from darkroom.develop.runner import develop
    from darkroom.library import Library
    from darkroom.settings import Settings

    settings = settings or Settings()
    library = Library(settings)
    recipe = ingest_inputs(recipe, library, base)
    with progress_bar() as progress:
        results = develop(recipe, settings, progress=progress, load_input=library.open_input)
    return output.save_all(results, out_dir, library, only_final=final_only)


def run(args: argparse.Namespace) -> int:
    recipe = load_recipe(args.recipe)
    with scope_of(args):
        written = develop_and_write(recipe, args.output, final_only=args.final_only, base=args.recipe.parent)
    for developed, path, sha in written:
        print(path)
        print(f"  step {developed.step_index} {developed.op:<8} {developed.image.width}x{developed.image.height} "
              f"sha256:{sha[:12]}" + ("  (final)" if developed.final else ""), file=sys.stderr)
    return 0
