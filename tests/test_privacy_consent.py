"""Photos of real people: no edit without a confirmed lawful basis; an optional visible AI label."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image, PngImagePlugin
from test_develop_masks import gradient, synthetic_face

from darkroom.cli import main
from darkroom.library import Library
from darkroom.settings import Settings
from darkroom.trust.audit import AuditLog
from darkroom.trust.consent import LABEL_NOTE, draw_label



@pytest.fixture
def face(tmp_path):
    path = tmp_path / "portrait.png"
    synthetic_face().save(path)
    return path


def img2img(image, out, *extra) -> int:
    return main(["img2img", str(image), "--prompt", "an oil painting", "--steps", "2", "--denoise", "0.5",
                 "--size", "32x32", "--seed", "5", "--model", "tiny", "-o", str(out), *extra])


def kinds(log: AuditLog) -> list[str]:
    return [e.kind for e in log.entries(0, None)]


def test_face_photo_without_consent_is_refused_and_nothing_is_stored(tiny_model, face, tmp_path, capsys):
    out = tmp_path / "out"
    assert img2img(face, out) == 4
    err = capsys.readouterr().err
    assert "lawful basis" in err and "--consent" in err and "Traceback" not in err
    assert not out.exists()
    assert Library(Settings()).records() == []  # the photo was not even taken into the library
    assert "step" not in kinds(AuditLog(Settings()))
    box = ["inpaint", str(face), "--box", "4,4,8,8", "--prompt", "x", "--steps", "2", "--model", "tiny",
           "-o", str(out)]
    assert main(box) == 4 and not out.exists()
    recipe = tmp_path / "recipe.json"
    recipe.write_text(json.dumps({"model": {"name": "tiny"}, "steps": [
        {"op": "img2img", "image": str(face), "prompt": "x", "steps": 2, "width": 32, "height": 32}]}))
    assert main(["develop", str(recipe), "-o", str(out)]) == 4 and not out.exists()
    assert main(["develop", str(recipe), "-o", str(out), "--basis", "contract"]) == 0


def test_consent_is_logged_with_input_hash_basis_and_time_and_stays_out_of_the_recipe(tiny_model, face, tmp_path,
                                                                                      capsys):
    assert img2img(face, tmp_path / "out", "--consent") == 0
    made = capsys.readouterr().out.split()
    assert len(made) == 1
    library = Library(Settings())
    inputs = [r for r in library.records() if r.kind == "input"]
    assert len(inputs) == 1
    log = AuditLog(Settings())
    events = log.entries(0, None, kind="consent")
    assert len(events) == 1
    payload = events[0].payload
    assert payload["input_sha256"] == inputs[0].sha256
    assert payload["basis"] == "consent" and payload["gdpr"] == "Art. 6(1)(a)" and payload["source"] == "confirmed"
    assert payload["confirmed_at"].endswith("Z") and payload["faces"] >= 1
    assert events[0].subject == "project:default"
    raw = Image.open(made[0]).text["darkroom"]
    assert "consent" not in raw and json.loads(raw)["steps"][0]["image"] == "sha256:" + inputs[0].sha256
    assert log.verify().ok
    # The confirmation stays with the picture: replaying its recipe needs no second --consent.
    assert main(["replay", made[0]]) == 0
    assert [e.payload["source"] for e in log.entries(0, None, kind="consent")] == ["confirmed", "recorded"]


def test_pictures_without_faces_and_pictures_made_here_need_no_consent(tiny_model, face, tmp_path, capsys):
    plain = tmp_path / "gradient.png"
    gradient(64, 64).save(plain)
    assert img2img(plain, tmp_path / "a") == 0
    # A picture this studio made (in the library as generated) is no upload, face or not.
    made_here = tmp_path / "made-here.png"
    synthetic_face().save(made_here)
    Library(Settings()).put(made_here.read_bytes(), kind="image")
    assert img2img(made_here, tmp_path / "b") == 0
    # A forged darkroom recipe chunk on a real photo proves nothing.
    info = PngImagePlugin.PngInfo()
    info.add_text("darkroom", json.dumps({"darkroom_recipe": 1}))
    forged = tmp_path / "forged.png"
    synthetic_face(cx=78).save(forged, pnginfo=info)
    assert img2img(forged, tmp_path / "c") == 4
    assert AuditLog(Settings()).entries(0, None, kind="consent") == []


def test_label_is_drawn_into_the_pixels_noted_in_the_infotext_and_replays_bit_identically(tiny_model, face,
                                                                                          tmp_path, capsys):
    assert img2img(face, tmp_path / "plain", "--consent") == 0
    plain = capsys.readouterr().out.split()[0]
    other = tmp_path / "portrait2.png"
    synthetic_face(cx=82).save(other)
    assert img2img(other, tmp_path / "labelled", "--consent", "--label") == 0
    labelled = capsys.readouterr().out.split()[0]
    image = Image.open(labelled)
    assert LABEL_NOTE in image.text["parameters"] and LABEL_NOTE not in Image.open(plain).text["parameters"]
    rgb = np.asarray(image.convert("RGB")).astype(int)
    band = rgb[-9:]  # the band along the bottom edge: black with light text
    assert (band.max(axis=-1) < 40).mean() > 0.5 and band.max() > 100
    assert main(["replay", labelled]) == 0
    assert "identical" in capsys.readouterr().out
    # An edit of the labelled picture is labelled too (a picture made here: no consent asked).
    assert img2img(labelled, tmp_path / "again") == 0
    assert LABEL_NOTE in Image.open(capsys.readouterr().out.split()[0]).text["parameters"]
    assert AuditLog(Settings()).entries(0, None, kind="consent")[-1].payload["label"] is True


def test_label_fits_small_and_large_pictures():
    for size in ((32, 32), (512, 384)):
        out = draw_label(Image.new("RGB", size, (128, 128, 128)))
        rgb = np.asarray(out).astype(int)
        band = max(9, round(size[1] * 0.06))
        assert out.size == size and (rgb[: size[1] - band] == 128).all()
        assert (rgb[size[1] - band:] == 0).mean() > 0.4 and rgb[size[1] - band:].max() > 100
