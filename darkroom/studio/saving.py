"""Saving pictures: finished (marked, signed) bytes, a library row, then the exported file.

`render` is the one function that turns a picture into file bytes (PNG chunks: A1111
`parameters`, the `darkroom` recipe and lineage; then `darkroom.trust.marking.finish_image`:
XMP, watermark, signed C2PA, and the audit export event). The order of a save is what makes
it safe to kill at any moment:

1. render (the audit log records the export),
2. the library stores the bytes and their row (object written atomically, then the row),
3. only then the copy in the output folder appears, under a name no other writer holds
   (written to a temp file and hard-linked into place, which fails instead of overwriting).

So an exported file never exists without its library row. The batch is the unit: the studio
saves a chain's pictures together after the chain has been computed.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from pathlib import Path

from PIL import Image

from darkroom.develop.recipe import canonical_json
from darkroom.library.store import sha256_bytes
from darkroom.studio.jobs import Picture
from darkroom.trust.gate import scoped_audit

RECIPE_CHUNK = "darkroom"
LINEAGE_CHUNK = "darkroom-lineage"
_NUMBERED = re.compile(r"(\d{5})-")


def render(image: Image.Image, *, parameters: str, recipe_json: str, audit_ref: str,
           lineage: dict | None = None, parent: bytes | None = None, model: str | None = None,
           settings=None, audit=None) -> bytes:
    """The exact bytes of a picture file, finished by `darkroom.trust.marking.finish_image`.

    With `parent` (the picture it was developed from) the C2PA manifest names it as its
    parentOf ingredient. A picture derived from a photo marked for labelling
    (`darkroom.trust.consent`) first gets its visible "KI-generiert / AI-generated" band and
    infotext note, so a replay renders the same bytes."""
    from darkroom.trust.consent import apply_label
    from darkroom.trust.marking import finish_image

    image, parameters = apply_label(image, parameters, recipe_json, settings)
    extra = {LINEAGE_CHUNK: canonical_json(lineage)} if lineage is not None else None
    return finish_image(image, parameters_text=parameters, recipe_json=recipe_json, audit_ref=audit_ref,
                        parent=parent, kind="created" if parent is None else "edited", model=model,
                        extra_text=extra, settings=settings, audit=audit)


def lineage_of(developed, parent_sha256: str | None, recipe_sha256: str | None = None) -> dict:
    return {"parent": parent_sha256, "step": developed.step_index, "op": developed.op,
            "recipe_sha256": recipe_sha256 or developed.recipe.sha256()}


def export_new(out_dir: Path, stem: str, data: bytes) -> Path:
    """Write `data` as the next free `NNNNN-STEM.png` in `out_dir`; never replaces a file.

    Several processes may write to one folder: a name is taken by hard-linking the finished
    temp file to it, which fails if another writer got there first; then the next number is tried."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=out_dir, prefix=".darkroom-", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        number = next_number(out_dir)
        while True:
            path = out_dir / f"{number:05d}-{stem}.png"
            try:
                os.link(tmp, path)
                return path
            except FileExistsError:
                number += 1
    finally:
        Path(tmp).unlink(missing_ok=True)


def next_number(out_dir: Path) -> int:
    """A1111-style numbering: one more than the highest NNNNN- prefix in the folder."""
    numbers = [int(m.group(1)) for p in out_dir.glob("*.png") if (m := _NUMBERED.match(p.name))]
    return max(numbers, default=-1) + 1


def save_picture(developed, *, library, audit, project: str, out_dir: Path | None,
                 parent: tuple[str, bytes] | None, stored=None) -> tuple[Picture, bytes]:
    """Render, store and (with `out_dir`) export one developed picture. `parent`: (sha256, bytes);
    `stored(sha256)` is called once the library holds it, before any copy is exported."""
    parent_sha, parent_bytes = parent or (None, None)
    if parent_bytes is None and developed.op != "generate":
        parent_sha, parent_bytes = _input_picture(developed, library)
    recipe_json = developed.recipe.canonical_json()
    recipe_sha = sha256_bytes(recipe_json.encode())
    data = render(developed.image, parameters=developed.infotext, recipe_json=recipe_json,
                  lineage=lineage_of(developed, parent_sha, recipe_sha), audit_ref=developed.audit_ref or "none",
                  parent=parent_bytes, model=developed.recipe.model.name, settings=library.settings,
                  audit=scoped_audit(audit, project))
    sha = library.put(data, kind="image", recipe=recipe_json, recipe_sha256=recipe_sha, parent=parent_sha,
                      step_index=developed.step_index, op=developed.op, project=project)
    if stored is not None:
        stored(sha)
    path = None
    if out_dir is not None:
        label = "" if developed.op == "generate" else f"-{developed.op}"
        path = export_new(out_dir, f"{developed.recipe.steps[-1].seed}{label}", data)
        library.set_source_path(sha, str(path.resolve()))
    picture = Picture(sha256=sha, path=path, recipe=developed.recipe, parent=parent_sha, infotext=developed.infotext,
                      op=developed.op, step_index=developed.step_index, batch_index=developed.batch_index,
                      final=developed.final, width=developed.image.width, height=developed.image.height)
    return picture, data


def _input_picture(developed, library) -> tuple[str | None, bytes | None]:
    """The library picture a first img2img/inpaint step started from."""
    ref = getattr(developed.recipe.steps[-1], "image", None) or ""
    if not ref.startswith("sha256:"):
        return None, None
    sha = ref.removeprefix("sha256:")
    return sha, library.get_bytes(sha)


def read_chunks(path: Path) -> dict:
    with Image.open(path) as image:
        return dict(getattr(image, "text", {}) or {})


def read_recipe_text(path: Path) -> str | None:
    return read_chunks(path).get(RECIPE_CHUNK)


def read_lineage(path: Path) -> dict | None:
    text = read_chunks(path).get(LINEAGE_CHUNK)
    return json.loads(text) if text else None


def write_image(image: Image.Image, path: Path, **fields) -> tuple[Path, bytes]:
    """Render a picture and write it to `path`, whole or not at all (no library row: for tools and tests)."""
    from darkroom.fsutil import write_atomic

    data = render(image, **fields)
    return write_atomic(path, data), data
