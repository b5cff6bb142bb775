"""Erasure (Art. 17): nothing of an erased project is left anywhere in the data dir; the audit log verifies."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from PIL import Image, ImageDraw
from test_develop_masks import gradient, synthetic_face

from darkroom.cli import main
from darkroom.library import Library
from darkroom.settings import Settings
from darkroom.trust.audit import SHREDDED, AuditLog

SECRET_PROMPT = "portrait of Zebulon Quartermaine at the harbour"
OTHER_PROMPT = "a cedar forest under snow"



def run_project(tmp_path, project: str, prompt: str, photo: Image.Image) -> Path:
    """A photo of a person (consent given), img2img + hires, then inpaint with a mask file."""
    folder = tmp_path / project
    folder.mkdir()
    photo.save(folder / "photo.png")
    mask = Image.new("L", (48, 48), 0)
    ImageDraw.Draw(mask).rectangle((8, 8, 24, 24), fill=255)
    mask.save(folder / "mask.png")
    recipe = folder / "recipe.json"
    recipe.write_text(json.dumps({"model": {"name": "tiny"}, "steps": [
        {"op": "img2img", "image": "photo.png", "prompt": prompt, "steps": 2, "denoise": 0.5, "seed": 3,
         "width": 32, "height": 32},
        {"op": "hires", "scale": 1.5, "steps": 2, "denoise": 0.3},
        {"op": "inpaint", "zone": {"kind": "mask", "image": "mask.png"}, "steps": 2, "denoise": 0.6}]}))
    assert main(["develop", str(recipe), "-o", str(folder / "out"), "--project", project, "--consent"]) == 0
    return folder


def scan(home, needles: dict[str, bytes]) -> list[str]:
    """Every file under the data dir (SQLite database, WAL, keys, ...) that holds any needle."""
    found = []
    for path in sorted(p for p in home.rglob("*") if p.is_file()):
        data = path.read_bytes()
        found += [f"{path.relative_to(home)}: {name}" for name, needle in needles.items() if needle in data]
    return found


def idat(png: bytes) -> bytes:
    """The compressed pixel data of a PNG (what makes a file unique; manifests and certificates repeat)."""
    out, pos = b"", 8
    while pos < len(png):
        length = int.from_bytes(png[pos:pos + 4], "big")
        if png[pos + 4:pos + 8] == b"IDAT":
            out += png[pos + 8:pos + 8 + length]
        pos += 12 + length
    assert len(out) >= 48
    return out


def needles_for(library: Library, shas: list[str], prompt: str | None) -> dict[str, bytes]:
    needles = {}
    for sha in shas:
        data = library.object_path(sha).read_bytes()
        needles[f"hex {sha[:12]}"] = sha.encode()
        needles[f"digest {sha[:12]}"] = bytes.fromhex(sha)
        needles[f"bytes {sha[:12]}"] = data
        pixels = idat(data)
        needles[f"pixel data of {sha[:12]}"] = pixels[len(pixels) // 2: len(pixels) // 2 + 48]
    if prompt:
        needles["prompt"] = prompt.encode()
        needles["prompt utf-16"] = prompt.encode("utf-16-le")
    return needles


def test_erase_project_leaves_no_trace_and_the_audit_log_still_verifies(tiny_model, tmp_path, capsys):
    a = run_project(tmp_path, "alice", SECRET_PROMPT, synthetic_face())
    run_project(tmp_path, "bob", OTHER_PROMPT, synthetic_face(cx=76).transpose(Image.Transpose.FLIP_LEFT_RIGHT))
    settings = Settings()
    library = Library(settings)
    kept = [r.sha256 for r in library.records("bob")]
    erased = [r.sha256 for r in library.records("alice") if r.sha256 not in kept]
    shared = [r.sha256 for r in library.records("alice") if r.sha256 in kept]
    assert sorted(r.kind for r in library.records("alice")) == ["image", "image", "image", "input", "input"]
    assert len(erased) == 4 and len(shared) == 1  # both projects used the same mask file
    home = settings.home
    needles = needles_for(library, erased, SECRET_PROMPT)
    assert scan(home, needles)  # before: the library holds them, of course
    exported = sorted((a / "out").glob("*.png"))
    assert len(exported) == 3

    assert main(["erase", "--project", "alice"]) == 2  # irreversible: asks for --yes
    assert main(["erase", "--project", "alice", "--dry-run"]) == 0
    assert "4 file(s), 1 shared with other projects" in capsys.readouterr().out
    assert main(["erase", "--project", "alice", "--exports", "--yes"]) == 0
    assert "erased 4 file(s)" in capsys.readouterr().out

    assert scan(home, needles) == []  # no hash, no byte run, no prompt: not in the DB, WAL or any file
    assert library.records("alice") == [] and all(not library.object_path(s).exists() for s in erased)
    assert not any(p.exists() for p in exported) and (a / "photo.png").exists()  # originals are the user's
    assert main(["audit", "verify"]) == 0
    log = AuditLog(settings)
    assert log.verify().ok
    mine = [e for e in log.entries(0, None) if e.kind in ("policy", "step", "export", "consent")
            and e.subject and e.subject.startswith("subj-")]
    assert mine and all(SHREDDED in json.dumps(e.payload) for e in mine)
    assert any(e.kind == "erasure" for e in log.entries(0, None))
    # The other project is untouched: files, records and readable audit fields.
    assert sorted(r.sha256 for r in library.records("bob")) == sorted(kept)
    assert library.projects(shared[0]) == ["bob"] and library.get(shared[0]).project == "bob"
    assert all(hashlib.sha256(library.get_bytes(s)).hexdigest() == s for s in kept)
    bob = [e for e in log.entries(0, None, kind="policy") if e.subject == "project:bob"]
    assert bob and OTHER_PROMPT in bob[0].payload["recipe"]
    assert [e.payload["input_sha256"] for e in log.entries(0, None, kind="consent")
            if e.subject == "project:bob"] != []


def test_erase_one_picture_and_its_descendants(tiny_model, tmp_path, capsys):
    plain = tmp_path / "plain.png"
    gradient(32, 32).save(plain)
    recipe = tmp_path / "r.json"
    recipe.write_text(json.dumps({"model": {"name": "tiny"}, "steps": [
        {"op": "img2img", "image": str(plain), "prompt": "a tin robot", "steps": 2, "denoise": 0.5, "seed": 2},
        {"op": "hires", "scale": 1.5, "steps": 2, "denoise": 0.3},
        {"op": "hires", "scale": 1.0, "steps": 2, "denoise": 0.2}]}))
    assert main(["develop", str(recipe), "-o", str(tmp_path / "out")]) == 0
    library = Library(Settings())
    chain = library.lineage(library.find_file(sorted((tmp_path / "out").glob("*.png"))[-1]).sha256)
    assert [r.kind for r in chain] == ["input", "image", "image", "image"]
    first, *rest = [r.sha256 for r in chain[1:]]  # the img2img output and the two hires passes after it
    needles = needles_for(library, [first, *rest], None)
    assert main(["erase", "--image", first[:16], "--yes"]) == 0
    assert "erased 3 file(s)" in capsys.readouterr().out
    assert scan(Settings().home, needles) == []
    assert [r.kind for r in library.records()] == ["input"]  # the upload it started from stays
    assert main(["audit", "verify"]) == 0
    assert main(["erase", "--image", "0" * 64, "--yes"]) == 2
