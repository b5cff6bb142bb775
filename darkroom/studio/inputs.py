"""Input pictures of a recipe (img2img sources, inpaint masks) taken into the library.

Where a recipe came from decides how it may name an input (the one rule for recipe paths):

    "caller"   the caller's own recipe (command-line flags, the Python API): a file path as
               given (relative to the working folder), or sha256:HEX; the model may be a path.
    "recipe"   a recipe file named on the command line: a path is relative to the recipe
               file's folder and must stay inside it (no `../`, no absolute path elsewhere, no
               symlink out); the model is a registered name or a hash, never a path.
    "picture"  a recipe that arrived inside a picture (replay, variants or develop of a PNG) or
               over HTTP: inputs only as sha256:HEX from the library, never by path; the model
               by name or hash.

Every input, picture or mask, is read through `darkroom.userfiles` (regular files only, a
size limit, pixels counted before decoding), checked against the step limits, passes the same
consent check (a photo of a person needs a lawful basis before it is even stored),
re-encoded without its metadata (EXIF, GPS, XMP, IPTC), stored content-addressed, and
replaced by `sha256:HEX`, so the recipe that is recorded and embedded names its inputs by
content and replays anywhere the library is. What a submission took in that the library did
not hold before is listed (`Taken.new`), so a run that fails removes it again.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from darkroom.develop.recipe import INPUT_REF, MAX_PIXELS, MAX_SIDE, Recipe
from darkroom.errors import DarkroomError, ImageError
from darkroom.library.store import REF
from darkroom.scope import Scope
from darkroom.trust import consent
from darkroom.trust.privacy import sanitize_upload
from darkroom.userfiles import read_file

ORIGINS = ("caller", "recipe", "picture")


@dataclass
class Taken:
    """One input a submission took in."""

    where: str  # "steps[0].image", "steps[1].zone.image"
    path: Path | None  # the file it was read from (None: named by sha256)
    sha256: str  # without the prefix
    new: bool  # the library did not hold it before


def resolve_path(value: str, where: str, origin: str, base: Path | None) -> Path:
    """The file an input path in a recipe names, by the rule of its origin (see the module doc)."""
    if origin == "picture":
        raise ImageError(f"{where}: a recipe from a picture or a request may name inputs only by sha256 from the "
                         f"library (upload a picture first: POST /api/v1/inputs), not by a path ({value[:80]!r})")
    if origin == "caller":
        return Path(value).expanduser()
    root = Path(base if base is not None else ".").resolve()
    path = Path(value)
    full = (path if path.is_absolute() else root / path).resolve()
    if not full.is_relative_to(root):
        raise ImageError(f"{where}: {value[:120]!r} lies outside the recipe's folder {root}; a recipe file may "
                         "name only pictures in its own folder (by a relative path), or library pictures by "
                         "sha256")
    return full


def check_limits(width: int, height: int, what: str) -> None:
    """The size limits every step applies to a picture (as `darkroom.develop.images.check_size`)."""
    if width > MAX_SIDE or height > MAX_SIDE or width * height > MAX_PIXELS:
        raise ImageError(f"the {what} is {width}x{height}, beyond the limit of {MAX_SIDE} pixels a side and "
                         f"{MAX_PIXELS} pixels in all; scale it down first")
    if width < 8 or height < 8:
        raise ImageError(f"the {what} is {width}x{height}; it needs at least 8x8 pixels")


def take_in(library, path: Path, project: str, *, scope: Scope | None = None, what: str = "input picture",
            taken: list | None = None, where: str = "") -> str:
    """Store an input picture or mask without its metadata; returns 'sha256:HEX'.

    With `scope`, a photo of a person is refused (ConsentRequired) before anything is stored."""
    path = Path(path)
    data = read_file(path, what)  # regular files only, size limit: before a byte is decoded
    try:
        upload = sanitize_upload(data)  # pixels counted before decoding
    except DarkroomError as err:
        raise ImageError(f"cannot read {what} {path} as a picture (PNG, JPEG or WebP): {err}") from None
    check_limits(*upload.image.size, f"{what} {path.name}")
    faces = consent.guard_upload(data, library.settings, scope) if scope is not None else None
    new = library.get(upload.sha256) is None
    sha = library.put(upload.data, kind="input", source_path=str(path.resolve()), project=project)
    if taken is not None:
        taken.append(Taken(where, path, sha, new))
    if scope is not None:
        consent.note_upload(data, sha, library.settings, scope, faces)
    return REF + sha


def take_inputs(recipe: Recipe, library, scope: Scope, base: Path | None = None, origin: str | None = None
                ) -> tuple[Recipe, list[Taken]]:
    """`recipe` with every input path taken into `library` (by the rule of `origin`), and what was taken.

    On an error, what this call stored new is removed again before it is raised."""
    origin = origin or ("recipe" if base is not None else "caller")
    if origin not in ORIGINS:
        raise ValueError(f"origin must be one of {ORIGINS}, not {origin!r}")
    taken: list[Taken] = []

    def ref(value: str, where: str, what: str) -> str:
        if value.startswith(INPUT_REF):
            library.get_bytes(value)  # fail now, before any step runs, if it is missing
            taken.append(Taken(where, None, value[len(INPUT_REF):], False))
            return value
        path = resolve_path(value, where, origin, base)
        return take_in(library, path, scope.project, scope=scope, what=what, taken=taken, where=where)

    try:
        steps = []
        for index, step in enumerate(recipe.steps):
            update = {}
            if getattr(step, "image", None):
                update["image"] = ref(step.image, f"steps[{index}].image", "input picture")
            zone = getattr(step, "zone", None)
            if zone is not None and zone.kind == "mask":
                image = ref(zone.image, f"steps[{index}].zone.image", "mask picture")
                update["zone"] = zone.model_copy(update={"image": image})
            steps.append(step.model_copy(update=update) if update else step)
    except BaseException:
        forget_new(library, taken)
        raise
    return recipe.model_copy(update={"steps": steps}), taken


def ingest_inputs(recipe: Recipe, library, scope: Scope, base: Path | None = None,
                  origin: str | None = None) -> Recipe:
    """`recipe` with every input path taken into `library` (see `take_inputs`)."""
    return take_inputs(recipe, library, scope, base, origin)[0]


def forget_new(library, taken: list[Taken], keep: set[str] = frozenset()) -> None:
    """Remove the inputs a failed submission stored new (files, rows, privacy records)."""
    shas = [t.sha256 for t in taken if t.new and t.sha256 not in keep]
    shas = [sha for sha in dict.fromkeys(shas) if not library.children(sha)]  # another run developed it since
    if shas:
        library.remove(list(dict.fromkeys(shas)))


def input_shas(recipe: Recipe) -> list[str]:
    """Every library picture a recipe reads (sources and masks), by sha256."""
    refs = []
    for step in recipe.steps:
        for value in (getattr(step, "image", None), getattr(getattr(step, "zone", None), "image", None)):
            if isinstance(value, str) and value.startswith(INPUT_REF) and value[len(INPUT_REF):] not in refs:
                refs.append(value[len(INPUT_REF):])
    return refs


def preflight(recipe: Recipe, native_size: int, size_of) -> None:
    """Refuse, before the policy or the model is loaded, what a step would refuse only after the
    steps before it were computed: a picture beyond the size limits, a zone outside the picture,
    a mask of another size. `size_of(ref)`: (width, height) of an input 'sha256:HEX', or None.
    Where the size cannot be known here (an unknown step), the step's own check stays the judge."""
    from darkroom.develop.generate import resolve
    from darkroom.develop.hires import check_target
    from darkroom.develop.images import round8
    from darkroom.develop.outpaint import canvas_size

    size = None
    for index, step in enumerate(recipe.steps):
        if step.op == "generate":
            if index:
                return
            first = resolve(step, native_size)
            size = (first.width, first.height)
        elif step.op == "hires":
            if size is None:
                return
            size = check_target(index, step, *size)[1]
        elif step.op in ("img2img", "inpaint", "outpaint"):
            source = size_of(step.image) if step.image else size
            if source is None:
                return
            if step.op == "img2img":
                size = (step.width or round8(source[0]), step.height or round8(source[1]))
                check_limits(*size, "output")
            elif step.op == "outpaint":
                size = canvas_size(step, *source, index)
            else:
                zone, (width, height) = step.zone, source
                if zone.kind in ("box", "ellipse") and (zone.x >= width or zone.y >= height):
                    raise ImageError(f"the {zone.kind} at {zone.x},{zone.y} lies outside the {width}x{height} image")
                if zone.kind == "mask":
                    mask = size_of(zone.image)
                    if mask is not None and tuple(mask) != (width, height):
                        raise ImageError(f"the mask is {mask[0]}x{mask[1]} but the image is {width}x{height}; "
                                         "make the mask the same size as the image")
                size = source
        else:
            return
