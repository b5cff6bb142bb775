"""Erasure (GDPR Art. 17): a project, or one picture with everything developed from it.

`erase_project(settings, "p")` deletes every file of the project from the library (inputs,
masks, intermediates, outputs, contact sheets: the files, their rows, variant and privacy
records; a file that another project also holds only leaves this project), then
crypto-shreds the project's audit subject: its key is deleted, so the prompts, recipes,
file hashes and consent records in its audit events become unreadable while every hash
of the chain stays as it was (`darkroom audit verify` still passes). Last, the database
is vacuumed and its WAL truncated, so no deleted row survives in a free page.

`erase_image(settings, sha)` deletes one picture and its descendants (files and rows).
Their audit events stay encrypted under the project's key, which other pictures of the
project share, so `darkroom audit show` still prints their prompts and hashes; to shred
those fields too, erase the project (the CLI and the README say so).

Pictures already exported to folders outside the data dir are the user's files; with
`exports=True` the ones darkroom wrote (recorded as the output's path, still holding the
same bytes) are deleted too. Uploaded originals are never touched.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from darkroom.errors import InvalidParameter
from darkroom.library.jobs import JobStore
from darkroom.settings import Settings


IMAGE_AUDIT_NOTE = ("their audit events stay encrypted under the project's key, so `darkroom audit show` still "
                    "prints their prompts, recipes and file hashes; to shred those too, erase the whole project "
                    "(`darkroom erase --project P`)")


@dataclass
class ErasureReport:
    scope: str  # "project" or "image"
    deleted: list[str] = field(default_factory=list)  # sha256 of the files deleted
    kept_shared: int = 0  # files that stay because another project holds them too
    exports: list[str] = field(default_factory=list)  # exported files deleted
    bytes: int = 0
    shredded_entries: int = 0  # audit entries whose personal fields were shredded
    event: str | None = None

    def summary(self) -> str:
        parts = [f"erased {len(self.deleted)} file(s), {self.bytes} bytes"]
        if self.kept_shared:
            parts.append(f"{self.kept_shared} file(s) kept for other projects")
        if self.exports:
            parts.append(f"{len(self.exports)} exported file(s) deleted")
        if self.scope == "project":
            parts.append(f"personal fields of {self.shredded_entries} audit entries shredded")
        else:
            parts.append(IMAGE_AUDIT_NOTE)
        return "; ".join(parts)


def _delete_exports(library, shas: list[str]) -> list[str]:
    """Exported output files darkroom wrote for these pictures, if they still hold the same bytes."""
    removed = []
    for sha in shas:
        record = library.get(sha)
        if record is None or record.kind == "input" or not record.source_path:
            continue
        path = Path(record.source_path)
        try:
            if path.is_file() and hashlib.sha256(path.read_bytes()).hexdigest() == sha:
                path.unlink()
                removed.append(str(path))
        except OSError:
            continue
    return removed


def plan_project(settings: Settings, project: str) -> tuple[list[str], list[str]]:
    """(files to delete, files that only leave the project because others hold them)."""
    from darkroom.library import Library

    library = Library(settings)
    delete, leave = [], []
    for record in library.records(project):
        others = [p for p in library.projects(record.sha256) if p != project]
        (leave if others else delete).append(record.sha256)
    return delete, leave


def erase_project(settings: Settings | None, project: str, *, exports: bool = False) -> ErasureReport:
    from darkroom.library import Library
    from darkroom.trust.audit import AuditLog
    from darkroom.scope import check_project
    from darkroom.trust.gate import audit_subject

    settings = settings or Settings()
    check_project(project)
    library = Library(settings)
    log = AuditLog(settings)
    delete, leave = plan_project(settings, project)
    report = ErasureReport("project", deleted=delete, kept_shared=len(leave))
    if exports:
        report.exports = _delete_exports(library, delete)
    for sha in leave:
        library.leave(sha, project)
    report.bytes = library.remove(delete)
    _forget_consent(settings, project)
    JobStore(settings).forget(project=project)
    report.shredded_entries = log.shred(audit_subject(project))  # appends "erasure" (pseudonym, count)
    report.event = log.append("erase", {"scope": "project", "files": len(delete), "bytes": report.bytes,
                                        "kept_shared": len(leave), "exports": len(report.exports),
                                        "audit_entries_shredded": report.shredded_entries}).ref
    library.compact()
    return report


def erase_image(settings: Settings | None, sha256: str, *, exports: bool = False) -> ErasureReport:
    from darkroom.library import Library
    from darkroom.trust.audit import AuditLog

    settings = settings or Settings()
    library = Library(settings)
    sha256 = resolve_image(library, sha256)
    shas = [sha256, *library.descendants(sha256)]
    report = ErasureReport("image", deleted=shas)
    if exports:
        report.exports = _delete_exports(library, shas)
    report.bytes = library.remove(shas)
    JobStore(settings).forget(pictures=shas)
    report.event = AuditLog(settings).append("erase", {"scope": "image", "files": len(shas), "bytes": report.bytes,
                                                       "exports": len(report.exports)}).ref
    library.compact()
    return report


def resolve_image(library, ref: str) -> str:
    """The full sha256 of a library picture named by sha256 or a unique prefix of 8+ hex digits."""
    sha256 = (ref or "").removeprefix("sha256:").lower()
    if library.get(sha256) is not None:
        return sha256
    matches = [r.sha256 for r in library.records() if r.sha256.startswith(sha256)] if len(sha256) >= 8 else []
    if len(matches) != 1:
        raise InvalidParameter(f"sha256:{sha256[:12]} is not in the library"
                               + (" (the prefix is ambiguous)" if matches else ""))
    return matches[0]


def _forget_consent(settings: Settings, project: str) -> None:
    """Privacy records of the project whose files are gone already went with `remove`; drop the rest."""
    from contextlib import closing

    from darkroom.trust.consent import _connect

    with closing(_connect(settings)) as db, db:
        db.execute("DELETE FROM privacy_inputs WHERE project = ? AND sha256 NOT IN "
                   "(SELECT sha256 FROM library_members)", (project,))
