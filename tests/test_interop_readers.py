"""darkroom's files as third-party readers see them: Adobe's XMP Toolkit (exempi), exiftool, A1111's
EXIF reader (piexif), c2pa-python, and the clock moving past the certificate's end (faketime)."""

from __future__ import annotations

import io
import json
import os
import shutil
import stat
import subprocess
import sys

import numpy as np
import pytest
from libxmp import XMPFiles
from PIL import Image

from a1111_facts import parse_generation_parameters, read_file
from darkroom.errors import DarkroomError
from darkroom.settings import Settings
from darkroom.trust import provenance, xmp
from darkroom.trust.keys import load_identity, rotate_leaf, trust_anchors_pem
from darkroom.trust.marking import mark_image
from darkroom.trust.verify import verify_bytes
from pngfiles import png_chunks

IPTC = "http://iptc.org/std/Iptc4xmpExt/2008-02-29/"
PROMPT = 'a "lighthouse": at dusk, ünïcödé 灯台\nsecond line'
PARAMS = f"{PROMPT}\nNegative prompt: blurry, low\nSteps: 20, Sampler: Euler a, CFG scale: 7.0, Seed: 42, Size: 256x256"


def picture(size: int = 256) -> Image.Image:
    y, x = np.mgrid[0:size, 0:size]
    rgb = np.stack([120 + 90 * np.sin(x / 23.0), 110 + 70 * np.cos(y / 17.0), (x + y) * 0.4], -1)
    return Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8), "RGB")


def mark(settings, fmt="png", **options):
    return mark_image(picture(), parameters_text=PARAMS, recipe_json='{"darkroom_recipe":1}', audit_ref="ref-1",
                      model="tiny", format=fmt, settings=settings, **options)


@pytest.fixture
def settings(darkroom_home):
    return Settings(home=darkroom_home)


def exempi_source_type(path) -> str | None:
    files = XMPFiles(file_path=str(path))
    try:
        meta = files.get_xmp()
        return meta.get_property(IPTC, "DigitalSourceType") if meta is not None else None
    finally:
        files.close_file()


# 1 ---------------------------------------------------------------------------------------------
def test_adobe_xmp_toolkit_reads_the_ai_marking_of_every_format(settings, tmp_path):
    for fmt, ext in (("png", "png"), ("jpeg", "jpg"), ("webp", "webp")):
        path = tmp_path / f"a.{ext}"
        path.write_bytes(mark(settings, fmt).data)
        assert exempi_source_type(path) == xmp.TRAINED, fmt


def test_xmp_is_the_first_text_chunk_of_a_png(settings):
    chunks = png_chunks(mark(settings, extra_text={"darkroom-lineage": "{}"}).data)
    text = [(kind, body.split(b"\0", 1)[0]) for kind, body in chunks if kind in (b"tEXt", b"iTXt", b"zTXt")]
    assert text[0] == (b"iTXt", xmp.PNG_KEYWORD.encode())
    assert [k for _, k in text[1:]] == [b"parameters", b"darkroom", b"darkroom-lineage"]


# 4 ---------------------------------------------------------------------------------------------
def test_edits_of_generated_pictures_are_trained_media_and_photo_edits_composite(settings, tmp_path):
    parent = mark(settings).data
    for captured, wanted in ((False, xmp.TRAINED), (True, xmp.COMPOSITE)):
        edited = mark_image(picture(), parameters_text=PARAMS, recipe_json="{}", audit_ref="ref-2", kind="edited",
                            parent=parent, captured_input=captured, settings=settings).data
        info = provenance.read(edited, "png", trust_anchors_pem(settings))
        assert info.state == "Trusted" and info.source_types == [wanted]
        path = tmp_path / f"e{captured}.png"
        path.write_bytes(edited)
        assert exempi_source_type(path) == wanted
    with pytest.raises(DarkroomError):
        mark_image(picture(), parameters_text="x", recipe_json="{}", audit_ref="r", captured_input=True,
                   settings=settings)


