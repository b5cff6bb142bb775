"""darkroom verify: intact files pass, tampered and foreign files are reported honestly."""

from __future__ import annotations

import argparse
import io
import json
import struct
import zlib

import numpy as np
import pytest
from PIL import Image, ImageEnhance

from darkroom.errors import DarkroomError, ImageError
from darkroom.settings import Settings
from darkroom.trust import watermark, xmp
from darkroom.trust.audit import AuditLog
from darkroom.trust.keys import load_identity
from darkroom.trust.marking import mark_image
from darkroom.trust.verify import format_report, verify_bytes, verify_file
from pngfiles import png_chunks

PARAMS = "a harbour in fog\nSteps: 20, Seed: 7"
RECIPE = '{"darkroom_recipe":1,"steps":[{"op":"generate","seed":7}]}'


def picture(width: int = 320, height: int = 320, seed: int = 1) -> Image.Image:
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width]
    rgb = np.stack([130 + 80 * np.sin(x / 19.0 + y / 41.0), 100 + 60 * np.cos(y / 13.0), 60 + (x * 0.3)], -1)
    rgb = rgb + rng.normal(0, 7, rgb.shape)
    return Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8), "RGB")


def assemble(parts: list[tuple[bytes, bytes]]) -> bytes:
    out = b"\x89PNG\r\n\x1a\n"
    for kind, body in parts:
        out += struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    return out


def with_pixels(data: bytes, rgb: np.ndarray) -> bytes:
    """Re-encode only the pixel data (IDAT) of an RGB PNG; every other chunk, the manifest
    included, stays byte for byte: a pixel edit that keeps the metadata."""
    raw = b"".join(b"\x00" + row.tobytes() for row in rgb.astype(np.uint8))
    parts, done = [], False
    for kind, body in png_chunks(data):
        if kind == b"IDAT":
            if not done:
                parts.append((b"IDAT", zlib.compress(raw)))
                done = True
            continue
        parts.append((kind, body))
    return assemble(parts)


@pytest.fixture(scope="module")
def studio(tmp_path_factory):
    settings = Settings(home=tmp_path_factory.mktemp("studio"))
    log = AuditLog(settings, checkpoint_every=0)
    step = log.append("step", {"op": "generate", "prompt": "a harbour in fog", "recipe_sha256": "x"})
    identity = load_identity(settings)
    marked = mark_image(picture(), parameters_text=PARAMS, recipe_json=RECIPE, audit_ref=step.ref,
                        settings=settings, identity=identity, audit=log)
    return settings, log, marked


def test_finished_file_is_trusted_and_linked(studio, tmp_path):
    settings, log, marked = studio
    path = tmp_path / "final.png"
    path.write_bytes(marked.data)
    report = verify_file(path, settings)
    assert report.ok and report.c2pa.state == "Trusted"
    assert report.xmp.source_type == xmp.TRAINED
    assert report.watermark.detected and report.watermark.matched >= 46
    assert report.watermark_source == "C2PA manifest"
    assert report.recipe == RECIPE and report.recipe_signed is True
    assert report.parameters == PARAMS
    assert report.audit.found_by == "file hash" and report.audit.entry.kind == "export"
    assert report.audit.entry_hash_ok
    text = format_report(report)
    assert "C2PA        Trusted" in text and "FOUND" in text and "c2pa.created (trainedAlgorithmicMedia)" in text


def test_one_changed_pixel_makes_the_manifest_invalid(studio):
    settings, _, marked = studio
    rgb = np.asarray(Image.open(io.BytesIO(marked.data)).convert("RGB")).copy()
    rgb[100, 100, 0] ^= 1
    report = verify_bytes(with_pixels(marked.data, rgb), settings)
    assert report.c2pa.state == "Invalid" and not report.ok
    assert any("hash" in f for f in report.c2pa.failures)
    assert report.watermark.detected  # the pixels are still ours, but the file is not intact
    assert "NOT intact" in report.verdict and report.verdict_code == ("invalid", {})


def test_flipped_byte_in_the_file_makes_it_invalid(studio):
    settings, _, marked = studio
    data = bytearray(marked.data)
    data[-200] ^= 0xFF  # inside the last IDAT chunk
    report = verify_bytes(bytes(data), settings)
    assert report.c2pa.state == "Invalid" and not report.ok


def test_edited_xmp_makes_the_manifest_invalid(studio):
    settings, _, marked = studio
    parts = []
    for kind, body in png_chunks(marked.data):
        if kind == b"iTXt" and body.startswith(b"XML:com.adobe.xmp"):
            body = body.replace(b"trainedAlgorithmicMedia", b"digitalCapture")
        parts.append((kind, body))
    report = verify_bytes(assemble(parts), settings)
    assert report.xmp.source_type.endswith("digitalCapture")
    assert report.c2pa.state == "Invalid" and not report.ok


def test_stripped_and_recompressed_copy_is_found_by_watermark_only(studio):
    settings, log, marked = studio
    pixels = Image.open(io.BytesIO(marked.data)).convert("RGB")
    for fmt, kwargs in (("PNG", {}), ("JPEG", {"quality": 75})):
        buffer = io.BytesIO()
        pixels.save(buffer, fmt, **kwargs)  # no metadata survives
        report = verify_bytes(buffer.getvalue(), settings)
        assert report.c2pa.state == "none" and report.xmp is None
        assert report.watermark.detected, fmt  # benchmark: JPEG q75 keeps ~99% of the bits
        assert report.watermark_source.startswith("audit log")
        assert report.audit.found_by == "watermark"
        assert not report.ok and "watermark found" in report.verdict
        assert report.verdict_code == ("stripped", {})  # what a UI translates


