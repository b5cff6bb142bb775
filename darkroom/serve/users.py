"""Users of a shared server: a name, an admin flag and a token shown once, stored only hashed.

Tokens are 32 random bytes (URL-safe base64); the database keeps their sha256, so a stolen
database file does not log anyone in. Comparison is constant-time.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
from contextlib import closing
from dataclasses import dataclass

from darkroom.db import connect
from darkroom.errors import InvalidParameter
from darkroom.settings import Settings

SCHEMA = """
CREATE TABLE IF NOT EXISTS serve_users (
    name TEXT PRIMARY KEY,
    token_sha256 TEXT NOT NULL,
    admin INTEGER NOT NULL DEFAULT 0,
    created REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS serve_projects (
    project TEXT PRIMARY KEY,
    owner TEXT NOT NULL
);
"""
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


@dataclass(frozen=True)
class User:
    name: str
    admin: bool = False


LOCAL = User("local", admin=True)  # the single user of a loopback server without users


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


class Users:
    def __init__(self, settings: Settings):
        self.path = settings.database_file

    def _connect(self):
        return connect(self.path, SCHEMA)

    def add(self, name: str, *, admin: bool = False) -> str:
        """Create a user; returns their token (shown once, never stored)."""
        if not _NAME.fullmatch(name or "") or name == LOCAL.name:
            raise InvalidParameter(f"user name {name!r}: use 1-64 letters, digits, '.', '_' or '-' "
                                   f"(and not {LOCAL.name!r})")
        token = secrets.token_urlsafe(32)
        with closing(self._connect()) as db, db:
            if db.execute("SELECT 1 FROM serve_users WHERE name = ?", (name,)).fetchone():
                raise InvalidParameter(f"user {name!r} exists; remove them first to issue a new token")
            db.execute("INSERT INTO serve_users (name, token_sha256, admin, created) VALUES (?,?,?,?)",
                       (name, _digest(token), int(admin), time.time()))
        return token

    def remove(self, name: str) -> None:
        with closing(self._connect()) as db, db:
            if not db.execute("DELETE FROM serve_users WHERE name = ?", (name,)).rowcount:
                raise InvalidParameter(f"no user {name!r}")

    def list(self) -> list[User]:
        with closing(self._connect()) as db:
            return [User(n, bool(a)) for n, a in db.execute("SELECT name, admin FROM serve_users ORDER BY name")]

    def any(self) -> bool:
        with closing(self._connect()) as db:
            return db.execute("SELECT 1 FROM serve_users LIMIT 1").fetchone() is not None

    def authenticate(self, token: str, name: str | None = None) -> User | None:
        """The user whose token this is (and, with `name`, only if it is theirs)."""
        digest = _digest(token)
        found = None
        with closing(self._connect()) as db:
            rows = db.execute("SELECT name, token_sha256, admin FROM serve_users").fetchall()
        for user, stored, admin in rows:  # compare every row: no early exit that times the match
            if hmac.compare_digest(stored, digest) and (name is None or hmac.compare_digest(user, name)):
                found = User(user, bool(admin))
        return found

    def claim_project(self, project: str, user: User) -> None:
        """A project belongs to the first user who uses it; others get a clear refusal."""
        with closing(self._connect()) as db, db:
            db.execute("INSERT OR IGNORE INTO serve_projects (project, owner) VALUES (?, ?)", (project, user.name))
            owner = db.execute("SELECT owner FROM serve_projects WHERE project = ?", (project,)).fetchone()[0]
        if owner != user.name and not user.admin:
            raise Forbidden(f"project {project!r} belongs to another user; choose another project name")

    def projects_of(self, user: User) -> set[str]:
        with closing(self._connect()) as db:
            return {r[0] for r in db.execute("SELECT project FROM serve_projects WHERE owner = ?", (user.name,))}


class Forbidden(InvalidParameter):
    status = 403
