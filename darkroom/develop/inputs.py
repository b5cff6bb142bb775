"""Input pictures of a recipe (img2img sources, inpaint masks) as library references.

A recipe may name an input by file path; before it runs, each path is taken into the
library (metadata stripped, content-addressed) and replaced by `sha256:HEX`, so the
recipe that is recorded and embedded names its inputs by content and replays anywhere
the library is.
"""

from __future__ import annotations

from pathlib import Path

from darkroom.develop.recipe import INPUT_REF, Recipe


def ingest_inputs(recipe: Recipe, library, base: Path | None = None) -> Recipe:
    """`recipe` with every input path taken into `library`; relative paths are looked up in `base` too."""
    from darkroom.trust import consent
    from darkroom.trust.gate import current_scope

    scope = current_scope()

    def ref(value: str, photo: bool = True) -> str:
        if value.startswith(INPUT_REF):
            library.get_bytes(value)  # fail now, before any step runs, if it is missing
            return value
        path = Path(value).expanduser()
        if not path.is_absolute() and base is not None and not path.exists():
            path = base / path
        # A photo of a person needs a lawful basis before it is even stored (darkroom.trust.consent).
        faces = consent.guard_upload(path, library.settings, scope) if photo else None
        sha = library.ingest(path)
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