# 5 ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("fmt", ["jpeg", "webp"])
def test_a1111_exiftool_and_c2pa_read_jpeg_and_webp(settings, tmp_path, fmt):
    marked = mark(settings, fmt)
    assert read_file(marked.data) == PARAMS  # A1111's read_info_from_image (piexif)
    parsed = parse_generation_parameters(read_file(marked.data))
    assert parsed["Prompt"] == PROMPT and parsed["Negative prompt"] == "blurry, low" and parsed["Seed"] == "42"
    path = tmp_path / f"a.{fmt}"
    path.write_bytes(marked.data)
    tags = json.loads(subprocess.run(["exiftool", "-j", "-G1", "-a", str(path)], check=True, capture_output=True,
                                     text=True).stdout)[0]
    assert tags["ExifIFD:UserComment"] == PARAMS.replace("\n", ".") or tags["ExifIFD:UserComment"] == PARAMS
    assert tags["XMP-iptcExt:DigitalSourceType"] == xmp.TRAINED
    assert tags["ExifIFD:ExifVersion"] == "0232" and tags["ExifIFD:ColorSpace"] == "sRGB"
    if fmt == "jpeg":  # (the WebP's EXIF chunk keeps a second "Exif" header for Adobe's XMP Toolkit: minor)
        validate = subprocess.run(["exiftool", "-validate", "-warning", "-a", "-s3", str(path)], check=True,
                                  capture_output=True, text=True).stdout
        assert validate.strip() == "OK", validate
    info = provenance.read(marked.data, fmt, trust_anchors_pem(settings))
    assert info.state == "Trusted" and info.says_ai
    assert verify_bytes(marked.data, settings, use_audit=False).ok


def test_user_comment_is_undefined_with_the_unicode_prefix(settings):
    import piexif

    raw = piexif.load(Image.open(io.BytesIO(mark(settings, "jpeg").data)).info["exif"])["Exif"][0x9286]
    assert isinstance(raw, bytes) and raw.startswith(b"UNICODE\0")


# 2 ---------------------------------------------------------------------------------------------
def _verify_later(days: int, home, *paths) -> list[dict]:
    """verify_file of each path in one process whose clock is `days` ahead."""
    code = ("import json,sys;from darkroom.trust.verify import verify_file\n"
            "for p in sys.argv[1:]:\n r=verify_file(p,use_audit=False)\n"
            " print(json.dumps({'state':r.c2pa.state,'expired':r.expired,'tampered':r.c2pa.tampered,"
            "'verdict':r.verdict}))")
    out = subprocess.run(["faketime", "-f", f"+{days}d", sys.executable, "-c", code, *map(str, paths)], check=True,
                         capture_output=True, text=True, env={**os.environ, "DARKROOM_HOME": str(home)})
    return [json.loads(line) for line in out.stdout.strip().splitlines()[-len(paths):]]


def test_verify_tells_an_expired_certificate_from_a_changed_file(settings, tmp_path, darkroom_home):
    settings.certificate_days = 2
    data = mark(settings).data
    good, bad = tmp_path / "good.png", tmp_path / "bad.png"
    good.write_bytes(data)
    flipped = bytearray(data)
    flipped[data.find(b"IDAT") + 40] ^= 1
    bad.write_bytes(bytes(flipped))
    (now,) = _verify_later(0, darkroom_home, good)
    assert now["state"] == "Trusted"
    later, changed = _verify_later(10, darkroom_home, good, bad)
    assert later["state"] == "Invalid" and later["expired"] and not later["tampered"]
    assert "EXPIRED, content unchanged" in later["verdict"] and "changed after signing" not in later["verdict"]
    assert changed["tampered"] and not changed["expired"] and "changed after signing" in changed["verdict"]


