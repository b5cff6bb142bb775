"""A variant group in the library and its contact sheet, a marked picture of its own."""

from __future__ import annotations

import uuid

from darkroom.develop.recipe import canonical_json
from darkroom.develop.variants import contact_sheet
from darkroom.studio.jobs import Picture
from darkroom.studio.saving import export_new, render
from darkroom.trust.gate import scoped_audit


def save_contact_sheet(studio, job, variants: list[tuple[str, Picture]], images: list) -> Picture:
    """Record the group (`darkroom keep` picks one later) and save the sheet beside the variants."""
    vary = job.work.variants["vary"]
    group = f"{vary}-{uuid.uuid4().hex[:12]}"
    studio.library.add_variants(group, [(picture.sha256, label) for label, picture in variants])
    captions = [label for label, _ in variants]
    listing = {"contact_sheet": group, "images": [p.sha256 for _, p in variants], "captions": captions}
    text = f"darkroom contact sheet {group}\n" + "\n".join(
        f"{i + 1}: {label}: sha256:{picture.sha256}" for i, (label, picture) in enumerate(variants))
    audit = scoped_audit(studio.audit, job.work.scope.project)
    entry = audit.append("contact_sheet", listing, personal={"images", "captions"})
    sheet = contact_sheet(images, captions)
    data = render(sheet, parameters=text, recipe_json=canonical_json(listing), audit_ref=entry.ref,
                  settings=studio.settings, audit=audit)
    sha = studio.library.put(data, kind="sheet", project=job.work.scope.project)
    path = None
    if job.delivery.out_dir is not None:
        path = export_new(job.delivery.out_dir, f"sheet-{vary}", data)
        studio.library.set_source_path(sha, str(path.resolve()))
    picture = Picture(sha256=sha, path=path, recipe=None, parent=None, infotext=text, op="contact_sheet",
                      step_index=0, batch_index=0, final=True, width=sheet.width, height=sheet.height,
                      group=group)
    return picture
