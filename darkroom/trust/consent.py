"""Photos of real people: a lawful basis before editing them, a visible label after.

An input picture of img2img or inpaint that is a real upload (not a picture this studio
made) and shows a face (the inpainting zones' face detector) may only be edited when the
user confirms a lawful basis (GDPR Art. 6(1): the person's consent, a contract, legitimate
interests): `--consent` (or `--basis contract|legitimate-interests`) on `darkroom img2img`,
`inpaint` and `develop`. Without it the run stops with `ConsentRequired` (exit code 4)
before the picture is stored or any pixel is made.
With it, a `consent` audit event records the input's sha256 (encrypted under the
project's audit subject, so erasing the project shreds it), the basis and the time, and
the confirmation is kept with the picture (table `privacy_inputs`), so replaying its
recipes later needs no second confirmation.

`--label` marks the photo so every output derived from it carries a visible
"KI-generiert / AI-generated" band (deep-fake disclosure, EU AI Act Art. 50(4)). The band
is drawn into the pixels by `darkroom.develop.output.render` before finishing, and noted
in the A1111 infotext (`AI label: ...`); because the choice is kept with the input
picture, a replay of the recipe draws the same band and stays bit-identical. A labelled
picture used as the input of a further edit passes the label on.
"""

from __future__ import annotations

import io
import json
import sqlite3
import time
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from darkroom.db import connect
from darkroom.errors import DarkroomError
from darkroom.library.store import sha256_bytes
from darkroom.scope import BASES
from darkroom.settings import Settings

LABEL_TEXT = "KI-generiert / AI-generated"
LABEL_NOTE = "AI label: KI-generiert / AI-generated"
GENERATED_KINDS = ("image", "sheet")  # library kinds of pictures this studio made

SCHEMA = """
CREATE TABLE IF NOT EXISTS privacy_inputs (
    sha256 TEXT PRIMARY KEY,
    project TEXT NOT NULL,
    origin TEXT NOT NULL,      -- "upload" (a real photo) or "darkroom" (made by this studio)
    faces INTEGER NOT NULL,
    basis TEXT,                -- the lawful basis the user confirmed, or NULL
    confirmed REAL,
    label INTEGER NOT NULL DEFAULT 0
);
"""


class ConsentRequired(DarkroomError):
    """A photo of a person is to be edited without a confirmed lawful basis."""

    status = 403
    exit_code = 4


@dataclass
class InputRecord:
    sha256: str
    project: str
    origin: str
    faces: int
    basis: str | None = None
    confirmed: float | None = None
    label: bool = False

    @property
    def needs_basis(self) -> bool:
        return self.origin == "upload" and self.faces > 0


# ---------------------------------------------------------------------------- records
def _connect(settings: Settings) -> sqlite3.Connection:
    return connect(settings.database_file, SCHEMA)


def get_record(settings: Settings, sha256: str) -> InputRecord | None:
    with closing(_connect(settings)) as db:
        row = db.execute("SELECT sha256, project, origin, faces, basis, confirmed, label FROM privacy_inputs "
                         "WHERE sha256 = ?", (sha256.removeprefix("sha256:"),)).fetchone()
    return InputRecord(*row[:6], bool(row[6])) if row else None


def put_record(settings: Settings, record: InputRecord) -> None:
    with closing(_connect(settings)) as db, db:
        db.execute("INSERT OR REPLACE INTO privacy_inputs (sha256, project, origin, faces, basis, confirmed, label) "
                   "VALUES (?,?,?,?,?,?,?)", (record.sha256, record.project, record.origin, record.faces,
                                              record.basis, record.confirmed, int(record.label)))


def count_faces(image: Image.Image) -> int:
    """Faces the inpainting zones' detector finds (large pictures are looked at at 1024 px)."""
    from darkroom.models.detectors import detect

    image = image.convert("RGB")
    if max(image.size) > 1024:
        image = image.copy()
        image.thumbnail((1024, 1024), Image.Resampling.LANCZOS)
    return len(detect("face", image))