def test_rotation_makes_a_new_leaf_under_the_same_root_and_old_pictures_keep_verifying(settings):
    old = mark(settings).data
    first = load_identity(settings)
    settings.certificate_days = 90
    second = rotate_leaf(settings)
    assert second.leaf.serial_number != first.leaf.serial_number and second.root_pem == first.root_pem
    days = (second.leaf.not_valid_after_utc - second.leaf.not_valid_before_utc).days
    assert days == 90
    new = mark(settings).data
    for data in (old, new):
        assert provenance.read(data, "png", trust_anchors_pem(settings)).state == "Trusted"
    assert load_identity(settings).leaf.serial_number == second.leaf.serial_number  # not renewed again


def test_a_configured_time_stamp_authority_is_asked_and_none_is_by_default(settings):
    settings.tsa_url = ""
    assert mark(settings).report.c2pa_state == "Trusted"
    settings.tsa_url = "http://127.0.0.1:9/tsa"  # nothing listens there: signing must fail, not skip the TSA
    with pytest.raises(DarkroomError, match="C2PA signing failed"):
        mark(settings)


# 7 ---------------------------------------------------------------------------------------------
def test_exports_follow_the_umask_unless_private_and_the_library_stays_private(tmp_path, monkeypatch):
    from darkroom.studio.saving import export_new

    old = os.umask(0o022)
    try:
        shared = export_new(tmp_path / "out", "1", b"x")
        private = export_new(tmp_path / "out", "2", b"x", private=True)
        monkeypatch.setenv("DARKROOM_PRIVATE_EXPORTS", "1")
        by_setting = export_new(tmp_path / "out", "3", b"x", "jpg")
    finally:
        os.umask(old)
    mode = lambda p: stat.S_IMODE(p.stat().st_mode)  # noqa: E731
    assert mode(shared) == 0o644 and mode(private) == 0o600 and mode(by_setting) == 0o600
    assert by_setting.name == "00002-3.jpg"


def test_tools_are_installed():
    assert shutil.which("exiftool") and shutil.which("faketime")


def test_cli_writes_jpeg_and_webp_and_exports_library_pictures(tiny_model, tmp_path, capsys):
    from darkroom.cli import main

    prompt = "a red circle: big, \"bright\""
    # 256x256 carries the watermark; a pixel hires fix without denoising gets there without running the
    # tiny UNet at 256x256 (its full-resolution attention would take minutes)
    big = ["--size", "128x128", "--hires-scale", "2", "--hires-upscaler", "Lanczos", "--hires-denoise", "0"]
    assert main(["generate", prompt, "--seed", "3", "--steps", "2", *big, "--model", tiny_model,
                 "--format", "webp", "--quality", "90", "-o", str(tmp_path / "webp")]) == 0
    webp = next((tmp_path / "webp").glob("*-hires.webp"))
    assert parse_generation_parameters(read_file(webp.read_bytes()))["Prompt"] == prompt
    assert verify_bytes(webp.read_bytes(), Settings(), use_audit=False).ok
    assert main(["generate", prompt, "--seed", "4", "--steps", "2", *big, "--model", tiny_model,
                 "-o", str(tmp_path / "png")]) == 0
    png = next((tmp_path / "png").glob("*-hires.png"))
    capsys.readouterr()
    assert main(["export", str(png), "--format", "jpeg", "-o", str(tmp_path / "jpeg")]) == 0
    jpeg = tmp_path / "jpeg" / capsys.readouterr().out.strip().rsplit("/", 1)[-1]
    parsed = parse_generation_parameters(read_file(jpeg.read_bytes()))
    assert parsed["Prompt"] == prompt and parsed["Seed"] == "4"
    report = verify_bytes(jpeg.read_bytes(), Settings())
    assert report.ok and report.watermark.detected
    assert [a["action"] for a in report.c2pa.actions] == ["c2pa.opened", "c2pa.transcoded"]
    assert report.c2pa.source_types == [xmp.TRAINED] and report.c2pa.ingredients[0]["state"] == "Trusted"
    assert main(["keys", "show"]) == 0 and "valid until" in capsys.readouterr().out
