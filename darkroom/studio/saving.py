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

The library always keeps the lossless PNG (the master every later step, replay and
`darkroom export` start from); with `format="jpeg"` or `"webp"` the exported copy is that
picture rendered again in the format (its own C2PA manifest, XMP, EXIF UserComment infotext
and audit export event). Exported copies follow the umask (a gallery server running as
another user can read them) unless `Settings.private_exports`; the library stays 0600.
A picture is labelled trainedAlgorithmicMedia when its whole chain was generated, and
compositeWithTrainedAlgorithmicMedia only when a photo or other non-generated picture is
part of it (`captured_input`). With `comfyui=True` a PNG also carries a ComfyUI API-format
`prompt` graph of the recipe, where it maps onto ComfyUI's core nodes.
"""

from __future__ import annotations

import json
import os
import re
import stat
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
EXTENSIONS = {"png": "png", "jpeg": "jpg", "webp": "webp"}
COMFY_CHUNK = "prompt"


def render(image: Image.Image, *, parameters: str, recipe_json: str, audit_ref: str,
           lineage: dict | None = None, parent: bytes | None = None, model: str | None = None,
           settings=None, audit=None, format: str = "png", quality: int = 95, captured_input: bool = False,
           comfy_graph: dict | None = None) -> bytes:
    """The exact bytes of a picture file, finished by `darkroom.trust.marking.finish_image`.

    With `parent` (the picture it was developed from) the C2PA manifest names it as its
    parentOf ingredient. A picture derived from a photo marked for labelling
    (`darkroom.trust.consent`) first gets its visible "KI-generiert / AI-generated" band and
    infotext note, so a replay renders the same bytes."""
    from darkroom.trust.consent import apply_label
    from darkroom.trust.marking import finish_image

    image, parameters = apply_label(image, parameters, recipe_json, settings)
    extra = {LINEAGE_CHUNK: canonical_json(lineage)} if lineage is not None else {}
    if comfy_graph is not None:
        extra[COMFY_CHUNK] = json.dumps(comfy_graph, ensure_ascii=False)
    return finish_image(image, parameters_text=parameters, recipe_json=recipe_json, audit_ref=audit_ref,
                        parent=parent, kind="created" if parent is None else "edited", model=model,
                        captured_input=captured_input and parent is not None, extra_text=extra or None,
                        settings=settings, audit=audit, format=format, quality=quality)


def lineage_of(developed, parent_sha256: str | None, recipe_sha256: str | None = None) -> dict:
    return {"parent": parent_sha256, "step": developed.step_index, "op": developed.op,
            "recipe_sha256": recipe_sha256 or developed.recipe.sha256()}


def file_mode(private: bool) -> int:
    """0600 for a private file, else what the umask lets a new file have (0644 under umask 022)."""
    return 0o600 if private else 0o666 & ~current_umask()


def current_umask() -> int:
    try:  # Linux: read it without changing it (os.umask sets the process-wide mask, racing other threads)
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except OSError:
        pass
    mask = os.umask(0o077)
    os.umask(mask)
    return mask


def export_new(out_dir: Path, stem: str, data: bytes, ext: str = "png", private: bool | None = None) -> Path:
    """Write `data` as the next free `NNNNN-STEM.EXT` in `out_dir`; never replaces a file. The file follows
    the umask, or is 0600 when `private` (default: `Settings().private_exports`).

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
        if private is None:
            from darkroom.settings import Settings

            private = Settings().private_exports
        os.chmod(tmp, file_mode(private))
        number = next_number(out_dir)
        while True:
            path = out_dir / f"{number:05d}-{stem}.{ext}"
            try:
                os.link(tmp, path)
                return path
            except FileExistsError:
                number += 1
    finally:
        Path(tmp).unlink(missing_ok=True)


def next_number(out_dir: Path) -> int:
    """A1111-style numbering: one more than the highest NNNNN- prefix in the folder."""
    numbers = [int(m.group(1)) for p in out_dir.glob("[0-9]*-*") if (m := _NUMBERED.match(p.name))]
    return max(numbers, default=-1) + 1