def test_foreign_png_and_jpeg_are_reported_honestly(studio):
    settings, _, _ = studio
    for fmt in ("PNG", "JPEG"):
        buffer = io.BytesIO()
        picture(seed=9).save(buffer, fmt)
        report = verify_bytes(buffer.getvalue(), settings)
        assert report.c2pa.state == "none" and report.xmp is None and report.recipe is None
        assert not report.watermark.detected
        assert report.audit is None and not report.ok
        assert report.verdict.startswith("no AI-generation marking") and report.verdict_code == ("unmarked", {})
        assert "C2PA        none" in format_report(report)


def test_small_foreign_file_and_non_images(studio, tmp_path):
    settings, _, _ = studio
    buffer = io.BytesIO()
    Image.new("RGB", (64, 64), "white").save(buffer, "PNG")
    report = verify_bytes(buffer.getvalue(), settings)
    assert not report.watermark.readable and not report.ok
    assert any("nothing to read" in n for n in report.notes)
    assert [(n.code, n.params) for n in report.findings] == [
        ("too_small", {"width": 64, "height": 64, "min_pixels": 256 * 256})]
    junk = tmp_path / "notes.txt"
    junk.write_text("hello")
    with pytest.raises(ImageError):
        verify_file(junk, settings)


def test_signed_by_an_unknown_studio_is_valid_but_untrusted(studio, tmp_path):
    settings, _, _ = studio
    other = Settings(home=tmp_path / "other-studio")
    theirs = mark_image(picture(256, 256), parameters_text="x", recipe_json="{}", audit_ref="audit:0:00",
                        settings=other, identity=load_identity(other))
    report = verify_bytes(theirs.data, settings)
    assert report.c2pa.state == "Valid" and report.ok
    assert any("untrusted" in f for f in report.c2pa.failures)
    assert "untrusted key" in report.verdict
    assert report.verdict_code == ("intact", {"state": "Valid", "signer": "untrusted"})
    assert report.watermark.detected and report.audit is None


def test_watermark_thresholds():
    assert watermark.threshold_for(1) == 42
    assert watermark.false_positive_rate(42) < 1e-7
    assert watermark.threshold_for(1000) > 42
    assert all(18 <= watermark.new_payload().bit_count() <= 30 for _ in range(200))
    flat = np.full((256, 256, 3), 128, np.uint8)
    assert watermark.matched_bits(watermark.decode(flat), watermark.new_payload()) <= 30


def test_fast_coder_is_identical_to_invisible_watermark():
    rgb = np.asarray(picture(320, 264, seed=4))
    payload = watermark.new_payload()
    marked = watermark.embed(rgb, payload)
    assert (marked == watermark.embed_reference(rgb, payload)).all()  # same pixels as the library's encoder
    upstream = watermark._engine()(watermarks=[], wmLen=48)
    for image in (rgb, marked):
        expected = np.asarray(upstream.decode(np.ascontiguousarray(image[:, :, ::-1])), dtype=np.uint8)
        assert (watermark.decode(image) == expected).all()


def test_brightness_change_is_undone_by_the_gain_search():
    payload = watermark.new_payload()
    marked = Image.fromarray(watermark.embed(np.asarray(picture(320, 320, seed=6)), payload))
    darker = np.asarray(ImageEnhance.Brightness(marked).enhance(0.8))
    assert watermark.matched_bits(watermark.decode(darker), payload) < 42  # the plain read fails
    found = watermark.detect(darker, [payload])
    assert found.detected and found.stage == "gain search" and found.threshold == 43


def test_crop_is_undone_by_the_grid_resync():
    payload = watermark.new_payload()
    marked = watermark.embed(np.asarray(picture(400, 352, seed=8)), payload)
    cropped = np.ascontiguousarray(marked[13:-21, 27:-11])  # off the 8-pixel grid on every side
    assert watermark.matched_bits(watermark.decode(cropped), payload) < 42
    found = watermark.detect(cropped, [payload])
    assert found.detected and found.stage == "crop resync" and found.threshold == 43
    unmarked = watermark.detect(np.asarray(picture(320, 320, seed=7)), [payload])
    assert not unmarked.detected


def _cli(argv: list[str]) -> int:
    from darkroom.cli import audit as audit_cli
    from darkroom.cli import verify as verify_cli

    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command")
    verify_cli.register(sub)
    audit_cli.register(sub)
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except DarkroomError as err:
        return err.exit_code


def test_cli_verify_exit_codes(studio, tmp_path, monkeypatch, capsys):
    settings, _, marked = studio
    monkeypatch.setenv("DARKROOM_HOME", str(settings.home))
    good, plain = tmp_path / "good.png", tmp_path / "plain.png"
    good.write_bytes(marked.data)
    picture(seed=5).save(plain)
    assert _cli(["verify", str(good)]) == 0
    assert "marked as AI-generated and intact" in capsys.readouterr().out
    assert _cli(["verify", str(plain)]) == 1
    assert _cli(["verify", str(good), str(plain)]) == 1
    capsys.readouterr()
    assert _cli(["verify", "--json", str(good)]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload[0]["ok"] and payload[0]["c2pa"]["state"] == "Trusted"
    assert payload[0]["verdict"].startswith("marked as AI-generated") and payload[0]["notes"] == []
    assert (payload[0]["verdict_code"], payload[0]["verdict_params"]) == ("intact", {"state": "Trusted",
                                                                                   "signer": "studio"})
    assert _cli(["verify", str(tmp_path / "missing.png")]) == 2
    assert _cli(["audit", "show", "--image", str(good)]) == 0
    out = capsys.readouterr().out
    assert "export" in out and "step" in out
