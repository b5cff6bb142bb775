"""Retention: how long the library keeps each kind of picture, per project (GDPR Art. 5(1)(e)).

`<data dir>/retention.yaml` (optional; these are the defaults):

    default:                 # every project
      inputs: 90d            # uploaded photos and masks
      intermediates: 30d     # developed pictures that a later step was developed from
      outputs: never         # final pictures (leaves of the lineage)
      previews: 30d          # contact sheets
    projects:
      client-a:              # overrides for one project
        inputs: 7d

A time-to-live is a number with a unit (s, m, h, d, w), a plain number of seconds, or
`never`. `darkroom retention run` deletes every file older than its TTL (file, database
rows, privacy records), overwrites the freed database pages, and appends one audit event
`retention` per project and run: counts, bytes and the deleted files' sha256 (encrypted
under the project's audit subject, like every personal field).
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from pathlib import Path

from darkroom.errors import InvalidParameter
from darkroom.settings import Settings

CATEGORIES = ("inputs", "intermediates", "outputs", "previews")
DEFAULTS = {"inputs": "90d", "intermediates": "30d", "outputs": "never", "previews": "30d"}
FILE_NAME = "retention.yaml"
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_ttl(value, where: str = "ttl") -> float | None:
    """Seconds, or None for `never`."""
    if value is None or (isinstance(value, str) and value.strip().lower() in ("never", "forever", "")):
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0:
        return float(value)
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*", str(value))
    if not match:
        raise InvalidParameter(f"{where}: {value!r} is not a time-to-live; write e.g. 30d, 12h, 90m or never")
    return float(match.group(1)) * _UNITS[match.group(2) or "s"]


def format_ttl(seconds: float | None) -> str:
    if seconds is None:
        return "never"
    for unit in ("w", "d", "h", "m"):
        if seconds >= _UNITS[unit] and seconds % _UNITS[unit] == 0:
            return f"{int(seconds // _UNITS[unit])}{unit}"
    return f"{seconds:g}s"


@dataclass
class RetentionPolicy:
    default: dict[str, float | None]
    projects: dict[str, dict[str, float | None]] = field(default_factory=dict)
    source: str = "built-in defaults"

    def ttl(self, project: str, category: str) -> float | None:
        return self.projects.get(project, {}).get(category, self.default[category])


def _section(data, where: str) -> dict[str, float | None]:
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise InvalidParameter(f"{where}: expected a mapping of {', '.join(CATEGORIES)} to a time-to-live")
    unknown = set(data) - set(CATEGORIES)
    if unknown:
        raise InvalidParameter(f"{where}: unknown kind {sorted(unknown)[0]!r}; use {', '.join(CATEGORIES)}")
    return {k: parse_ttl(v, f"{where}.{k}") for k, v in data.items()}


def load_policy(settings: Settings | None = None) -> RetentionPolicy:
    import yaml

    settings = settings or Settings()
    default = {k: parse_ttl(v) for k, v in DEFAULTS.items()}
    path = Path(settings.home) / FILE_NAME
    if not path.is_file():
        return RetentionPolicy(default)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as err:
        raise InvalidParameter(f"{path}: not valid YAML: {err}") from None
    if not isinstance(data, dict) or set(data) - {"default", "projects"}:
        raise InvalidParameter(f"{path}: expected the keys 'default' and/or 'projects'")
    default.update(_section(data.get("default"), "default"))
    projects = data.get("projects") or {}
    if not isinstance(projects, dict):
        raise InvalidParameter(f"{path}: 'projects' must map project names to kinds and TTLs")
    return RetentionPolicy(default, {str(p): _section(v, f"projects.{p}") for p, v in projects.items()}, str(path))


def category_of(record, parents: set[str]) -> str:
    """inputs, intermediates, outputs or previews, for a library record."""
    if record.kind == "input":
        return "inputs"
    if record.kind == "sheet":
        return "previews"
    return "intermediates" if record.sha256 in parents else "outputs"


@dataclass
class Expired:
    sha256: str
    project: str
    category: str
    age: float
    size: int


@dataclass
class RetentionReport:
    dry_run: bool
    expired: list[Expired]
    freed: int = 0
    events: list[str] = field(default_factory=list)

    def counts(self, project: str) -> dict[str, int]:
        out = {c: 0 for c in CATEGORIES}
        for item in self.expired:
            if item.project == project:
                out[item.category] += 1
        return out


def plan(settings: Settings, *, now: float | None = None, project: str | None = None,
         policy: RetentionPolicy | None = None) -> list[Expired]:
    """Every library file whose time-to-live has run out at `now` (a file shared by projects
    expires only when it has expired in each of them)."""
    from darkroom.library import Library

    library = Library(settings)
    policy = policy or load_policy(settings)
    now = time.time() if now is None else now
    records = library.records()
    parents = {r.parent_sha256 for r in records if r.parent_sha256}
    expired = []
    for record in records:
        projects = library.projects(record.sha256) or [record.project]
        if project is not None and project not in projects:
            continue
        category = category_of(record, parents)
        ttls = [policy.ttl(p, category) for p in projects]
        if any(t is None for t in ttls) or now - record.created < max(ttls):
            continue
        path = library.object_path(record.sha256)
        size = path.stat().st_size if path.is_file() else 0
        expired.append(Expired(record.sha256, record.project, category, now - record.created, size))
    return expired


def run(settings: Settings | None = None, *, now: float | None = None, dry_run: bool = False,
        project: str | None = None) -> RetentionReport:
    """Delete what has expired (unless `dry_run`); one audit event per project."""
    from darkroom.library import Library
    from darkroom.trust.audit import AuditLog
    from darkroom.trust.gate import ScopedAudit, audit_subject

    settings = settings or Settings()
    policy = load_policy(settings)
    now = time.time() if now is None else now
    report = RetentionReport(dry_run, plan(settings, now=now, project=project, policy=policy))
    if dry_run or not report.expired:
        return report
    library = Library(settings)
    log = AuditLog(settings)
    for name in sorted({item.project for item in report.expired}):
        batch = [item for item in report.expired if item.project == name]
        freed = library.remove([item.sha256 for item in batch])
        report.freed += freed
        entry = ScopedAudit(log, audit_subject(name)).append("retention", {
            "counts": report.counts(name),
            "files": len(batch),
            "bytes": freed,
            "ttl": {c: format_ttl(policy.ttl(name, c)) for c in CATEGORIES},
            "sha256": [item.sha256 for item in batch],
            "policy": policy.source if policy.source == "built-in defaults" else FILE_NAME,
        })
        report.events.append(entry.ref)
    library.compact()
    return report
