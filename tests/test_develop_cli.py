"""darkroom develop / replay / lineage / variants / keep / img2img / inpaint from the command line."""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import shutil

import numpy as np
import pytest
from PIL import Image
from test_develop_masks import synthetic_face

from darkroom.cli import main
from darkroom.studio.saving import LINEAGE_CHUNK, RECIPE_CHUNK
from darkroom.library import Library
from darkroom.settings import Settings



RECIPE = {
    "darkroom_recipe": 1,
    "model": {"name": "tiny"},
    "steps": [
        {"op": "generate", "prompt": "a lighthouse at dusk", "seed": 21, "steps": 3, "width": 16, "height": 16},
        {"op": "hires", "scale": 2, "steps": 2, "denoise": 0.5},
        {"op": "inpaint", "zone": {"kind": "ellipse", "x": 6, "y": 6, "width": 16, "height": 14},
         "prompt": "a red door", "steps": 4, "denoise": 0.8, "inpaint_area": "masked", "padding": 4},
    ],
}


def sha(path) -> str:
    return hashlib.sha256(open(path, "rb").read()).hexdigest()


def pixels(path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"))


def write_recipe(tmp_path, recipe=RECIPE, name="recipe.json"):
    path = tmp_path / name
    path.write_text(json.dumps(recipe))
    return path


@pytest.fixture(scope="module")
def developed_once(tmp_path_factory, tiny_sd1_dir):
    """RECIPE developed once for this module with `darkroom develop`: (its data dir, the printed paths)."""
    root = tmp_path_factory.mktemp("developed")
    printed = io.StringIO()
    with pytest.MonkeyPatch.context() as env, contextlib.redirect_stdout(printed):
        env.setenv("DARKROOM_HOME", str(root / "home"))
        assert main(["models", "add", str(tiny_sd1_dir), "--name", "tiny"]) == 0
        printed.truncate(0)
        printed.seek(0)
        assert main(["develop", str(write_recipe(root)), "-o", str(root / "out")]) == 0
    return root / "home", printed.getvalue().split()


@pytest.fixture
def developed(developed_once, darkroom_home) -> list:
    """The pictures of RECIPE (read-only), with this test's own copy of the data dir that made them."""
    home, paths = developed_once
    shutil.copytree(home, darkroom_home)
    return paths


def test_develop_writes_every_step_with_recipe_and_parent_hash(developed, tmp_path, capsys):
    paths = developed
    assert len(paths) == 3
    sizes = [Image.open(p).size for p in paths]
    assert sizes == [(16, 16), (32, 32), (32, 32)]
    parent = None
    for index, path in enumerate(paths):
        chunks = Image.open(path).text
        recipe = json.loads(chunks[RECIPE_CHUNK])
        assert [s["op"] for s in recipe["steps"]] == ["generate", "hires", "inpaint"][:index + 1]
        lineage = json.loads(chunks[LINEAGE_CHUNK])
        assert lineage["parent"] == parent and lineage["step"] == index
        parent = sha(path)
    final = json.loads(Image.open(paths[2]).text[RECIPE_CHUNK])
    assert final["steps"][1]["seed"] == 21 and final["steps"][1]["prompt"] == "a lighthouse at dusk"
    assert final["steps"][2]["prompt"] == "a red door" and final["runtime"]["dtype"] == "float32"
    inpainted, hires = pixels(paths[2]).astype(int), pixels(paths[1]).astype(int)
    from darkroom.develop import masks
    from darkroom.develop.recipe import EllipseZone

    soft = masks.blur(masks.zone_mask(EllipseZone(x=6, y=6, width=16, height=14), Image.open(paths[1]), None), 4)
    assert (soft == 0).sum() > 100
    assert (inpainted != hires).any() and (inpainted[soft == 0] == hires[soft == 0]).all()
    # each picture's infotext describes the operation that made it (the inpaint's own seed, not the hires fix)
    assert "Hires upscaler: Latent" in Image.open(paths[1]).text["parameters"]
    assert "Inpaint area: Only masked" in Image.open(paths[2]).text["parameters"]
    assert "Hires" not in Image.open(paths[2]).text["parameters"]


def test_replay_is_bit_identical_for_a_multi_step_recipe(developed, tmp_path, capsys):
    paths = developed
    for path in (paths[2], paths[1]):
        assert main(["replay", path]) == 0
        assert capsys.readouterr().out.startswith("identical: ")
    tampered = tmp_path / "tampered.png"
    image = Image.open(paths[2])
    data = np.asarray(image.convert("RGB")).copy()
    data[0, 0] = 255 - data[0, 0]
    from darkroom.studio.saving import write_image

    write_image(Image.fromarray(data), tampered, parameters=image.text["parameters"],
                recipe_json=image.text[RECIPE_CHUNK], lineage=json.loads(image.text[LINEAGE_CHUNK]),
                audit_ref="audit:tampered")
    assert main(["replay", str(tampered)]) == 1
    out = capsys.readouterr().out
    assert out.startswith("differs: max abs pixel difference ") and "PSNR" in out and "why: " in out


def test_replay_says_why_when_the_runtime_differs(developed, tmp_path, capsys):
    paths = developed
    image = Image.open(paths[1])
    recipe = json.loads(image.text[RECIPE_CHUNK])
    recipe["runtime"]["torch"] = "1.0.0"
    recipe["steps"][1]["seed"] = 99  # as if another torch had made other pixels
    from darkroom.studio.saving import write_image

    moved = tmp_path / "other.png"
    write_image(image, moved, parameters="", recipe_json=json.dumps(recipe), audit_ref="audit:moved")
    assert main(["replay", str(moved)]) == 1
    out = capsys.readouterr().out
    assert "why: the runtime differs: torch 1.0.0 -> " in out


def test_lineage_lists_the_chain_from_raw_to_final(developed, tmp_path, capsys):
    paths = developed
    assert main(["lineage", paths[2]]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 3
    assert lines[0].startswith("raw") and "generate" in lines[0] and sha(paths[0])[:12] in lines[0]
    assert lines[1].startswith("step 1") and "hires" in lines[1]
    assert lines[2].startswith("step 2") and "inpaint" in lines[2] and "ellipse zone" in lines[2]
    assert main(["lineage", paths[2], "--json"]) == 0
    chain = json.loads(capsys.readouterr().out)
    assert [c["sha256"] for c in chain] == [sha(p) for p in paths]
    library = Library(Settings())
    assert library.get(sha(paths[2])).parent_sha256 == sha(paths[1])
    assert library.object_path(sha(paths[2])).read_bytes() == open(paths[2], "rb").read()


@pytest.mark.parametrize("change, message", [
    (lambda r: r["steps"][1].update(denoise=1.5), "steps[1].denoise: Input should be less than or equal to 1"),
    (lambda r: r["steps"][2].update(zone={"kind": "box", "x": 0, "y": 0, "width": 0, "height": 4}),
     "steps[2].zone.width"),
    (lambda r: r["steps"][2].update(zone={"kind": "detect", "detector": "face"}), "no face found"),
    (lambda r: r["steps"][1].update(resize_width=4096, resize_height=4096), "beyond the limit"),
    (lambda r: r["steps"][2].update(mask_grow=-30), "mask is empty after shrinking"),
])
def test_bad_recipes_fail_cleanly_and_write_nothing(tiny_model, tmp_path, capsys, change, message):
    recipe = json.loads(json.dumps(RECIPE))
    change(recipe)
    out = tmp_path / "out"
    assert main(["develop", str(write_recipe(tmp_path, recipe)), "-o", str(out)]) == 2
    err = capsys.readouterr().err.rsplit("\r", 1)[-1]  # after the progress bar, if one ran
    assert err.startswith("darkroom: error: ") and message in err, err
    assert not out.exists() or not any(out.iterdir())


def test_img2img_cli_takes_jpeg_and_webp_and_strips_their_metadata(tiny_model, tmp_path, capsys):
    source = Image.fromarray((np.indices((30, 44)).sum(axis=0) * 3 % 255).astype(np.uint8)).convert("RGB")
    exif = Image.Exif()
    exif[0x010F] = "SecretCam"  # Make
    for fmt in ("JPEG", "WEBP"):
        path = tmp_path / f"photo.{fmt.lower()}"
        source.save(path, format=fmt, exif=exif.tobytes())
        assert main(["img2img", str(path), "--prompt", "a painting", "--denoise", "0.6", "--steps", "5",
                     "--model", "tiny", "-o", str(tmp_path / fmt)]) == 0
        (made,) = capsys.readouterr().out.split()
        assert Image.open(made).size == (48, 32)  # rounded to multiples of 8
        ref = json.loads(Image.open(made).text[RECIPE_CHUNK])["steps"][0]["image"]
        assert ref.startswith("sha256:")
        stored = Library(Settings()).get_bytes(ref)
        assert b"SecretCam" not in stored and b"SecretCam" not in open(made, "rb").read()
    assert main(["img2img", str(path), "--prompt", "x", "--size", "32x32", "--resize-mode", "crop", "--model",
                 "tiny", "--steps", "2", "--denoise", "0.5", "-o", str(tmp_path / "crop")]) == 0
    assert Image.open(capsys.readouterr().out.strip()).size == (32, 32)


def test_inpaint_cli_face_zone_keeps_everything_outside_the_face(tiny_model, tmp_path, capsys):
    face = tmp_path / "face.png"
    synthetic_face().save(face)
    assert main(["inpaint", str(face), "--zone", "face", "--prompt", "a smiling face", "--inpaint-area", "masked",
                 "--consent", "--steps", "4", "--denoise", "0.9", "--mask-blur", "2", "--model", "tiny",
                 "-o", str(tmp_path / "out")]) == 0
    made = capsys.readouterr().out.strip()
    before, after = pixels(face).astype(int), pixels(made).astype(int)
    changed = np.abs(after - before).max(axis=-1) > 0
    ys, xs = np.nonzero(changed)
    assert 50 < xs.mean() < 110 and 50 < ys.mean() < 120  # around the face at (80, 84)
    assert not changed[:, :30].any() and not changed[:20].any()  # background untouched
    assert changed[84, 80]


@pytest.mark.parametrize("args, message", [
    (["--mask", "{small}"], "the mask is 16x16 but the image is 32x32"),
    (["--mask", "{empty}"], "the mask is empty"),
    (["--zone", "face"], "no face found"),
    (["--box", "4,4,8,8", "--denoise", "1.5"], "denoise"),
    (["--box", "40,40,8,8"], "outside"),
])
def test_inpaint_cli_bad_input(tiny_model, tmp_path, capsys, args, message):
    image = tmp_path / "in.png"
    Image.new("RGB", (32, 32), (90, 120, 150)).save(image)
    Image.new("L", (16, 16), 255).save(tmp_path / "small.png")
    Image.new("L", (32, 32), 0).save(tmp_path / "empty.png")
    args = [a.format(small=tmp_path / "small.png", empty=tmp_path / "empty.png") for a in args]
    out = tmp_path / "out"
    assert main(["inpaint", str(image), "--prompt", "x", "--model", "tiny", *args, "-o", str(out)]) == 2
    err = capsys.readouterr().err.rsplit("\r", 1)[-1]  # after the progress bar, if one ran
    assert err.startswith("darkroom: error: ") and message in err, err
    assert not out.exists() or not any(out.iterdir())


def test_too_large_input_is_refused(tiny_model, tmp_path, capsys):
    big = tmp_path / "big.png"
    Image.new("RGB", (4104, 8)).save(big)
    out = tmp_path / "out"
    assert main(["img2img", str(big), "--prompt", "x", "--model", "tiny", "-o", str(out)]) == 2
    assert "beyond the limit" in capsys.readouterr().err
    assert not out.exists()


def test_generate_with_hires_flags(tiny_model, tmp_path, capsys):
    assert main(["generate", "a cat", "--model", "tiny", "--steps", "3", "--size", "16x16", "--seed", "4",
                 "--hires-scale", "2", "--hires-steps", "2", "--hires-upscaler", "Lanczos",
                 "-o", str(tmp_path / "a")]) == 0
    (final,) = capsys.readouterr().out.split()
    assert Image.open(final).size == (32, 32)
    steps = json.loads(Image.open(final).text[RECIPE_CHUNK])["steps"]
    assert [s["op"] for s in steps] == ["generate", "hires"] and steps[1]["upscaler"] == "Lanczos"
    assert len(list((tmp_path / "a").glob("*.png"))) == 2  # the raw negative is kept as the parent
    assert main(["generate", "a cat", "--model", "tiny", "--steps", "3", "--size", "16x16",
                 "--hires-resize", "32x24", "--hires-steps", "1", "-o", str(tmp_path / "b")]) == 0
    assert Image.open(capsys.readouterr().out.strip()).size == (32, 24)
    assert main(["generate", "a cat", "--model", "tiny", "--hires-denoise", "2", "-o", str(tmp_path / "c")]) == 2
    assert "hires_denoise" in capsys.readouterr().err


def test_variants_contact_sheet_and_keep(developed, tmp_path, capsys):
    paths = developed
    assert main(["variants", paths[2], "--count", "3", "--vary", "denoise", "-o", str(tmp_path / "v")]) == 0
    out = capsys.readouterr().out.split()
    variants, sheet = out[:3], out[3]
    denoise = [json.loads(Image.open(p).text[RECIPE_CHUNK])["steps"][2]["denoise"] for p in variants]
    assert len(set(denoise)) == 3 and denoise == sorted(denoise)
    for p in variants:  # each variant's recipe is whole: it replays alone
        assert json.loads(Image.open(p).text[LINEAGE_CHUNK])["parent"] is not None
    grid = Image.open(sheet)
    assert grid.size[0] > 2 * 192 and "denoise" in grid.text["parameters"]
    assert len({pixels(p).tobytes() for p in variants}) == 3
    library = Library(Settings())
    assert main(["keep", variants[1]]) == 0
    assert "kept sha256:" in capsys.readouterr().out
    assert library.kept() == [sha(variants[1])]
    assert main(["keep", variants[2]]) == 0
    assert library.kept() == [sha(variants[2])]  # one kept per variant group
    assert main(["replay", variants[0]]) == 0
    assert main(["variants", paths[0], "--count", "2", "--vary", "denoise", "-o", str(tmp_path / "w")]) == 2
    assert "has no denoise" in capsys.readouterr().err


def test_inpaint_keeps_a_picture_that_is_not_a_multiple_of_8(tiny_model, tmp_path, capsys):
    image = tmp_path / "odd.png"
    source = (np.indices((28, 30)).sum(axis=0) * 4 % 255).astype(np.uint8)
    Image.fromarray(source).convert("RGB").save(image)
    assert main(["inpaint", str(image), "--box", "6,6,12,10", "--prompt", "x", "--steps", "3", "--mask-blur", "0",
                 "--model", "tiny", "-o", str(tmp_path / "out")]) == 0
    made = pixels(capsys.readouterr().out.strip()).astype(int)
    before = pixels(image).astype(int)
    assert made.shape == (28, 30, 3)
    zone = np.zeros((28, 30), bool)
    zone[6:16, 6:18] = True
    assert (made[~zone] == before[~zone]).all() and (made[zone] != before[zone]).any()


def test_seed_variants_of_a_raw_picture(developed, tmp_path, capsys):
    paths = developed
    assert main(["variants", paths[0], "--count", "2", "-o", str(tmp_path / "v")]) == 0
    first, second, sheet = capsys.readouterr().out.split()
    seeds = [json.loads(Image.open(p).text[RECIPE_CHUNK])["steps"][0]["seed"] for p in (first, second)]
    assert seeds == [21, 22]
    assert np.array_equal(pixels(first), pixels(paths[0]))  # variant 1 is the original seed
    assert Image.open(sheet).size[0] > 0


def test_replay_in_a_fresh_process_is_identical(developed, tmp_path, capsys):
    """A new process (fresh model load, fresh torch) reproduces the final picture bit for bit."""
    import os
    import subprocess
    import sys

    paths = developed
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, "-m", "darkroom", "replay", paths[2]], env=env, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.startswith("identical: ")


def test_final_only_keeps_intermediates_in_the_library_for_lineage(tiny_model, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["develop", str(write_recipe(tmp_path)), "-o", str(out), "--final-only"]) == 0
    (final,) = capsys.readouterr().out.split()
    assert len(list(out.glob("*.png"))) == 1
    assert main(["lineage", final]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert [line.split()[0] for line in lines] == ["raw", "step", "step"]
    parent = json.loads(Image.open(final).text[LINEAGE_CHUNK])["parent"]
    assert Library(Settings()).get(parent).op == "hires"
