"""The audit log: append-only, hash-chained, Merkle-checkpointed, erasable per person.

    log = AuditLog(settings)
    entry = log.append("step", {"op": "generate", "prompt": "...", "seed": 42}, subject="alice")
    log.checkpoint()          # sign (size, root, time) with the studio key
    log.verify().ok           # recompute chain, tree and signatures
    log.shred("alice")        # delete alice's key: her prompts become unreadable, the log still verifies

Entries live in the library database (`settings.database_file`, WAL mode) in tables
prefixed `audit_`. Triggers refuse UPDATE and DELETE on entries and checkpoints, so
only someone editing the file by hand can change history, and `verify()` shows where.

Personal fields (DEFAULT_PERSONAL: prompts, infotext, recipe text, user names, ...) are
encrypted with AES-256-GCM under a key per subject; the hash covers the ciphertext, so
`shred(subject)` deletes the key (and the name behind the subject's pseudonym) without
touching any hashed byte. Entries with personal fields and no subject belong to the
subject "local" (the studio's own user).

Formats and the verification algorithm are in `darkroom.trust.auditor`.
"""

from __future__ import annotations

import base64
import datetime as _dt
import json
import os
import sqlite3
import threading
import uuid
from collections.abc import Iterable
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from darkroom.errors import DarkroomError, InvalidParameter
from darkroom.db import connect
from darkroom.settings import Settings
from darkroom.trust import auditor

