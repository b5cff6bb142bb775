"""Replay: re-run a picture's embedded recipe and compare, pixel for pixel and byte for byte."""

from __future__ import annotations

import io
import math
from pathlib import Path

import numpy as np
from PIL import Image

from darkroom.develop.recipe import Recipe
from darkroom.errors import ImageError, InvalidParameter
from darkroom.studio.saving import lineage_of, read_lineage, read_recipe_text, render


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


def load_recipe(path: Path) -> Recipe:
    """A Recipe from a JSON file or from the `darkroom` chunk of a PNG."""
    path = Path(path)
    if not path.is_file():
        raise InvalidParameter(f"recipe file {path} does not exist")
    data = path.read_bytes()
    if data.startswith(b"\x89PNG"):
        try:
            text = read_recipe_text(path)
        except Exception as err:  # a broken PNG: one clear line
            raise ImageError(f"{path} is not a readable PNG: {err}") from None
        if text is None:
            raise ImageError(f"{path} carries no darkroom recipe (no 'darkroom' PNG chunk)")
        return Recipe.parse(text)
    try:
        return Recipe.parse(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise InvalidParameter(f"{path} is neither a recipe JSON file nor a PNG") from None


def replay(studio, path: Path) -> dict:
    path = Path(path)
    if not path.is_file():
        raise ImageError(f"{path} does not exist")
    recipe = load_recipe(path)
    lineage = read_lineage(path) or {}
    final = studio.submit(recipe, save=False).result()[-1]
    data = render(final.image, parameters=final.infotext, recipe_json=final.recipe.canonical_json(),
                  lineage=lineage_of(final, lineage.get("parent")), audit_ref=final.audit_ref or "none",
                  settings=studio.settings)
    with Image.open(io.BytesIO(data)) as fresh, Image.open(path) as stored:
        result = compare(np.asarray(stored.convert("RGB")), np.asarray(fresh.convert("RGB")))
    result["file_identical"] = data == path.read_bytes()
    result["why"] = None if result["identical"] else why(recipe.runtime, final.recipe.runtime)
    result["steps"] = len(recipe.steps)
    return result
