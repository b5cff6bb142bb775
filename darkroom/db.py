"""One place for SQLite connection settings: the library, the audit log, consent records and jobs
share one database file (`settings.database_file`).

WAL (readers never block the writer), a busy timeout (several processes may write), and
`secure_delete` (deleted rows are overwritten, not left in free pages: erasure depends on it).
The file holds every prompt and the audit keys: it is created 0600 in a 0700 folder
(`darkroom.fsutil`), whatever the umask; SQLite gives its -wal and -shm files the same mode.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from darkroom.fsutil import make_private, private_file

BUSY_TIMEOUT_S = 30


def connect(path: Path, schema: str | None = None, *, autocommit: bool = False) -> sqlite3.Connection:
    """A connection with the studio's settings; `schema` (CREATE ... IF NOT EXISTS) is applied."""
    private_file(Path(path))
    make_private(Path(path).parent)
    for suffix in ("-wal", "-shm"):
        make_private(Path(f"{path}{suffix}"))
    options = {"isolation_level": None} if autocommit else {}
    db = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S, check_same_thread=False, **options)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_S * 1000}")
    db.execute("PRAGMA secure_delete=ON")
    db.execute("PRAGMA foreign_keys=ON")
    if schema:
        db.executescript(schema)
    return db