DEFAULT_PERSONAL = frozenset(
    {"prompt", "negative_prompt", "prompts", "parameters", "infotext", "recipe", "user", "user_name",
     "email", "ip", "note", "caption", "filename", "path", "source_name"}
)
LOCAL_SUBJECT = "local"
SHREDDED = "[erased]"
_ENC = "$enc"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS audit_meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS audit_entries (
    idx INTEGER PRIMARY KEY,
    time TEXT NOT NULL,
    kind TEXT NOT NULL,
    subject TEXT,
    payload TEXT NOT NULL,
    prev TEXT NOT NULL,
    hash TEXT NOT NULL UNIQUE
);
CREATE INDEX IF NOT EXISTS audit_entries_kind ON audit_entries(kind);
CREATE INDEX IF NOT EXISTS audit_entries_subject ON audit_entries(subject);
CREATE TABLE IF NOT EXISTS audit_subjects (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    key BLOB NOT NULL,
    created TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS audit_checkpoints (
    id INTEGER PRIMARY KEY,
    log TEXT NOT NULL,
    size INTEGER NOT NULL,
    root TEXT NOT NULL,
    time TEXT NOT NULL,
    signature TEXT NOT NULL,
    chain TEXT NOT NULL
);
CREATE TRIGGER IF NOT EXISTS audit_entries_no_update BEFORE UPDATE ON audit_entries
BEGIN SELECT RAISE(ABORT, 'audit entries are append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_entries_no_delete BEFORE DELETE ON audit_entries
BEGIN SELECT RAISE(ABORT, 'audit entries are append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_checkpoints_no_update BEFORE UPDATE ON audit_checkpoints
BEGIN SELECT RAISE(ABORT, 'audit checkpoints are append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_checkpoints_no_delete BEFORE DELETE ON audit_checkpoints
BEGIN SELECT RAISE(ABORT, 'audit checkpoints are append-only'); END;
"""


class AuditError(DarkroomError):
    """The audit log cannot be read or written."""


@dataclass(frozen=True)
class AuditEntry:
    index: int
    time: str
    kind: str
    subject: str | None  # the subject's name while their key exists, else the pseudonym
    payload: dict  # personal fields decrypted, or SHREDDED after erasure
    prev: str
    hash: str

    @property
    def ref(self) -> str:
        """A short, stable reference to this entry: `audit:<index>:<hash prefix>`."""
        return f"audit:{self.index}:{self.hash[:16]}"


@dataclass(frozen=True)
class Checkpoint:
    id: int
    log: str
    size: int
    root: str
    time: str
    signature: str
    chain: str


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="microseconds").replace("+00:00", "Z")


def parse_ref(ref: str) -> tuple[int, str] | None:
    """`audit:<index>:<hash prefix>` -> (index, prefix); None if it is not such a reference."""
    parts = ref.split(":")
    if len(parts) == 3 and parts[0] == "audit" and parts[1].isdigit():
        return int(parts[1]), parts[2]
    return None


class AuditLog:
    """The studio's audit log in `settings.database_file`."""

    def __init__(self, settings: Settings | None = None, *, checkpoint_every: int = 64, identity=None):
        self.settings = settings or Settings()
        self.path: Path = self.settings.database_file
        self.checkpoint_every = checkpoint_every
        self._identity = identity
        self._lock = threading.Lock()
        self.settings.ensure_home()
        with self._connect() as db:
            db.executescript(_SCHEMA)
            db.execute("INSERT OR IGNORE INTO audit_meta(key, value) VALUES ('log_id', ?)", (uuid.uuid4().hex,))
        self.log_id: str = self._meta("log_id")

    # --- connection ---------------------------------------------------------------

    @contextmanager
    def _connect(self):
        try:
            db = connect(self.path, autocommit=True)
        except sqlite3.DatabaseError as err:
            raise AuditError(f"audit log {self.path}: {err}") from err
        try:
            yield db
        except sqlite3.DatabaseError as err:
            raise AuditError(f"audit log {self.path}: {err}") from err
        finally:
            db.close()

    def _meta(self, key: str) -> str:
        with self._connect() as db:
            return db.execute("SELECT value FROM audit_meta WHERE key = ?", (key,)).fetchone()[0]

    @property
    def identity(self):
        if self._identity is None:
            from darkroom.trust.keys import load_identity

            self._identity = load_identity(self.settings)
        return self._identity

    # --- writing ------------------------------------------------------------------

    def append(
        self,
        kind: str,
        payload: dict,
        subject: str | None = None,
        *,
        personal: Iterable[str] | None = None,
    ) -> AuditEntry:
        """Append one event. Fields named in `personal` (default DEFAULT_PERSONAL) are
        encrypted for `subject` (default "local" when there are any)."""
        if not kind or not isinstance(kind, str):
            raise InvalidParameter("an audit event needs a kind, e.g. 'step' or 'export'")
        if not isinstance(payload, dict):
            raise InvalidParameter("an audit payload must be a dict")
        personal_keys = DEFAULT_PERSONAL if personal is None else frozenset(personal)
        secret = {k: v for k, v in payload.items() if k in personal_keys}
        if secret and subject is None:
            subject = LOCAL_SUBJECT
        try:
            auditor.canonical_json(payload)
        except (TypeError, ValueError) as err:
            raise InvalidParameter(f"audit payload is not plain JSON: {err}") from err
        with self._lock, self._connect() as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                subject_id, key = self._subject_key(db, subject) if subject is not None else (None, None)
                row = db.execute("SELECT idx, hash FROM audit_entries ORDER BY idx DESC LIMIT 1").fetchone()
                index, prev = (row[0] + 1, row[1]) if row else (0, auditor.GENESIS)
                stored = {
                    k: (_encrypt(key, index, k, v) if k in secret else v) for k, v in payload.items()
                }
                time = _now()
                data = auditor.entry_data(index, time, kind, subject_id, stored, prev)
                digest = auditor.leaf_hash(data).hex()
                db.execute(
                    "INSERT INTO audit_entries(idx, time, kind, subject, payload, prev, hash) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (index, time, kind, subject_id, auditor.canonical_json(stored).decode(), prev, digest),
                )
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
        entry = AuditEntry(index, time, kind, subject, dict(payload), prev, digest)
        if self.checkpoint_every and (index + 1) % self.checkpoint_every == 0:
            self.checkpoint()
        return entry

    def _subject_key(self, db, name: str) -> tuple[str, bytes]:
        row = db.execute("SELECT id, key FROM audit_subjects WHERE name = ?", (name,)).fetchone()
        if row:
            return row[0], row[1]
        subject_id, key = "subj-" + uuid.uuid4().hex, os.urandom(32)
        db.execute(
            "INSERT INTO audit_subjects(id, name, key, created) VALUES (?, ?, ?, ?)",
            (subject_id, name, key, _now()),
        )
        return subject_id, key

    def checkpoint(self) -> Checkpoint:
        """Sign (log, size, root, time) with the studio key and store it."""
        identity = self.identity
        with self._lock, self._connect() as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                leaves = [bytes.fromhex(h) for (h,) in db.execute("SELECT hash FROM audit_entries ORDER BY idx")]
                root = auditor.merkle_root(leaves).hex()
                time = _now()
                message = auditor.checkpoint_message(self.log_id, len(leaves), root, time)
                signature = base64.b64encode(identity.sign(message)).decode()
                chain = identity.chain_pem.decode()  # the root stays out: verifiers hold it as an anchor
                cur = db.execute(
                    "INSERT INTO audit_checkpoints(log, size, root, time, signature, chain) VALUES (?, ?, ?, ?, ?, ?)",
                    (self.log_id, len(leaves), root, time, signature, chain),
                )
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
        return Checkpoint(cur.lastrowid, self.log_id, len(leaves), root, time, signature, chain)

    def shred(self, subject: str) -> int:
        """Crypto-shred a subject: delete their key and name. Returns how many entries
        held their personal fields (now unreadable). The log still verifies; an "erasure"
        event (pseudonym and count, no name) is appended."""
        with self._lock, self._connect() as db:
            db.execute("BEGIN IMMEDIATE")
            row = db.execute("SELECT id FROM audit_subjects WHERE name = ?", (subject,)).fetchone()
            if row is None:
                db.execute("ROLLBACK")
                return 0
            count = db.execute("SELECT COUNT(*) FROM audit_entries WHERE subject = ?", (row[0],)).fetchone()[0]
            db.execute("DELETE FROM audit_subjects WHERE id = ?", (row[0],))
            db.execute("COMMIT")
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # no copy of the key left in the WAL
        # The erasure itself is on the record, under the pseudonym only.
        self.append("erasure", {"pseudonym": row[0], "entries": count})
        return count

    # --- reading ------------------------------------------------------------------

    def __len__(self) -> int:
        with self._connect() as db:
            return db.execute("SELECT COUNT(*) FROM audit_entries").fetchone()[0]

    def entries(self, start: int = 0, stop: int | None = None, *, kind: str | None = None) -> list[AuditEntry]:
        """Entries with start <= index < stop, decrypted where the subject's key exists."""
        sql, args = "SELECT idx, time, kind, subject, payload, prev, hash FROM audit_entries WHERE idx >= ?", [start]
        if stop is not None:
            sql += " AND idx < ?"
            args.append(stop)
        if kind is not None:
            sql += " AND kind = ?"
            args.append(kind)
        with self._connect() as db:
            rows = db.execute(sql + " ORDER BY idx", args).fetchall()
            keys = {sid: (name, key) for sid, name, key in db.execute("SELECT id, name, key FROM audit_subjects")}
        return [self._open(row, keys) for row in rows]

    def entry(self, index: int) -> AuditEntry:
        found = self.entries(index, index + 1)
        if not found:
            raise AuditError(f"there is no audit entry #{index}")
        return found[0]

    def last(self, n: int = 20) -> list[AuditEntry]:
        with self._connect() as db:
            top = db.execute("SELECT MAX(idx) FROM audit_entries").fetchone()[0]
        if top is None:
            return []
        return self.entries(max(0, top - n + 1))

    def find(self, kind: str | None = None, **fields) -> list[AuditEntry]:
        """Entries whose payload has these top-level values (plain fields only)."""
        sql, args = "SELECT idx FROM audit_entries WHERE 1", []
        if kind is not None:
            sql += " AND kind = ?"
            args.append(kind)
        for name, value in fields.items():
            if not name.isidentifier():
                raise InvalidParameter(f"bad field name {name!r}")
            sql += f" AND json_extract(payload, '$.{name}') = ?"
            args.append(value)
        with self._connect() as db:
            indices = [i for (i,) in db.execute(sql + " ORDER BY idx", args)]
        return [self.entry(i) for i in indices]

    def resolve(self, ref: str) -> AuditEntry | None:
        """The entry an `audit:<index>:<hash prefix>` reference names, if it exists unchanged."""
        parsed = parse_ref(ref)
        if parsed is None:
            return None
        try:
            entry = self.entry(parsed[0])
        except AuditError:
            return None
        return entry if entry.hash.startswith(parsed[1]) else None

    def entry_intact(self, index: int) -> bool:
        """True if entry `index` still hashes to its stored hash (one entry; see verify())."""
        with self._connect() as db:
            row = db.execute("SELECT idx, time, kind, subject, payload, prev, hash FROM audit_entries WHERE idx = ?",
                             (index,)).fetchone()
        if row is None:
            return False
        i, t, k, subj, payload, prev, digest = row
        data = auditor.entry_data(i, t, k, subj, json.loads(payload), prev)
        return auditor.leaf_hash(data).hex() == digest

    def kinds(self) -> list[str]:
        """The event kinds the log holds."""
        with self._connect() as db:
            return [kind for (kind,) in db.execute("SELECT DISTINCT kind FROM audit_entries ORDER BY kind")]

    def checkpoints(self) -> list[Checkpoint]:
        with self._connect() as db:
            rows = db.execute("SELECT id, log, size, root, time, signature, chain FROM audit_checkpoints ORDER BY id")
            return [Checkpoint(*row) for row in rows]

    def _open(self, row, keys) -> AuditEntry:
        index, time, kind, subject_id, payload_text, prev, digest = row
        payload = json.loads(payload_text)
        name, key = keys.get(subject_id, (None, None))
        opened = {}
        for field_name, value in payload.items():
            if isinstance(value, dict) and _ENC in value:
                opened[field_name] = _decrypt(key, index, field_name, value) if key else SHREDDED
            else:
                opened[field_name] = value
        return AuditEntry(index, time, kind, name or subject_id, opened, prev, digest)

    def _raw(self) -> tuple[list[dict], list[dict]]:
        with self._connect() as db:
            entries = [
                {"index": i, "time": t, "kind": k, "subject": s, "payload": json.loads(p), "prev": pv, "hash": h}
                for i, t, k, s, p, pv, h in db.execute(
                    "SELECT idx, time, kind, subject, payload, prev, hash FROM audit_entries ORDER BY idx"
                )
            ]
        checkpoints = [c.__dict__.copy() for c in self.checkpoints()]
        return entries, checkpoints

    # --- the tree -----------------------------------------------------------------

    def _leaves(self, size: int | None = None) -> list[bytes]:
        with self._connect() as db:
            leaves = [bytes.fromhex(h) for (h,) in db.execute("SELECT hash FROM audit_entries ORDER BY idx")]
        if size is not None:
            if not 0 <= size <= len(leaves):
                raise AuditError(f"the log has {len(leaves)} entries, not {size}")
            leaves = leaves[:size]
        return leaves

    def root(self, size: int | None = None) -> str:
        return auditor.merkle_root(self._leaves(size)).hex()

    def proof(self, index: int, size: int | None = None) -> list[str]:
        """RFC 6962 inclusion proof (audit path, hex) of entry `index` in the tree of `size`
        entries (default: all). Check it with `auditor.verify_inclusion`."""
        leaves = self._leaves(size)
        if not 0 <= index < len(leaves):
            raise AuditError(f"entry #{index} is not in a tree of {len(leaves)} entries")
        return [h.hex() for h in auditor.inclusion_proof(leaves, index)]

    # --- verification ---------------------------------------------------------------

    def verify(self) -> auditor.Verification:
        """Recompute every hash, the chain, the Merkle roots and checkpoint signatures."""
        from cryptography import x509

        from darkroom.trust.keys import trust_anchors_pem

        entries, checkpoints = self._raw()
        pem = trust_anchors_pem(self.settings)
        anchors = x509.load_pem_x509_certificates(pem) if pem else []
        return auditor.verify_log(entries, checkpoints, anchors, self.log_id)

    def export(self, path: str | os.PathLike) -> Path:
        """Write a self-contained bundle (entries with personal fields still encrypted,
        checkpoints, trust anchors) that `auditor.py` verifies without this database."""
        from darkroom.fsutil import write_atomic
        from darkroom.trust.keys import trust_anchors_pem

        entries, checkpoints = self._raw()
        bundle = {
            "format": auditor.BUNDLE_FORMAT,
            "log": self.log_id,
            "exported": _now(),
            "anchors": trust_anchors_pem(self.settings).decode(),
            "entries": entries,
            "checkpoints": checkpoints,
        }
        return write_atomic(Path(path), json.dumps(bundle, indent=1, ensure_ascii=False).encode())


def _aad(index: int, field_name: str) -> bytes:
    return f"darkroom-audit/{index}/{field_name}".encode()


def _encrypt(key: bytes, index: int, field_name: str, value) -> dict:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    nonce = os.urandom(12)
    ct = AESGCM(key).encrypt(nonce, auditor.canonical_json(value), _aad(index, field_name))
    return {_ENC: "A256GCM", "n": base64.b64encode(nonce).decode(), "c": base64.b64encode(ct).decode()}


def _decrypt(key: bytes, index: int, field_name: str, box: dict):
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    try:
        plain = AESGCM(key).decrypt(base64.b64decode(box["n"]), base64.b64decode(box["c"]), _aad(index, field_name))
    except (InvalidTag, KeyError, ValueError):
        return "[unreadable: ciphertext altered]"
    return json.loads(plain)
