"""Raw generation through the CLI and the runner, on a tiny SD1-layout model."""

from __future__ import annotations

import json

import numpy as np
import pytest
from developing import develop_recipe
from PIL import Image

from darkroom.cli import main
from darkroom.develop.recipe import GenerateStep, ModelRef, Recipe
from darkroom.develop.samplers import SAMPLERS
from darkroom.settings import Settings



def generate(*args: str) -> int:
    return main(["generate", *args, "--model", "tiny", "--steps", "3", "--size", "32x32"])


def pixels(path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"))


def test_generate_writes_png_with_infotext_and_recipe(tiny_model, tmp_path, capsys):
    assert generate("a red circle", "--negative", "blurry", "--seed", "42", "-o", str(tmp_path)) == 0
    path = capsys.readouterr().out.strip()
    image = Image.open(path)
    assert image.size == (32, 32)
    lines = image.text["parameters"].split("\n")
    assert lines[0] == "a red circle"
    assert lines[1] == "Negative prompt: blurry"
    assert lines[2].startswith("Steps: 3, Sampler: DPM++ 2M Karras, CFG scale: 7.0, Seed: 42, Size: 32x32, Model hash: ")
    recipe = json.loads(image.text["darkroom"])
    assert recipe["darkroom_recipe"] == 1
    assert recipe["steps"][0]["seed"] == 42
    assert image.text["darkroom"] == Recipe.parse(image.text["darkroom"]).canonical_json()


def test_infotext_is_read_by_sd_parsers(tiny_model, tmp_path, capsys):
    import sd_parsers

    assert generate("a red circle, (blue:1.2)", "--seed", "7", "-o", str(tmp_path)) == 0
    path = capsys.readouterr().out.strip()
    prompt_info = sd_parsers.ParserManager().parse(path)
    assert prompt_info is not None
    assert "a red circle" in str(prompt_info.full_prompt)
    assert prompt_info.samplers[0].parameters["seed"] in ("7", 7)


def test_random_seed_is_recorded(tiny_model, tmp_path, capsys):
    assert generate("a cat", "--seed", "-1", "-o", str(tmp_path)) == 0
    recipe = json.loads(Image.open(capsys.readouterr().out.strip()).text["darkroom"])
    assert 0 <= recipe["steps"][0]["seed"] < 2**32


def test_batch_images_replay_alone_bit_identically(tiny_model, tmp_path, capsys):
    assert generate("a green square", "--seed", "100", "--batch", "3", "-o", str(tmp_path / "batch")) == 0
    paths = capsys.readouterr().out.split()
    assert [json.loads(Image.open(p).text["darkroom"])["steps"][0]["seed"] for p in paths] == [100, 101, 102]
    assert generate("a green square", "--seed", "101", "-o", str(tmp_path / "alone")) == 0
    alone = capsys.readouterr().out.strip()
    assert np.array_equal(pixels(paths[1]), pixels(alone))
    assert not np.array_equal(pixels(paths[0]), pixels(paths[1]))


@pytest.mark.parametrize("sampler", list(SAMPLERS))
def test_every_sampler_is_deterministic(tiny_model, sampler):
    recipe = Recipe(model=ModelRef(name="tiny"), steps=[
        GenerateStep(prompt="a blue star", seed=5, steps=4, sampler=sampler, width=32, height=32)])
    first, second = (develop_recipe(recipe)[-1].image for _ in range(2))
    a, b = np.asarray(first), np.asarray(second)
    assert a.shape == (32, 32, 3)
    assert np.isfinite(a).all() and a.std() > 0
    assert np.array_equal(a, b), sampler
    # the Studio always watches the steps (cancel, previews); watching must not change the picture
    watched = develop_recipe(recipe, progress=lambda step, total: None)[-1].image
    assert np.array_equal(a, np.asarray(watched)), f"{sampler}: watching the steps changed the picture"


@pytest.mark.parametrize("args, message", [
    (["--size", "65x64"], "not a multiple of 8"),
    (["--size", "4096x4096"], "beyond the limit"),
    (["--steps", "0"], "steps"),
    (["--steps", "100000"], "steps"),
    (["--cfg", "-1"], "cfg"),
    (["--sampler", "Euler b"], "unknown sampler 'Euler b'; choose one of: "),
    (["--batch", "0"], "batch_size"),
])
def test_bad_parameters_fail_cleanly(tiny_model, tmp_path, capsys, args, message):
    out = tmp_path / "out"
    assert main(["generate", "a cat", "--model", "tiny", *args, "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("darkroom: error: ") and message in err
    assert err.count("\n") == 1
    assert not out.exists() or not any(out.iterdir())


def test_empty_prompt_and_unknown_model_fail_cleanly(tiny_model, tmp_path, capsys):
    assert main(["generate", "   ", "--model", "tiny", "-o", str(tmp_path)]) == 2
    assert "prompt is empty" in capsys.readouterr().err
    assert main(["generate", "a cat", "--model", "no-such-model", "-o", str(tmp_path)]) != 0
    assert "no-such-model" in capsys.readouterr().err
    assert not any(tmp_path.glob("*.png"))
