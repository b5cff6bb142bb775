"""Retention: per-project, per-kind time-to-live; `darkroom retention run` deletes and logs."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import time
from contextlib import closing

import pytest
from test_develop_masks import gradient

from darkroom.cli import main
from darkroom.errors import InvalidParameter
from darkroom.library import Library
from darkroom.settings import Settings
from darkroom.trust.audit import AuditLog
from darkroom.trust.retention import load_policy, parse_ttl

DAY = 86400.0



def develop(tmp_path, project: str, prompt: str) -> list[str]:
    """img2img + hires on an uploaded picture: an input, an intermediate and an output."""
    source = tmp_path / f"{project}.png"
    gradient(32, 32).rotate(90 if project == "b" else 0).save(source)
    recipe = tmp_path / f"{project}.json"
    recipe.write_text(json.dumps({"model": {"name": "tiny"}, "steps": [
        {"op": "img2img", "image": str(source), "prompt": prompt, "steps": 2, "denoise": 0.5, "seed": 1},
        {"op": "hires", "scale": 1.5, "steps": 2, "denoise": 0.3}]}))
    assert main(["develop", str(recipe), "-o", str(tmp_path / project), "--project", project]) == 0
    return [r.sha256 for r in Library(Settings()).records(project)]


def age(days: float, project: str | None = None) -> None:
    """Make library files look `days` old (the database is real; only the clock is moved)."""
    with closing(sqlite3.connect(Settings().database_file)) as db, db:
        sql, args = "UPDATE library_images SET created = ?", [time.time() - days * DAY]
        if project:
            sql, args = sql + " WHERE project = ?", args + [project]
        db.execute(sql, args)


def kinds_left(project: str) -> dict[str, int]:
    out: dict[str, int] = {}
    for record in Library(Settings()).records(project):
        out[record.kind] = out.get(record.kind, 0) + 1
    return out


def test_ttl_syntax_and_policy_file(tmp_path):
    assert parse_ttl("30d") == 30 * DAY and parse_ttl("12h") == 12 * 3600 and parse_ttl("never") is None
    assert parse_ttl(90) == 90.0 and parse_ttl("2w") == 14 * DAY
    with pytest.raises(InvalidParameter, match="time-to-live"):
        parse_ttl("soon")
    home = Settings().ensure_home()
    (home / "retention.yaml").write_text("default: {inputs: 1d}\nprojects: {b: {outputs: 2h}}\n")
    policy = load_policy()
    assert policy.ttl("a", "inputs") == DAY and policy.ttl("a", "outputs") is None
    assert policy.ttl("b", "outputs") == 7200 and policy.ttl("b", "previews") == 30 * DAY
    (home / "retention.yaml").write_text("default: {thumbnails: 1d}\n")
    assert main(["retention", "show"]) == 2


def test_retention_deletes_expired_kinds_per_project_and_logs_hashes(tiny_model, tmp_path, capsys):
    a = develop(tmp_path, "a", "a quiet harbour")
    b = develop(tmp_path, "b", "a mountain lake")
    assert len(a) == 3 and len(b) == 3
    (Settings().home / "retention.yaml").write_text(
        "default: {inputs: 10d, intermediates: 20d, outputs: never, previews: 1d}\n"
        "projects: {b: {outputs: 5d}}\n")
    age(12)
    capsys.readouterr()
    assert main(["retention", "run", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert out.count("would delete") == 3 and "dry run: 3 file(s)" in out
    assert len(Library(Settings()).records()) == 6  # a dry run deletes nothing

    assert main(["retention", "run"]) == 0
    out = capsys.readouterr().out
    assert "deleted 3 file(s)" in out
    # inputs are 12 days old (> 10d): gone; intermediates (20d) stay; outputs: never in a, 5d in b
    assert kinds_left("a") == {"image": 2} and kinds_left("b") == {"image": 1}
    library = Library(Settings())
    for sha in (a[0], b[0]):
        assert library.get(sha) is None and not library.object_path(sha).exists()

    events = AuditLog(Settings()).entries(0, None, kind="retention")
    assert [e.subject for e in events] == ["project:a", "project:b"]
    assert events[0].payload["counts"] == {"inputs": 1, "intermediates": 0, "outputs": 0, "previews": 0}
    assert events[1].payload["counts"]["outputs"] == 1 and len(events[1].payload["sha256"]) == 2
    assert set(events[0].payload["sha256"]) == {a[0]}
    assert AuditLog(Settings()).verify().ok

    # --project limits the run; --now plans ahead
    age(25, "a")
    when = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=30)).isoformat()
    assert main(["retention", "run", "--project", "b", "--now", when]) == 0
    assert kinds_left("a") == {"image": 2} and kinds_left("b") == {}
    assert main(["retention", "run", "--project", "a"]) == 0
    assert kinds_left("a") == {"image": 1}  # the intermediate (25 d > 20 d); the output is kept forever


def test_project_column_is_added_to_an_existing_database(tmp_path):
    """A library made before projects existed: the migration adds the column and memberships."""
    settings = Settings()
    settings.ensure_home()
    with closing(sqlite3.connect(settings.database_file)) as db, db:
        db.execute("CREATE TABLE library_images (sha256 TEXT PRIMARY KEY, kind TEXT NOT NULL, width INTEGER, "
                   "height INTEGER, recipe_sha256 TEXT, recipe TEXT, parent_sha256 TEXT, step_index INTEGER, "
                   "op TEXT, source_path TEXT, created REAL NOT NULL)")
        db.execute("INSERT INTO library_images (sha256, kind, width, height, created) VALUES ('ab', 'input', 1, 1, 0)")
    library = Library(settings)
    assert library.get("ab").project == "default"
    assert library.projects("ab") == ["default"] and [r.sha256 for r in library.records("default")] == ["ab"]
    assert main(["retention", "run", "--dry-run"]) == 0
