"""The library: every picture the studio makes or takes in, by the sha256 of its bytes.

Files live under `<home>/library/objects/ab/<sha256>.png`, written atomically, never
changed. Metadata lives in SQLite (`settings.database_file`, WAL mode, shared with the
audit log, which has its own `audit_*` tables):

    library_images     one row per file: kind (image, input, sheet), size, the recipe that
                       made it, its parent's sha256 and the step (index, op) that made it
    library_variants   which files were made as variants of one step, and which one was kept
    library_members    which project(s) a file belongs to (`project` on library_images is the
                       first one); retention and erasure work per project

Deletes overwrite the freed SQLite pages (`secure_delete`); `compact()` also vacuums and
truncates the WAL, so an erased row leaves no copy anywhere in the data dir.
"""

from __future__ import annotations

import hashlib
import io
import os
import sqlite3
import time
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from darkroom.db import connect
from darkroom.errors import ImageError
from darkroom.fsutil import write_atomic
from darkroom.scope import DEFAULT_PROJECT
from darkroom.settings import Settings

SCHEMA = """
CREATE TABLE IF NOT EXISTS library_images (
    sha256 TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    width INTEGER, height INTEGER,
    recipe_sha256 TEXT, recipe TEXT,
    parent_sha256 TEXT,
    step_index INTEGER, op TEXT,
    source_path TEXT,
    created REAL NOT NULL,
    project TEXT NOT NULL DEFAULT 'default'
);
CREATE INDEX IF NOT EXISTS library_images_parent ON library_images(parent_sha256);
CREATE TABLE IF NOT EXISTS library_members (
    sha256 TEXT NOT NULL,
    project TEXT NOT NULL,
    PRIMARY KEY (sha256, project)
);
CREATE INDEX IF NOT EXISTS library_members_project ON library_members(project);
CREATE TABLE IF NOT EXISTS library_variants (
    group_id TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    position INTEGER NOT NULL,
    label TEXT,
    kept INTEGER NOT NULL DEFAULT 0,
    kept_at REAL,
    PRIMARY KEY (group_id, sha256)
);
CREATE INDEX IF NOT EXISTS library_variants_sha ON library_variants(sha256);
"""
REF = "sha256:"
COLUMNS = ("sha256, kind, width, height, recipe_sha256, recipe, parent_sha256, step_index, op, source_path, "
           "created, project")


