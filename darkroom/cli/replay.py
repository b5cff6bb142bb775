"""darkroom replay IMAGE.png: re-run the embedded recipe and compare, pixel for pixel."""

from __future__ import annotations

import argparse
import io
import math
from pathlib import Path

import numpy as np

from darkroom.errors import ImageError


def register(sub) -> None:
    parser = sub.add_parser("replay", help="re-run a picture's embedded recipe; say 'identical' or how it differs")
    parser.add_argument("image", type=Path, help="a PNG written by darkroom")
    parser.set_defaults(run=run)


def compare(a: np.ndarray, b: np.ndarray) -> dict:
    """max abs difference, PSNR (dB, inf when equal) and the share of differing pixels of two RGB arrays."""
    if a.shape != b.shape:
        return {"identical": False, "shape": (a.shape, b.shape)}
    diff = np.abs(a.astype(np.int16) - b.astype(np.int16))
    mse = float((diff.astype(np.float64) ** 2).mean())
    return {"identical": bool(diff.max() == 0), "max_abs": int(diff.max()),
            "psnr": math.inf if mse == 0 else 10 * math.log10(255.0**2 / mse),
            "differing": float((diff.max(axis=-1) > 0).mean())}


def why(recorded, current) -> str:
    if recorded is None:
        return "the picture records no runtime"
    changes = [f"{name} {getattr(recorded, name)} -> {getattr(current, name)}"
               for name in ("device", "dtype", "torch", "diffusers", "darkroom", "threads")
               if getattr(recorded, name) != getattr(current, name)]
    if changes:
        return "the runtime differs: " + ", ".join(changes)
    return ("same device, dtype, versions and threads; the model, an input picture or a nondeterministic "
            "kernel must have changed")


def replay(path: Path, settings=None) -> dict:
    import torch
    from PIL import Image

    from darkroom.cli.develop import load_recipe
    from darkroom.develop import output
    from darkroom.develop.runner import develop
    from darkroom.library import Library
    from darkroom.settings import Settings

    settings = settings or Settings()
    recipe = load_recipe(path)
    lineage = output.read_lineage(path) or {}
    if recipe.runtime and recipe.runtime.threads and settings.threads <= 0:
        torch.set_num_threads(recipe.runtime.threads)  # matmul reductions can depend on the thread count
    library = Library(settings)
    results = develop(recipe, settings, load_input=library.open_input)
    final = results[-1]
    data = output.render(final.image, parameters=final.infotext, recipe_json=final.recipe.canonical_json(),
                         lineage=output.lineage_of(final, lineage.get("parent")),
                         audit_ref=final.audit_ref or "none", settings=settings)
    with Image.open(io.BytesIO(data)) as fresh, Image.open(path) as stored:
        result = compare(np.asarray(stored.convert("RGB")), np.asarray(fresh.convert("RGB")))
    result["file_identical"] = data == path.read_bytes()
    result["why"] = None if result["identical"] else why(recipe.runtime, final.recipe.runtime)
    result["steps"] = len(recipe.steps)
    return result


def run(args: argparse.Namespace) -> int:
    if not args.image.is_file():
        raise ImageError(f"{args.image} does not exist")
    result = replay(args.image)
    if result["identical"]:
        print(f"identical: {args.image} replays bit for bit ({result['steps']} steps)")
        return 0
    if "shape" in result:
        print(f"differs: the replay is {result['shape'][1][1]}x{result['shape'][1][0]}, "
              f"the file {result['shape'][0][1]}x{result['shape'][0][0]}")
    else:
        print(f"differs: max abs pixel difference {result['max_abs']}, PSNR {result['psnr']:.2f} dB, "
              f"{result['differing']:.1%} of pixels differ")
    print(f"why: {result['why']}")
    return 1