def made_here(data: bytes, settings: Settings) -> bool:
    """True if this file is a picture this studio made: in the library as generated, or carrying
    a C2PA manifest that validates against the studio's trust anchors. A `darkroom` text chunk
    alone proves nothing (anyone can write one), so it does not count."""
    from darkroom.library import Library

    record = Library(settings).get(sha256_bytes(data))
    if record is not None:
        return record.kind in GENERATED_KINDS
    try:
        from darkroom.trust import provenance
        from darkroom.trust.keys import trust_anchors_pem

        return provenance.read(data, None, trust_anchors_pem(settings)).state == "Trusted"
    except Exception:  # unreadable manifest: treat as a plain upload
        return False


def _refuse(faces: int, where: str) -> ConsentRequired:
    people = "a face" if faces == 1 else f"{faces} faces"
    return ConsentRequired(
        f"{where} shows {people}: editing a photo of a real person needs a lawful basis (GDPR Art. 6). "
        "If you have the person's consent, run again with --consent (for another basis: "
        f"--basis {'|'.join(BASES[1:])}); the confirmation is recorded in the audit log.")


# ---------------------------------------------------------------------------- the checks
def _bytes(src: Path | bytes) -> bytes:
    """An input's bytes: given, or read through `darkroom.userfiles` (regular files, size limit)."""
    if isinstance(src, (bytes, bytearray, memoryview)):
        return bytes(src)
    from darkroom.userfiles import read_file

    return read_file(Path(src), "input picture")


def guard_upload(src: Path | bytes, settings: Settings, scope) -> int | None:
    """Before an input (a picture or a mask, as a path or its bytes) is stored: refuse a photo of
    a person without a basis (nothing stored).

    Returns the number of faces when it counted them (for `note_upload`), else None."""
    from darkroom.trust.privacy import sanitize_upload

    try:
        data = _bytes(src)
        if made_here(data, settings):
            return
        clean = sanitize_upload(data)
    except DarkroomError:
        return None  # not readable: the caller's take-in reports it with its own message, storing nothing
    known = get_record(settings, sha256_bytes(clean.data))
    if known is not None and (known.basis or not known.needs_basis):
        return None
    faces = count_faces(clean.image)
    if faces and not scope.consent:
        name = Path(src).name if isinstance(src, (str, Path)) else "of the recipe"
        raise _refuse(faces, f"input picture {name}")
    return faces


def note_upload(src: Path | bytes, sha256: str, settings: Settings, scope, faces: int | None = None) -> None:
    """After an input file was stored: remember where it came from (made here or an upload).

    `faces`: the count `guard_upload` already made of the same picture, if any."""
    sha256 = sha256.removeprefix("sha256:")
    if get_record(settings, sha256) is not None:
        return
    try:
        data = _bytes(src)
        origin = "darkroom" if made_here(data, settings) else "upload"
    except DarkroomError:
        data, origin = b"", "upload"
    record = InputRecord(sha256, scope.project, origin, 0)
    if origin == "darkroom":  # a labelled picture passes its label on to what is made from it
        from darkroom.library import Library

        made = Library(settings).get(sha256_bytes(data))
        record.label = bool(made and made.recipe and labelled(made.recipe, settings))
    if origin == "upload":
        from darkroom.library import Library

        if faces is None:
            faces = count_faces(Image.open(io.BytesIO(Library(settings).get_bytes(sha256))))
        record.faces = faces
    put_record(settings, record)


def _refs(step) -> list[str]:
    """The inputs one step reads: its picture and its mask picture (either by sha256 or by path)."""
    zone = getattr(step, "zone", None)
    values = [getattr(step, "image", None), getattr(zone, "image", None) if zone is not None else None]
    return [value for value in values if isinstance(value, str) and value]


def input_refs(recipe, *, masks: bool = False) -> list[str]:
    """The sha256 of every input picture a recipe starts from (with `masks`, its mask pictures too)."""
    refs = []
    for step in recipe.steps:
        values = _refs(step) if masks else [getattr(step, "image", None) or ""]
        for value in values:
            if value.startswith("sha256:") and value[7:] not in refs:
                refs.append(value[7:])
    return refs