@dataclass
class LibraryImage:
    sha256: str
    kind: str
    width: int
    height: int
    recipe_sha256: str | None
    recipe: str | None
    parent_sha256: str | None
    step_index: int | None
    op: str | None
    source_path: str | None
    created: float
    project: str = "default"


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class Library:
    def __init__(self, settings: Settings | None = None):
        self.settings = settings or Settings()
        self.root = self.settings.home / "library"
        self.db_path = self.settings.database_file

    # ------------------------------------------------------------------ database
    def _connect(self) -> sqlite3.Connection:
        db = connect(self.db_path)
        _migrate(db)
        db.executescript(SCHEMA)
        return db

    def compact(self) -> None:
        """Rewrite the database without free pages and empty the WAL (after erasing rows)."""
        with closing(self._connect()) as db:
            db.execute("VACUUM")
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    # ------------------------------------------------------------------ files
    def object_path(self, sha256: str) -> Path:
        return self.root / "objects" / sha256[:2] / f"{sha256}.png"

    def put(self, data: bytes, *, kind: str = "image", recipe: str | None = None, recipe_sha256: str | None = None,
            parent: str | None = None, step_index: int | None = None, op: str | None = None,
            source_path: str | None = None, project: str = DEFAULT_PROJECT) -> str:
        """Store `data` (PNG bytes) and its metadata; the sha256 of the bytes is its name."""
        sha = sha256_bytes(data)
        path = self.object_path(sha)
        if not path.exists():
            write_atomic(path, data)
        try:
            with Image.open(io.BytesIO(data)) as image:
                width, height = image.size
        except Exception as err:  # PIL's many error types: one clear message
            raise ImageError(f"cannot store a picture that does not decode: {err}") from None
        with closing(self._connect()) as db, db:
            db.execute(
                "INSERT OR IGNORE INTO library_images (sha256, kind, width, height, recipe_sha256, recipe, "
                "parent_sha256, step_index, op, source_path, created, project) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                (sha, kind, width, height, recipe_sha256, recipe, parent, step_index, op, source_path, time.time(),
                 project))
            db.execute("INSERT OR IGNORE INTO library_members (sha256, project) VALUES (?, ?)", (sha, project))
            if source_path:
                db.execute("UPDATE library_images SET source_path = ? WHERE sha256 = ?", (source_path, sha))
        return sha

    def set_source_path(self, sha256: str, path: str) -> None:
        """Where the exported copy of a stored picture lies."""
        with closing(self._connect()) as db, db:
            db.execute("UPDATE library_images SET source_path = ? WHERE sha256 = ?", (path, sha256))

    def get_bytes(self, sha256: str) -> bytes:
        sha256 = sha256.removeprefix(REF)
        path = self.object_path(sha256)
        if not path.is_file():
            raise ImageError(f"sha256:{sha256[:12]}... is not in the library ({self.root}); "
                             "give the picture's file path instead")
        data = path.read_bytes()
        if sha256_bytes(data) != sha256:
            from darkroom.errors import IntegrityError

            raise IntegrityError(f"library file {path} does not match its sha256; it was changed on disk")
        return data

    def open_input(self, ref: str) -> Image.Image:
        """The picture stored as 'sha256:HEX'."""
        if not ref.startswith(REF):
            raise ImageError(f"input {ref!r} is not a library reference (sha256:HEX); take the file in first")
        image = Image.open(io.BytesIO(self.get_bytes(ref)))
        image.load()
        return image

    # ------------------------------------------------------------------ records
    def get(self, sha256: str) -> LibraryImage | None:
        with closing(self._connect()) as db:
            row = db.execute(f"SELECT {COLUMNS} FROM library_images WHERE sha256 = ?",
                             (sha256.removeprefix(REF),)).fetchone()
        return LibraryImage(*row) if row else None

    def find_file(self, path: str | Path) -> LibraryImage | None:
        return self.get(sha256_bytes(Path(path).read_bytes()))

    def lineage(self, sha256: str) -> list[LibraryImage]:
        """The chain from the first picture (raw) to `sha256`."""
        chain: list[LibraryImage] = []
        seen = set()
        current = self.get(sha256)
        while current is not None and current.sha256 not in seen:
            chain.append(current)
            seen.add(current.sha256)
            current = self.get(current.parent_sha256) if current.parent_sha256 else None
        return chain[::-1]

    def children(self, sha256: str) -> list[LibraryImage]:
        with closing(self._connect()) as db:
            rows = db.execute("SELECT sha256 FROM library_images WHERE parent_sha256 = ? ORDER BY created",
                              (sha256,)).fetchall()
        return [self.get(r[0]) for r in rows]

    def add_variants(self, group_id: str, items: list[tuple[str, str]]) -> None:
        with closing(self._connect()) as db, db:
            db.executemany("INSERT OR REPLACE INTO library_variants (group_id, sha256, position, label) "
                           "VALUES (?,?,?,?)", [(group_id, sha, i, label) for i, (sha, label) in enumerate(items)])

    def keep(self, sha256: str) -> list[str]:
        """Mark `sha256` as the kept one of each variant group it belongs to; returns the groups."""
        now = time.time()
        with closing(self._connect()) as db, db:
            groups = [r[0] for r in db.execute("SELECT group_id FROM library_variants WHERE sha256 = ?", (sha256,))]
            if not groups:
                db.execute("INSERT OR REPLACE INTO library_variants (group_id, sha256, position, label, kept, "
                           "kept_at) VALUES (?,?,0,NULL,1,?)", ("single:" + sha256, sha256, now))
                return []
            for group in groups:
                db.execute("UPDATE library_variants SET kept = 0, kept_at = NULL WHERE group_id = ?", (group,))
                db.execute("UPDATE library_variants SET kept = 1, kept_at = ? WHERE group_id = ? AND sha256 = ?",
                           (now, group, sha256))
        return groups

    def unkeep(self, sha256: str) -> None:
        """Undo `keep`: the picture is no longer kept in any group (its group of one goes)."""
        with closing(self._connect()) as db, db:
            db.execute("DELETE FROM library_variants WHERE group_id = ?", ("single:" + sha256,))
            db.execute("UPDATE library_variants SET kept = 0, kept_at = NULL WHERE sha256 = ?", (sha256,))

    def kept(self, group_id: str | None = None) -> list[str]:
        with closing(self._connect()) as db:
            if group_id:
                rows = db.execute("SELECT sha256 FROM library_variants WHERE kept = 1 AND group_id = ?", (group_id,))
            else:
                rows = db.execute("SELECT sha256 FROM library_variants WHERE kept = 1 ORDER BY kept_at")
            return [r[0] for r in rows]

    def variants(self, group_id: str) -> list[tuple[str, str, bool]]:
        with closing(self._connect()) as db:
            return [(r[0], r[1], bool(r[2])) for r in db.execute(
                "SELECT sha256, label, kept FROM library_variants WHERE group_id = ? ORDER BY position", (group_id,))]

    # ------------------------------------------------------------------ scopes and deletion
    def records(self, project: str | None = None) -> list[LibraryImage]:
        """Every file's record, oldest first; with `project`, the files that belong to it."""
        with closing(self._connect()) as db:
            if project is None:
                rows = db.execute(f"SELECT {COLUMNS} FROM library_images ORDER BY created").fetchall()
            else:
                rows = db.execute(f"SELECT {COLUMNS} FROM library_images WHERE sha256 IN "
                                  "(SELECT sha256 FROM library_members WHERE project = ?) ORDER BY created",
                                  (project,)).fetchall()
        return [LibraryImage(*row) for row in rows]

    def projects(self, sha256: str | None = None) -> list[str]:
        """All projects, or the projects one file belongs to."""
        with closing(self._connect()) as db:
            if sha256 is None:
                rows = db.execute("SELECT DISTINCT project FROM library_members ORDER BY project")
            else:
                rows = db.execute("SELECT project FROM library_members WHERE sha256 = ? ORDER BY project",
                                  (sha256.removeprefix(REF),))
            return [r[0] for r in rows]

    def descendants(self, sha256: str) -> list[str]:
        """Every file developed from `sha256`, children before grandchildren (not `sha256` itself)."""
        found: list[str] = []
        todo = [sha256.removeprefix(REF)]
        with closing(self._connect()) as db:
            while todo:
                rows = db.execute("SELECT sha256 FROM library_images WHERE parent_sha256 = ?", (todo.pop(0),))
                for (child,) in rows.fetchall():
                    if child not in found:
                        found.append(child)
                        todo.append(child)
        return found

    def leave(self, sha256: str, project: str) -> None:
        """Take a file out of one project (it stays for the others)."""
        with closing(self._connect()) as db, db:
            db.execute("DELETE FROM library_members WHERE sha256 = ? AND project = ?", (sha256, project))
            db.execute("UPDATE library_images SET project = (SELECT project FROM library_members WHERE sha256 = ? "
                       "ORDER BY project LIMIT 1) WHERE sha256 = ? AND project = ?", (sha256, sha256, project))

    def remove(self, shas: list[str]) -> int:
        """Delete files and every row about them (records, variants, memberships, privacy records).

        File contents are overwritten before unlinking (best effort: SSDs and copy-on-write file
        systems may keep old blocks). Returns the bytes removed. Call `compact()` afterwards."""
        freed = 0
        shas = [s.removeprefix(REF) for s in shas]
        with closing(self._connect()) as db, db:
            tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            for sha in shas:
                db.execute("DELETE FROM library_images WHERE sha256 = ?", (sha,))
                db.execute("DELETE FROM library_variants WHERE sha256 = ?", (sha,))
                db.execute("DELETE FROM library_members WHERE sha256 = ?", (sha,))
                if "privacy_inputs" in tables:
                    db.execute("DELETE FROM privacy_inputs WHERE sha256 = ?", (sha,))
        for sha in shas:
            path = self.object_path(sha)
            if path.is_file():
                size = path.stat().st_size
                with open(path, "r+b") as handle:
                    handle.write(b"\0" * size)
                    handle.flush()
                    os.fsync(handle.fileno())
                path.unlink()
                freed += size
                try:
                    path.parent.rmdir()
                except OSError:
                    pass  # other files share the folder
        return freed


def _migrate(db: sqlite3.Connection) -> None:
    """Bring a database made by an earlier version up to SCHEMA (idempotent)."""
    columns = {r[1] for r in db.execute("PRAGMA table_info(library_images)")}
    if columns and "project" not in columns:
        with db:
            db.execute("ALTER TABLE library_images ADD COLUMN project TEXT NOT NULL DEFAULT 'default'")
            db.execute("CREATE TABLE IF NOT EXISTS library_members (sha256 TEXT NOT NULL, project TEXT NOT NULL, "
                       "PRIMARY KEY (sha256, project))")
            db.execute("INSERT OR IGNORE INTO library_members (sha256, project) SELECT sha256, project "
                       "FROM library_images")
