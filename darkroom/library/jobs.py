"""The job record: what was asked, by whom, for which project, and how it ended.

One row per job in the studio's database (table `jobs`). A job that was queued or running
in a process that is gone (crash, kill, power cut) is marked `interrupted` when the next
studio starts; since a picture is saved as a whole (file, library row, audit event), what an
interrupted job left is exactly its `pictures`.
"""

from __future__ import annotations

import json
import os
import time
from contextlib import closing
from dataclasses import dataclass, field

from darkroom.db import connect
from darkroom.settings import Settings

SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY,
    owner TEXT,
    project TEXT NOT NULL,
    state TEXT NOT NULL,
    recipe TEXT NOT NULL,
    created REAL NOT NULL,
    started REAL,
    finished REAL,
    error TEXT,
    pictures TEXT NOT NULL DEFAULT '[]',
    pid INTEGER
);
CREATE INDEX IF NOT EXISTS jobs_owner ON jobs(owner);
CREATE INDEX IF NOT EXISTS jobs_project ON jobs(project);
"""
STATES = ("queued", "running", "done", "failed", "cancelled", "interrupted")
LIVE = ("queued", "running")
COLUMNS = "id, owner, project, state, recipe, created, started, finished, error, pictures"


@dataclass
class JobRecord:
    id: str
    owner: str | None
    project: str
    state: str
    recipe: str
    created: float
    started: float | None = None
    finished: float | None = None
    error: str | None = None
    pictures: list[str] = field(default_factory=list)


def _record(row) -> JobRecord:
    return JobRecord(*row[:9], pictures=json.loads(row[9]))


def _alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class JobStore:
    def __init__(self, settings: Settings):
        self.path = settings.database_file

    def _connect(self):
        return connect(self.path, SCHEMA)

    def add(self, job_id: str, *, recipe: str, project: str, owner: str | None) -> None:
        with closing(self._connect()) as db, db:
            db.execute("INSERT INTO jobs (id, owner, project, state, recipe, created, pid) VALUES (?,?,?,?,?,?,?)",
                       (job_id, owner, project, "queued", recipe, time.time(), os.getpid()))

    def set_state(self, job_id: str, state: str, error: str | None = None) -> None:
        now = time.time()
        with closing(self._connect()) as db, db:
            if state == "running":
                db.execute("UPDATE jobs SET state = ?, started = ? WHERE id = ?", (state, now, job_id))
            else:
                db.execute("UPDATE jobs SET state = ?, finished = ?, error = ? WHERE id = ?",
                           (state, now, error, job_id))

    def add_picture(self, job_id: str, sha256: str) -> None:
        with closing(self._connect()) as db, db:
            row = db.execute("SELECT pictures FROM jobs WHERE id = ?", (job_id,)).fetchone()
            if row is not None:
                db.execute("UPDATE jobs SET pictures = ? WHERE id = ?",
                           (json.dumps(json.loads(row[0]) + [sha256]), job_id))

    def get(self, job_id: str) -> JobRecord | None:
        with closing(self._connect()) as db:
            row = db.execute(f"SELECT {COLUMNS} FROM jobs WHERE id = ?", (job_id,)).fetchone()
        return _record(row) if row else None

    def list(self, owner: str | None = None, limit: int = 100) -> list[JobRecord]:
        """The newest jobs first; with `owner`, only theirs."""
        query, args = f"SELECT {COLUMNS} FROM jobs", []
        if owner is not None:
            query, args = query + " WHERE owner = ?", [owner]
        with closing(self._connect()) as db:
            rows = db.execute(query + " ORDER BY created DESC LIMIT ?", (*args, limit)).fetchall()
        return [_record(r) for r in rows]

    def mark_interrupted(self) -> list[JobRecord]:
        """Queued or running jobs of processes that are gone become `interrupted`; returns them."""
        with closing(self._connect()) as db, db:
            rows = db.execute("SELECT id, state, pid FROM jobs WHERE state IN (?, ?)", LIVE).fetchall()
            gone = [(job_id, state) for job_id, state, pid in rows if pid != os.getpid() and not _alive(pid)]
            for job_id, state in gone:
                db.execute("UPDATE jobs SET state = 'interrupted', finished = ?, error = ? WHERE id = ?",
                           (time.time(), f"the studio stopped while the job was {state}", job_id))
        return [self.get(job_id) for job_id, _ in gone]

    def forget(self, *, project: str | None = None, pictures: list[str] | None = None) -> int:
        """Delete the records of a project's jobs, or of the jobs that made any of `pictures` (erasure)."""
        with closing(self._connect()) as db, db:
            if project is not None:
                return db.execute("DELETE FROM jobs WHERE project = ?", (project,)).rowcount
            doomed = set(pictures or [])
            rows = db.execute("SELECT id, pictures FROM jobs").fetchall()
            ids = [job_id for job_id, shas in rows if doomed & set(json.loads(shas))]
            db.executemany("DELETE FROM jobs WHERE id = ?", [(i,) for i in ids])
            return len(ids)