def check_inputs(recipe, settings: Settings, scope, log, subject: str) -> list[InputRecord]:
    """At admission (before any pixel): every input photo showing a face needs a basis.

    A basis confirmed now (`scope.consent`) is recorded with the picture; one confirmed
    earlier for the same picture still holds. Each use is an audit event `consent`."""
    from darkroom.library import Library

    library = Library(settings)
    for step in recipe.steps:  # inputs still named by path (a caller that loads inputs itself)
        for value in _refs(step):
            if not value.startswith("sha256:") and Path(value).expanduser().is_file():
                guard_upload(Path(value).expanduser(), settings, scope)
    records = []
    for sha in input_refs(recipe, masks=True):  # a mask is an input like any other: a face photo is one
        record = get_record(settings, sha)
        if record is None:
            if not library.object_path(sha).is_file():
                continue  # a caller with its own input loader; its pictures are not in this library
            known = library.get(sha)
            origin = "darkroom" if known is not None and known.kind in GENERATED_KINDS else "upload"
            faces = count_faces(Image.open(io.BytesIO(library.get_bytes(sha)))) if origin == "upload" else 0
            inherited = bool(origin == "darkroom" and known.recipe and labelled(known.recipe, settings))
            record = InputRecord(sha, scope.project, origin, faces, label=inherited)
        source = "recorded"
        if record.origin == "upload":
            if scope.consent and record.needs_basis:
                record.basis, record.confirmed, source = scope.consent, time.time(), "confirmed"
            record.label = record.label or scope.label
        if record.needs_basis and not record.basis:
            raise _refuse(record.faces, f"input picture sha256:{sha[:12]}")
        put_record(settings, record)
        if record.needs_basis:
            log.append("consent", {
                "input_sha256": sha,
                "basis": record.basis,
                "gdpr": "Art. 6(1)(a)" if record.basis == "consent" else
                        "Art. 6(1)(b)" if record.basis == "contract" else "Art. 6(1)(f)",
                "faces": record.faces,
                "source": source,  # "confirmed" in this run, or "recorded" with the picture earlier
                "confirmed_at": _iso(record.confirmed),
                "label": record.label,
            }, subject=subject, personal={"input_sha256"})
        records.append(record)
    return records


def _iso(stamp: float | None) -> str | None:
    if stamp is None:
        return None
    import datetime as dt

    return dt.datetime.fromtimestamp(stamp, dt.timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


# ---------------------------------------------------------------------------- the label
def labelled(recipe_json: str, settings: Settings | None) -> bool:
    """True if a picture made by this recipe derives from an input marked for labelling."""
    try:
        steps = json.loads(recipe_json).get("steps") or []
    except (ValueError, AttributeError):
        return False
    refs = [s.get("image") for s in steps if isinstance(s, dict) and isinstance(s.get("image"), str)]
    refs = [r[7:] for r in refs if r.startswith("sha256:")]
    if not refs:
        return False
    settings = settings or Settings()
    with closing(_connect(settings)) as db:
        marks = ",".join("?" * len(refs))
        return db.execute(f"SELECT 1 FROM privacy_inputs WHERE label = 1 AND sha256 IN ({marks})", refs
                          ).fetchone() is not None


def _font(size: int):
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow without FreeType: the fixed bitmap font
        return ImageFont.load_default()


def draw_label(image: Image.Image, text: str = LABEL_TEXT) -> Image.Image:
    """The picture with a band along its bottom edge saying `text` (deterministic for a Pillow version)."""
    out = image.convert("RGBA" if image.mode in ("RGBA", "LA", "P") else "RGB").copy()
    width, height = out.size
    band = max(9, round(height * 0.06))
    size = band - 3
    font, label = _font(size), text
    while size > 4 and ImageDraw.Draw(out).textlength(label, font=font) > width - 2:
        size -= 1
        font = _font(size)
    if ImageDraw.Draw(out).textlength(label, font=font) > width - 2:
        label = "KI / AI"
    draw = ImageDraw.Draw(out)
    fill = (0, 0, 0, 255) if out.mode == "RGBA" else (0, 0, 0)
    ink = (255, 255, 255, 255) if out.mode == "RGBA" else (255, 255, 255)
    draw.rectangle((0, height - band, width, height), fill=fill)
    draw.text((1, height - band / 2), label, font=font, fill=ink, anchor="lm")
    return out


def apply_label(image: Image.Image, parameters: str, recipe_json: str, settings) -> tuple[Image.Image, str]:
    """What `render` finishes: the labelled picture and infotext when the recipe's inputs ask for it."""
    if not labelled(recipe_json, settings):
        return image, parameters
    lines = parameters.rstrip("\n").split("\n")
    lines[-1] = f"{lines[-1]}, {LABEL_NOTE}" if lines[-1] else LABEL_NOTE
    return draw_label(image), "\n".join(lines)

