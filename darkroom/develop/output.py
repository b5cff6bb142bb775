"""Developed pictures as PNG files: A1111 `parameters`, the `darkroom` recipe and lineage chunks.

`write_image` is the one function through which every picture file is written (developed
pictures, contact sheets); finishing (provenance, watermark) belongs there. Each
developed picture embeds the recipe up to its step and its parent's sha256, and is
recorded in the library (content-addressed copy, recipe, lineage).
"""

from __future__ import annotations

import hashlib
import io
import json
import re
from pathlib import Path

from PIL import Image, PngImagePlugin

from darkroom.develop.recipe import canonical_json
from darkroom.fsutil import write_atomic

RECIPE_CHUNK = "darkroom"
LINEAGE_CHUNK = "darkroom-lineage"


def png_bytes(image: Image.Image, parameters: str, recipe_json: str | None, lineage: dict | None = None) -> bytes:
    info = PngImagePlugin.PngInfo()
    info.add_text("parameters", parameters)
    if recipe_json is not None:
        info.add_itxt(RECIPE_CHUNK, recipe_json)
    if lineage is not None:
        info.add_itxt(LINEAGE_CHUNK, canonical_json(lineage))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", pnginfo=info)
    return buffer.getvalue()


def render(image: Image.Image, *, parameters: str, recipe_json: str | None = None,
           lineage: dict | None = None) -> bytes:
    """The exact bytes of a picture file: what `write_image` writes and the library stores.

    Finishing (XMP, watermark, C2PA) belongs here, so that every file and every library
    copy carries it, and `darkroom replay` compares against finished pixels too."""
    return png_bytes(image, parameters, recipe_json, lineage)


def write_image(image: Image.Image, path: Path, *, parameters: str, recipe_json: str | None = None,
                lineage: dict | None = None) -> tuple[Path, bytes]:
    """Write a picture file, whole or not at all. Returns its path and its bytes."""
    data = render(image, parameters=parameters, recipe_json=recipe_json, lineage=lineage)
    return write_atomic(path, data), data


def lineage_of(developed, parent_sha256: str | None) -> dict:
    return {"parent": parent_sha256, "step": developed.step_index, "op": developed.op,
            "recipe_sha256": developed.recipe.sha256()}


def next_path(out_dir: Path, seed: int | str, label: str = "") -> Path:
    """A1111-style numbering: 00000-SEED.png, 00001-SEED-hires.png, ..."""
    numbers = [int(m.group(1)) for p in out_dir.glob("*.png") if (m := re.match(r"(\d{5})-", p.name))]
    suffix = f"-{label}" if label else ""
    return out_dir / f"{max(numbers, default=-1) + 1:05d}-{seed}{suffix}.png"


def save(developed, out_dir: Path, parent_sha256: str | None = None, library=None) -> Path:
    """Write one developed picture into `out_dir` (and the library, when given)."""
    return save_one(developed, out_dir, parent_sha256, library)[0]


def save_one(developed, out_dir: Path | None, parent_sha256: str | None = None, library=None
             ) -> tuple[Path | None, str]:
    """Write one developed picture into `out_dir` (None: only into the library) and record it."""
    fields = dict(parameters=developed.infotext, recipe_json=developed.recipe.canonical_json(),
                  lineage=lineage_of(developed, parent_sha256))
    path = None
    if out_dir is not None:
        out_dir = Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        label = "" if developed.op == "generate" else developed.op
        path, data = write_image(developed.image, next_path(out_dir, developed.recipe.steps[-1].seed, label),
                                 **fields)
    else:
        data = render(developed.image, **fields)
    sha = hashlib.sha256(data).hexdigest()
    if library is not None:
        library.put(data, kind="image", recipe=developed.recipe.canonical_json(),
                    recipe_sha256=developed.recipe.sha256(), parent=parent_sha256,
                    step_index=developed.step_index, op=developed.op,
                    source_path=str(path.resolve()) if path else None)
    return path, sha


def save_all(results: list, out_dir: Path, library=None, only_final: bool = False) -> list[tuple[object, Path, str]]:
    """Write pictures in order, parents first, each carrying its parent's sha256.

    With `only_final`, intermediates go only into the library (when given), so the
    finals' lineage still resolves; the returned list holds what went into `out_dir`."""
    written: dict[int, str] = {}
    out = []
    for developed in results:
        parent = written.get(id(developed.parent)) if developed.parent is not None else None
        if only_final and not developed.final:
            if library is not None:
                written[id(developed)] = save_one(developed, None, parent, library)[1]
            continue
        path, sha = save_one(developed, out_dir, parent, library)
        written[id(developed)] = sha
        out.append((developed, path, sha))
    return out


def read_chunks(path: Path) -> dict:
    with Image.open(path) as image:
        return dict(getattr(image, "text", {}) or {})


def read_recipe_text(path: Path) -> str | None:
    return read_chunks(path).get(RECIPE_CHUNK)


def read_lineage(path: Path) -> dict | None:
    text = read_chunks(path).get(LINEAGE_CHUNK)
    return json.loads(text) if text else None
