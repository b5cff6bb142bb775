"""Replay: re-run a picture's embedded recipe and compare, pixel for pixel and byte for byte."""

from __future__ import annotations

import io
import json
import math
from pathlib import Path

import numpy as np
from PIL import Image

from darkroom.develop.recipe import MAX_PIXELS, Recipe
from darkroom.errors import ImageError, InvalidParameter
from darkroom.studio.inputs import resolve_path
from darkroom.studio.saving import LINEAGE_CHUNK, RECIPE_CHUNK, lineage_of, render
from darkroom.userfiles import MAX_RECIPE_BYTES, FileRefused, image_size, open_image, png_text, read_file


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
    """A Recipe from a JSON file or from the `darkroom` chunk of a PNG.

    The file is read through `darkroom.userfiles` (regular files only, size limits); a PNG's
    chunks are read without decoding its pixels. A recipe that arrives inside a picture may name
    its inputs only by sha256 from the library, never by a path (see `darkroom.studio.inputs`)."""
    path = Path(path)
    try:
        data = read_file(path, "recipe file")
    except FileRefused as err:
        raise InvalidParameter(str(err)) from None
    if data.startswith(b"\x89PNG"):
        image_size(data, f"picture {path}", max_pixels=MAX_PIXELS)  # a bomb is no darkroom picture
        text = png_text(data, RECIPE_CHUNK, f"{path}")
        if text is None:
            raise ImageError(f"{path} carries no darkroom recipe (no 'darkroom' PNG chunk)")
        recipe = Recipe.parse(text)
        for where, value in input_paths(recipe):
            resolve_path(value, where, "picture", None)  # raises: a picture's recipe names no paths
        return recipe
    if len(data) > MAX_RECIPE_BYTES:
        raise InvalidParameter(f"{path} is {len(data)} bytes, too large for a recipe JSON file")
    try:
        return Recipe.parse(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise InvalidParameter(f"{path} is neither a recipe JSON file nor a PNG") from None


def input_paths(recipe: Recipe) -> list[tuple[str, str]]:
    """(where, value) of every input a recipe names by path rather than by sha256."""
    found = []
    for index, step in enumerate(recipe.steps):
        zone = getattr(step, "zone", None)
        for where, value in ((f"steps[{index}].image", getattr(step, "image", None)),
                             (f"steps[{index}].zone.image", getattr(zone, "image", None) if zone else None)):
            if isinstance(value, str) and value and not value.startswith("sha256:"):
                found.append((where, value))
    return found


def read_picture(path: Path) -> tuple[bytes, dict | None, np.ndarray]:
    """A darkroom picture to compare with: its bytes, its lineage chunk and its pixels (RGB), decoded
    only after the header showed a size a recipe can make (no bombs; truncation is one clear error)."""
    try:
        data = read_file(path, "picture")
    except FileRefused as err:
        raise ImageError(str(err)) from None
    try:
        lineage = json.loads(png_text(data, LINEAGE_CHUNK, f"{path}") or "null")
    except ValueError:
        lineage = None
    image = open_image(data, f"picture {path}", max_pixels=MAX_PIXELS)
    with image:
        return data, lineage if isinstance(lineage, dict) else None, np.asarray(image.convert("RGB"))


def replay(studio, path: Path) -> dict:
    path = Path(path)
    recipe = load_recipe(path)
    stored_bytes, lineage, stored = read_picture(path)
    lineage = lineage or {}
    final = studio.submit(recipe, save=False, origin="picture").result()[-1]
    data = render(final.image, parameters=final.infotext, recipe_json=final.recipe.canonical_json(),
                  lineage=lineage_of(final, lineage.get("parent")), audit_ref=final.audit_ref or "none",
                  settings=studio.settings)
    with Image.open(io.BytesIO(data)) as fresh:
        result = compare(stored, np.asarray(fresh.convert("RGB")))
    result["file_identical"] = data == stored_bytes
    result["why"] = None if result["identical"] else why(recipe.runtime, final.recipe.runtime)
    result["steps"] = len(recipe.steps)
    return result
