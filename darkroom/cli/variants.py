"""darkroom variants RECIPE_OR_IMAGE --count N [--vary seed|denoise|cfg]: compare versions of a step."""

from __future__ import annotations

import argparse
import sys
import uuid
from pathlib import Path


def register(sub) -> None:
    parser = sub.add_parser("variants", help="make N variants of a step and a contact sheet to compare them")
    parser.add_argument("recipe", type=Path, help="recipe JSON, or a darkroom PNG (its embedded recipe)")
    parser.add_argument("--count", "-n", type=int, default=4, help="how many variants (default: 4)")
    parser.add_argument("--vary", choices=["seed", "denoise", "cfg"], default="seed",
                        help="what changes (default: seed)")
    parser.add_argument("--step", type=int, default=None, help="index of the step to vary (default: the last)")
    parser.add_argument("-o", "--output", type=Path, default=Path("out"), help="output folder (default: ./out)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from darkroom.cli.develop import ingest_inputs, load_recipe
    from darkroom.cli.generate import progress_bar
    from darkroom.develop import output
    from darkroom.develop.variants import contact_sheet, make_variants
    from darkroom.library import Library
    from darkroom.settings import Settings

    settings = Settings()
    library = Library(settings)
    recipe = ingest_inputs(load_recipe(args.recipe), library, args.recipe.parent)
    with progress_bar() as progress:
        before, variants = make_variants(recipe, settings, count=args.count, vary=args.vary, step_index=args.step,
                                         progress=progress, load_input=library.open_input)
    written = output.save_all(before + [d for _, d in variants], args.output, library)
    shas = {id(d): sha for d, _, sha in written}
    paths = {id(d): path for d, path, _ in written}
    group = f"{args.vary}-{uuid.uuid4().hex[:12]}"
    library.add_variants(group, [(shas[id(d)], label) for label, d in variants])
    captions = [label for label, _ in variants]
    sheet = contact_sheet([d.image for _, d in variants], captions)
    text = "darkroom contact sheet " + group + "\n" + "\n".join(
        f"{i + 1}: {label}: sha256:{shas[id(d)]}" for i, (label, d) in enumerate(variants))
    from darkroom.develop.recipe import canonical_json
    from darkroom.trust.gate import scoped_audit

    audit = scoped_audit(settings)
    listing = {"contact_sheet": group, "images": [shas[id(d)] for _, d in variants], "captions": captions}
    entry = audit.append("contact_sheet", listing, personal={"images", "captions"})
    sheet_path, data = output.write_image(sheet, output.next_path(args.output, "sheet", args.vary),
                                          parameters=text, recipe_json=canonical_json(listing),
                                          audit_ref=entry.ref, settings=settings, audit=audit)
    library.put(data, kind="sheet", source_path=str(sheet_path.resolve()))
    for label, d in variants:
        print(paths[id(d)])
    print(sheet_path)
    print(f"variant group {group}: {len(variants)} variants; keep one with `darkroom keep IMAGE`", file=sys.stderr)
    return 0
