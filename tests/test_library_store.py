"""The library: content-addressed files and lineage in SQLite, beside the audit log."""

from __future__ import annotations

import hashlib
import io
import sqlite3

import pytest
from PIL import Image

from darkroom.errors import ImageError, IntegrityError
from darkroom.library import Library
from darkroom.studio.inputs import take_in
from darkroom.settings import Settings


def png(color=(10, 20, 30), size=(8, 8)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, format="PNG")
    return buffer.getvalue()


def test_files_are_content_addressed_and_checked_on_read():
    library = Library(Settings())
    data = png()
    sha = library.put(data)
    assert sha == hashlib.sha256(data).hexdigest()
    assert library.object_path(sha).read_bytes() == data
    assert library.get_bytes("sha256:" + sha) == data
    assert library.put(data) == sha  # idempotent
    record = library.get(sha)
    assert (record.kind, record.width, record.height) == ("image", 8, 8)
    library.object_path(sha).write_bytes(png((1, 2, 3)))
    with pytest.raises(IntegrityError, match="does not match its sha256"):
        library.get_bytes(sha)
    with pytest.raises(ImageError, match="not in the library"):
        library.get_bytes("0" * 64)


def test_ingest_strips_exif_and_gps(tmp_path):
    exif = Image.Exif()
    exif[0x010F] = "SecretCam"
    exif[0x8825] = {1: "N", 2: (52.0, 31.0, 12.0)}  # GPS
    path = tmp_path / "photo.jpg"
    Image.new("RGB", (16, 16), (200, 100, 50)).save(path, exif=exif.tobytes())
    library = Library(Settings())
    ref = take_in(library, path, "default")
    assert ref.startswith("sha256:")
    stored = library.get_bytes(ref)
    assert b"SecretCam" not in stored and stored.startswith(b"\x89PNG")
    image = library.open_input(ref)
    assert image.size == (16, 16) and not image.getexif()
    assert library.get(ref).kind == "input"
    with pytest.raises(ImageError, match="does not exist"):
        take_in(library, tmp_path / "missing.png", "default")
    (tmp_path / "junk.png").write_bytes(b"not a picture")
    with pytest.raises(ImageError, match="cannot read"):
        take_in(library, tmp_path / "junk.png", "default")


def test_lineage_children_and_wal_beside_the_audit_tables():
    settings = Settings()
    from darkroom.trust.audit import AuditLog

    AuditLog(settings).append("step", {"op": "generate"})
    library = Library(settings)
    raw = library.put(png((1, 1, 1)), op="generate", step_index=0)
    hires = library.put(png((2, 2, 2), (16, 16)), op="hires", step_index=1, parent=raw)
    final = library.put(png((3, 3, 3), (16, 16)), op="inpaint", step_index=2, parent=hires)
    assert [r.sha256 for r in library.lineage(final)] == [raw, hires, final]
    assert [r.op for r in library.lineage(final)] == ["generate", "hires", "inpaint"]
    assert [r.sha256 for r in library.children(raw)] == [hires]
    db = sqlite3.connect(settings.database_file)
    tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"library_images", "library_variants"} <= tables and any(t.startswith("audit_") for t in tables)
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert len(AuditLog(settings)) == 1 and AuditLog(settings).verify().ok


def test_keep_marks_one_variant_per_group():
    library = Library(Settings())
    a, b, c = (library.put(png((i, i, i))) for i in range(3))
    library.add_variants("g1", [(a, "seed 1"), (b, "seed 2"), (c, "seed 3")])
    assert library.keep(b) == ["g1"]
    assert library.kept("g1") == [b]
    library.keep(c)
    assert library.kept("g1") == [c]
    assert library.variants("g1") == [(a, "seed 1", False), (b, "seed 2", False), (c, "seed 3", True)]
    lone = library.put(png((9, 9, 9)))
    assert library.keep(lone) == [] and lone in library.kept()
