"""One place for SQLite connection settings: the library, the audit log, consent records and jobs
share one database file (`settings.database_file`).

WAL (readers never block the writer), a busy timeout (several processes may write), and
`secure_delete` (deleted rows are overwritten, not left in free pages: erasure depends on it).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

BUSY_TIMEOUT_S = 30


def connect(path: Path, schema: str | None = None, *, autocommit: bool = False) -> sqlite3.Connection:
    """A connection with the studio's settings; `schema` (CREATE ... IF NOT EXISTS) is applied."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    options = {"isolation_level": None} if autocommit else {}
    db = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S, check_same_thread=False, **options)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_S * 1000}")
    db.execute("PRAGMA secure_delete=ON")
    db.execute("PRAGMA foreign_keys=ON")
    if schema:
        db.executescript(schema)
    return db
