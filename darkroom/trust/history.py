"""The history of one image in the audit log, from raw to export.

Linked are: the image's `export` event (found by file hash, manifest, watermark or audit
reference, as `darkroom verify` does), the entry its `audit_ref` names, and every entry
whose payload carries the same `recipe_sha256` (model load, recipe submission, policy
decision and each step, when they record the recipe hash). For an edit, the parent's own
export event (by `parent_sha256`) and its history come first.
"""

from __future__ import annotations

from pathlib import Path


def image_history(log, path: str | Path) -> list:
    from darkroom.trust.verify import verify_file

    report = verify_file(path, log.settings)
    if report.audit is None:
        return []
    return _history(log, report.audit.entry, depth=0)


def _history(log, export, depth: int) -> list:
    found = {export.index: export}
    ref = export.payload.get("audit_ref")
    if isinstance(ref, str):
        entry = log.resolve(ref)
        if entry is not None:
            found[entry.index] = entry
    # the image's own recipe, and the submitted recipe of the run whose step made it
    recipes = {export.payload.get("recipe_sha256")}
    recipes |= {entry.payload.get("recipe_sha256") for entry in list(found.values()) if entry.kind == "step"}
    for recipe in recipes - {None}:
        for entry in log.find(recipe_sha256=recipe):
            if entry.index <= export.index:
                found[entry.index] = entry
    parent = export.payload.get("parent_sha256")
    if isinstance(parent, str) and depth < 16:
        for parent_export in _exports_of(log, parent)[-1:]:
            for entry in _history(log, parent_export, depth + 1):
                found.setdefault(entry.index, entry)
    return [found[i] for i in sorted(found)]


def _exports_of(log, sha256: str) -> list:
    """Export events of a file; project-scoped exports keep the hash encrypted, so those are
    compared after decryption."""
    return log.find("export", sha256=sha256) or [
        entry for entry in log.find("export") if entry.payload.get("sha256") == sha256]
