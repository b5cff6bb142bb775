"""finish_image: real PNG/JPEG/WebP files, real c2pa signing and reading."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
from PIL import Image

from darkroom.errors import ImageError, InvalidParameter
from darkroom.settings import Settings
from darkroom.trust import provenance, watermark, xmp
from darkroom.trust.audit import AuditLog
from darkroom.trust.keys import load_identity
from darkroom.trust.marking import finish_image, mark_image
from pngfiles import png_chunks

PARAMS = "a lighthouse at dusk, oil painting\nNegative prompt: blurry\nSteps: 20, Sampler: Euler a, Seed: 42"
RECIPE = json.dumps({"darkroom_recipe": 1, "steps": [{"op": "generate", "prompt": "a lighthouse at dusk"}]},
                    sort_keys=True, separators=(",", ":"))


def picture(width: int = 256, height: int = 256, seed: int = 0) -> Image.Image:
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width]
    rgb = np.stack([120 + 90 * np.sin(x / 23.0), 110 + 70 * np.cos(y / 17.0), (x + y) * 0.4], -1)
    rgb = rgb + rng.normal(0, 6, rgb.shape)
    return Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8), "RGB")


@pytest.fixture(scope="module")
def studio(tmp_path_factory):
    settings = Settings(home=tmp_path_factory.mktemp("studio"))
    log = AuditLog(settings, checkpoint_every=0)
    step = log.append("step", {"op": "generate", "prompt": "a lighthouse at dusk", "seed": 42})
    return settings, load_identity(settings), log, step


@pytest.fixture(scope="module")
def finished(studio):
    settings, identity, log, step = studio
    return mark_image(picture(), parameters_text=PARAMS, recipe_json=RECIPE, audit_ref=step.ref,
                      model="darkroom-mini", settings=settings, identity=identity, audit=log)


def test_png_carries_info_xmp_watermark_and_a_trusted_manifest(studio, finished):
    settings, identity, log, step = studio
    data, report = finished.data, finished.report
    image = Image.open(io.BytesIO(data))
    assert image.info["parameters"] == PARAMS
    assert image.info["darkroom"] == RECIPE
    info = xmp.parse_packet(image.info[xmp.PNG_KEYWORD])
    assert info.source_type == xmp.TRAINED and info.says_ai
    assert info.ai_system == "darkroom (darkroom-mini)" and info.ai_system_version
    assert info.audit_ref == step.ref and info.watermark == report.watermark

    kinds = [kind for kind, _ in png_chunks(data)]
    assert kinds[0] == b"IHDR" and kinds[-1] == b"IEND" and b"caBX" in kinds
    assert kinds.index(b"tEXt") < kinds.index(b"IDAT")

    assert report.watermark_status == "embedded" and report.watermark_matched >= 46
    bits = watermark.decode(np.asarray(image.convert("RGB")))
    assert watermark.matched_bits(bits, int(report.watermark, 16)) == report.watermark_matched

    c2pa = provenance.read(data, "png", identity.anchors_pem)
    assert c2pa.state == "Trusted" and report.c2pa_state == "Trusted"
    assert [a["action"] for a in c2pa.actions] == ["c2pa.created"]
    assert c2pa.source_types == [xmp.TRAINED]
    assert c2pa.marking["watermark"]["payload"] == report.watermark
    assert c2pa.marking["audit_ref"] == step.ref
    assert c2pa.ingredients == []
    export = log.find("export", sha256=report.sha256)
    assert len(export) == 1 and export[0].payload["watermark"] == report.watermark
    assert report.export_entry == export[0].ref


def test_manifest_is_private_by_default(studio, finished):
    settings, identity, _, step = studio
    import c2pa

    ctx = provenance.context(identity.anchors_pem)
    with c2pa.Reader("image/png", io.BytesIO(finished.data), None, ctx) as reader:
        store = reader.json()
    assert "thumbnail" not in store
    assert "lighthouse" not in store  # no prompt in the manifest unless shared

    shared = mark_image(picture(), parameters_text=PARAMS, recipe_json=RECIPE, audit_ref=step.ref,
                        share_prompt="a lighthouse at dusk", settings=settings, identity=identity)
    info = provenance.read(shared.data, "png", identity.anchors_pem)
    assert info.marking["prompt"] == "a lighthouse at dusk"
    packet = Image.open(io.BytesIO(shared.data)).info[xmp.PNG_KEYWORD]
    assert "<Iptc4xmpExt:AIPromptInformation>a lighthouse at dusk<" in packet


def test_edit_has_parent_ingredient_without_its_file_name(studio, finished, tmp_path):
    settings, identity, log, step = studio
    parent = tmp_path / "my-holiday-secret-name.png"
    parent.write_bytes(finished.data)
    edited = finish_image(picture(seed=3), parameters_text=PARAMS, recipe_json=RECIPE, audit_ref=step.ref,
                          kind="edited", parent=parent, captured_input=True, settings=settings, identity=identity)
    info = provenance.read(edited, "png", identity.anchors_pem)
    assert info.state == "Trusted"
    assert [a["action"] for a in info.actions] == ["c2pa.opened", "c2pa.edited"]
    assert info.actions[1]["digitalSourceType"] == xmp.COMPOSITE
    assert info.ingredients == [{"title": "parent image", "relationship": "parentOf", "format": "image/png",
                                 "manifest": provenance.read(finished.data, "png").label, "state": "Trusted"}]
    assert b"my-holiday" not in edited
    assert xmp.parse_packet(Image.open(io.BytesIO(edited)).info[xmp.PNG_KEYWORD]).source_type == xmp.COMPOSITE


def test_mini_model_output_is_exported_without_watermark_and_says_so(studio):
    settings, identity, log, step = studio
    small = picture(64, 64)
    marked = mark_image(small, parameters_text=PARAMS, recipe_json=RECIPE, audit_ref=step.ref,
                        settings=settings, identity=identity, audit=log)
    report = marked.report
    assert report.watermark_status == "not_applied" and report.watermark is None
    assert any("64x64" in w and "not applied" in w for w in report.warnings)
    info = provenance.read(marked.data, "png", identity.anchors_pem)
    assert info.state == "Trusted"
    assert info.marking["watermark"]["status"] == "not_applied"
    assert "256x256" in info.marking["watermark"]["reason"]
    entry = log.find("export", sha256=report.sha256)[0]
    assert entry.payload["watermark_status"] == "not_applied" and "64x64" in entry.payload["watermark_reason"]
    with pytest.raises(ImageError, match="cannot watermark"):
        finish_image(small, parameters_text=PARAMS, recipe_json=RECIPE, audit_ref=step.ref,
                     require_watermark=True, settings=settings, identity=identity)


@pytest.mark.parametrize("fmt", ["jpeg", "webp"])
def test_jpeg_and_webp_exports(studio, fmt):
    settings, identity, _, step = studio
    marked = mark_image(picture(), parameters_text=PARAMS, recipe_json=RECIPE, audit_ref=step.ref, format=fmt,
                        settings=settings, identity=identity)
    assert marked.report.watermark_matched >= watermark.THRESHOLD
    info = provenance.read(marked.data, fmt, identity.anchors_pem)
    assert info.state == "Trusted" and info.says_ai
    image = Image.open(io.BytesIO(marked.data))
    assert image.format == {"jpeg": "JPEG", "webp": "WEBP"}[fmt]
    packet = xmp.parse_packet(image.info["xmp"])
    assert packet.says_ai and packet.recipe == RECIPE
    comment = image.getexif().get_ifd(0x8769)[0x9286]
    assert comment == b"UNICODE\0" + PARAMS.encode("utf-16-be")


def test_input_metadata_is_dropped(studio):
    settings, identity, _, step = studio
    exif = Image.Exif()
    exif[0x010F] = "SecretCam"  # Make
    exif.get_ifd(0x8825)[2] = (52.0, 31.0, 12.0)  # GPSLatitude
    buffer = io.BytesIO()
    picture().save(buffer, "JPEG", exif=exif, quality=95)
    out = finish_image(buffer.getvalue(), parameters_text=PARAMS, recipe_json=RECIPE, audit_ref=step.ref,
                       settings=settings, identity=identity)
    assert b"SecretCam" not in out
    assert not Image.open(io.BytesIO(out)).getexif()


def test_bad_arguments_are_refused(studio):
    settings, identity, _, step = studio
    common = dict(parameters_text=PARAMS, recipe_json=RECIPE, settings=settings, identity=identity)
    with pytest.raises(InvalidParameter, match="audit"):
        finish_image(picture(), audit_ref="", **common)
    with pytest.raises(InvalidParameter, match="parent"):
        finish_image(picture(), audit_ref=step.ref, kind="edited", **common)
    with pytest.raises(InvalidParameter, match="format"):
        finish_image(picture(), audit_ref=step.ref, format="gif", **common)
    with pytest.raises(ImageError):
        finish_image(b"not an image", audit_ref=step.ref, **common)
