"""Developed pictures as PNG files: A1111 `parameters`, the `darkroom` recipe and lineage chunks.

`write_image` is the one function through which every picture file is written (developed
pictures, contact sheets); finishing (provenance, watermark) belongs there. Each
developed picture embeds the recipe up to its step and its parent's sha256, and is
recorded in the library (content-addressed copy, recipe, lineage).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from PIL import Image

from darkroom.develop.recipe import canonical_json
from darkroom.fsutil import write_atomic
from darkroom.library.store import sha256_bytes

RECIPE_CHUNK = "darkroom"
LINEAGE_CHUNK = "darkroom-lineage"


def render(image: Image.Image, *, parameters: str, recipe_json: str, audit_ref: str,
           lineage: dict | None = None, parent: bytes | None = None, model: str | None = None,
           settings=None, audit=None) -> bytes:
    """The exact bytes of a picture file: what `write_image` writes and the library stores.

    Finished by `darkroom.trust.marking.finish_image`: A1111 parameters, recipe and lineage
    chunks, IPTC XMP, invisible watermark, and last the signed C2PA manifest (with `parent`,
    the picture it was developed from, as its parentOf ingredient). A picture derived from a
    photo marked for labelling (`darkroom.trust.consent`) first gets its visible
    "KI-generiert / AI-generated" band and infotext note, so a replay renders the same bytes."""
    from darkroom.trust.consent import apply_label
    from darkroom.trust.marking import finish_image

    image, parameters = apply_label(image, parameters, recipe_json, settings)
    extra = {LINEAGE_CHUNK: canonical_json(lineage)} if lineage is not None else None
    return finish_image(image, parameters_text=parameters, recipe_json=recipe_json, audit_ref=audit_ref,
                        parent=parent, kind="created" if parent is None else "edited", model=model,
                        extra_text=extra, settings=settings, audit=audit)


def write_image(image: Image.Image, path: Path, **fields) -> tuple[Path, bytes]:
    """Write a finished picture file, whole or not at all. Returns its path and its bytes."""
    data = render(image, **fields)
    return write_atomic(path, data), data


def lineage_of(developed, parent_sha256: str | None, recipe_sha256: str | None = None) -> dict:
    return {"parent": parent_sha256, "step": developed.step_index, "op": developed.op,
            "recipe_sha256": recipe_sha256 or developed.recipe.sha256()}


def next_path(out_dir: Path, seed: int | str, label: str = "") -> Path:
    """A1111-style numbering: 00000-SEED.png, 00001-SEED-hires.png, ..."""
    numbers = [int(m.group(1)) for p in out_dir.glob("*.png") if (m := re.match(r"(\d{5})-", p.name))]
    suffix = f"-{label}" if label else ""
    return out_dir / f"{max(numbers, default=-1) + 1:05d}-{seed}{suffix}.png"


def save_one(developed, out_dir: Path | None, library, parent: tuple[str, bytes] | None = None
             ) -> tuple[Path | None, str, bytes]:
    """Write one developed picture into `out_dir` (None: only into the library) and record it.

    `parent` is the (sha256, file bytes) of the picture it was developed from."""
    from darkroom.trust.gate import scoped_audit

    parent_sha, parent_bytes = parent or (None, None)
    if parent_bytes is None and developed.op != "generate":
        parent_sha, parent_bytes = _input_picture(developed, library)
    recipe_json = developed.recipe.canonical_json()
    recipe_sha = sha256_bytes(recipe_json.encode())
    fields = dict(parameters=developed.infotext, recipe_json=recipe_json,
                  lineage=lineage_of(developed, parent_sha, recipe_sha), audit_ref=developed.audit_ref or "none",
                  parent=parent_bytes, model=developed.recipe.model.name, settings=library.settings,
                  audit=scoped_audit(library.settings))
    path = None
    if out_dir is not None:
        out_dir = Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        label = "" if developed.op == "generate" else developed.op
        path, data = write_image(developed.image, next_path(out_dir, developed.recipe.steps[-1].seed, label),
                                 **fields)
    else:
        data = render(developed.image, **fields)
    sha = sha256_bytes(data)
    library.put(data, kind="image", recipe=recipe_json,
                recipe_sha256=recipe_sha, parent=parent_sha,
                step_index=developed.step_index, op=developed.op,
                source_path=str(path.resolve()) if path else None)
    return path, sha, data


def _input_picture(developed, library) -> tuple[str | None, bytes | None]:
    """The library picture a first img2img/inpaint step started from."""
    ref = getattr(developed.recipe.steps[-1], "image", None) or ""
    if not ref.startswith("sha256:"):
        return None, None
    sha = ref.removeprefix("sha256:")
    return sha, library.get_bytes(sha)


def save_all(results: list, out_dir: Path, library, only_final: bool = False) -> list[tuple[object, Path, str]]:
    """Write pictures in order, parents first, each carrying its parent's sha256.

    With `only_final`, intermediates go only into the library, so the finals' lineage still
    resolves; the returned list holds what went into `out_dir`."""
    written: dict[int, tuple[str, bytes]] = {}
    out = []
    for developed in results:
        parent = written.get(id(developed.parent)) if developed.parent is not None else None
        target = None if only_final and not developed.final else out_dir
        path, sha, data = save_one(developed, target, library, parent)
        written[id(developed)] = (sha, data)
        if target is not None:
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
