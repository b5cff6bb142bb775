"""Input pictures of a recipe (img2img sources, inpaint masks) taken into the library.

A recipe may name an input by file path; before it runs, each file is checked (a photo of a
person needs a lawful basis before it is even stored), re-encoded without its metadata
(EXIF, GPS, XMP, IPTC), stored content-addressed, and replaced by `sha256:HEX`, so the
recipe that is recorded and embedded names its inputs by content and replays anywhere the
library is.
"""

from __future__ import annotations

from pathlib import Path

from darkroom.develop.recipe import INPUT_REF, Recipe
from darkroom.errors import ImageError
from darkroom.library.store import REF
from darkroom.scope import Scope
from darkroom.trust import consent
from darkroom.trust.privacy import sanitize_upload


def take_in(library, path: Path, project: str) -> str:
    """Store an input picture or mask without its metadata; returns 'sha256:HEX'."""
    path = Path(path)
    if not path.is_file():
        raise ImageError(f"input picture {path} does not exist")
    try:
        upload = sanitize_upload(path)
    except Exception as err:  # PIL's many error types: one clear message
        raise ImageError(f"cannot read {path} as a picture (PNG, JPEG or WebP): {err}") from None
    return REF + library.put(upload.data, kind="input", source_path=str(path.resolve()), project=project)


def ingest_inputs(recipe: Recipe, library, scope: Scope, base: Path | None = None) -> Recipe:
    """`recipe` with every input path taken into `library`; relative paths are looked up in `base` too."""

    def ref(value: str, photo: bool = True) -> str:
        if value.startswith(INPUT_REF):
            library.get_bytes(value)  # fail now, before any step runs, if it is missing
            return value
        path = Path(value).expanduser()
        if not path.is_absolute() and base is not None and not path.exists():
            path = base / path
        faces = consent.guard_upload(path, library.settings, scope) if photo else None
        sha = take_in(library, path, scope.project)
        if photo:
            consent.note_upload(path, sha, library.settings, scope, faces)
        return sha

    steps = []
    for step in recipe.steps:
        update = {}
        if getattr(step, "image", None):
            update["image"] = ref(step.image)
        zone = getattr(step, "zone", None)
        if zone is not None and zone.kind == "mask":
            update["zone"] = zone.model_copy(update={"image": ref(zone.image, photo=False)})
        steps.append(step.model_copy(update=update) if update else step)
    return recipe.model_copy(update={"steps": steps})


def input_shas(recipe: Recipe) -> list[str]:
    """Every library picture a recipe reads (sources and masks), by sha256."""
    refs = []
    for step in recipe.steps:
        for value in (getattr(step, "image", None), getattr(getattr(step, "zone", None), "image", None)):
            if isinstance(value, str) and value.startswith(INPUT_REF) and value[len(INPUT_REF):] not in refs:
                refs.append(value[len(INPUT_REF):])
    return refs