def save_picture(developed, *, library, audit, project: str, out_dir: Path | None,
                 parent: tuple[str, bytes] | None, stored=None, format: str = "png", quality: int = 95,
                 comfyui: bool = False) -> tuple[Picture, bytes]:
    """Render, store and (with `out_dir`) export one developed picture. `parent`: (sha256, bytes);
    `stored(sha256)` is called once the library holds it, before any copy is exported. The library
    holds the PNG; `format`/`quality` are the exported copy's."""
    from darkroom.trust.marking import FORMATS

    if format not in FORMATS:
        from darkroom.errors import InvalidParameter

        raise InvalidParameter(f"export format must be one of {', '.join(FORMATS)}, not {format!r}")
    parent_sha, parent_bytes = parent or (None, None)
    if parent_bytes is None and developed.op != "generate":
        parent_sha, parent_bytes = _input_picture(developed, library)
    recipe_json = developed.recipe.canonical_json()
    recipe_sha = sha256_bytes(recipe_json.encode())
    fields = dict(parameters=developed.infotext, recipe_json=recipe_json,
                  lineage=lineage_of(developed, parent_sha, recipe_sha), audit_ref=developed.audit_ref or "none",
                  parent=parent_bytes, model=developed.recipe.model.name, settings=library.settings,
                  audit=scoped_audit(audit, project), captured_input=captured_input(developed.recipe, library),
                  comfy_graph=_comfy_graph(developed.recipe) if comfyui else None)
    data = render(developed.image, **fields)
    sha = library.put(data, kind="image", recipe=recipe_json, recipe_sha256=recipe_sha, parent=parent_sha,
                      step_index=developed.step_index, op=developed.op, project=project)
    if stored is not None:
        stored(sha)
    path = None
    if out_dir is not None:
        label = "" if developed.op == "generate" else f"-{developed.op}"
        exported = data if format == "png" else render(developed.image, **fields, format=format, quality=quality)
        path = export_new(out_dir, f"{developed.recipe.steps[-1].seed}{label}", exported, EXTENSIONS[format],
                          library.settings.private_exports)
        library.set_source_path(sha, str(path.resolve()))
    picture = Picture(sha256=sha, path=path, recipe=developed.recipe, parent=parent_sha, infotext=developed.infotext,
                      op=developed.op, step_index=developed.step_index, batch_index=developed.batch_index,
                      final=developed.final, width=developed.image.width, height=developed.image.height)
    return picture, data


def captured_input(recipe, library, depth: int = 0) -> bool:
    """Whether a photo or other non-generated picture is part of the picture `recipe` made: its chain
    starts from an input that is not a picture darkroom generated (followed back through the library)."""
    first = recipe.steps[0]
    if first.op == "generate":
        return False
    ref = getattr(first, "image", None) or ""
    record = library.get(ref) if ref.startswith("sha256:") and depth < 64 else None
    if record is None or record.kind != "image" or not record.recipe:
        return True  # an upload, a file, or unknown: not known to be generated
    from darkroom.develop.recipe import Recipe

    try:
        return captured_input(Recipe.parse(record.recipe), library, depth + 1)
    except Exception:  # an old or foreign recipe: do not claim it was generated
        return True


def _comfy_graph(recipe) -> dict | None:
    from darkroom.interop.comfyui import to_prompt

    graph, _ = to_prompt(recipe)
    return graph


def export_picture(library, audit, record, data: bytes, *, out_dir: Path, format: str, quality: int = 95,
                   project: str | None = None) -> Path:
    """`darkroom export`: a library picture (its stored PNG `data`) as a new file in `format`: the same
    pixels (the watermark they carry is read back, not embedded again), its infotext and recipe, and a
    C2PA manifest that names the PNG as the picture it was transcoded from."""
    import io

    from darkroom.trust import provenance, xmp
    from darkroom.trust.keys import trust_anchors_pem
    from darkroom.trust.marking import finish_image, sniff_format

    with Image.open(io.BytesIO(data)) as image:
        image.load()
        text = dict(getattr(image, "text", {}) or {})
        packet = xmp.parse_packet(image.info.get(xmp.PNG_KEYWORD) or image.info.get("xmp"))
        pixels = image.copy()
    info = provenance.read(data, sniff_format(data), trust_anchors_pem(library.settings))
    marking = info.marking or {}
    declared = (marking.get("watermark") or {}).get("payload") or (packet.watermark if packet else None)
    composite = bool(packet and packet.source_type == xmp.COMPOSITE)
    recipe_json = record.recipe or text.get(RECIPE_CHUNK) or "{}"
    out = finish_image(pixels, parameters_text=text.get("parameters", ""), recipe_json=recipe_json,
                       audit_ref=marking.get("audit_ref") or (packet.audit_ref if packet else None) or "none",
                       parent=data, kind="transcoded", captured_input=composite,
                       watermark_present=declared if declared and declared != "none" else None,
                       model=_model_of(packet), format=format, quality=quality, settings=library.settings,
                       audit=scoped_audit(audit, project or record.project))
    stem = record.sha256[:12]
    return export_new(Path(out_dir), stem, out, EXTENSIONS[format], library.settings.private_exports)


def _model_of(packet) -> str | None:
    system = (packet.ai_system or "") if packet else ""
    return system.removeprefix("darkroom (").removesuffix(")") if system.startswith("darkroom (") else None


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
