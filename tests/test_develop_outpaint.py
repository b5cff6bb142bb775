"""The outpaint step: canvas size, edge fill, old pixels kept exactly, determinism, limits."""

from __future__ import annotations

import time

import numpy as np
import pytest
from PIL import Image

from darkroom.develop import inpaint
from darkroom.develop.outpaint import OutpaintStep, border_mask, edge_fill
from darkroom.develop.recipe import MAX_SIDE, Recipe
from darkroom.develop.runner import Run, develop
from darkroom.errors import InvalidParameter
from darkroom.models.engine import load_engine
from darkroom.models.registry import MINI_DIR, Registry
from darkroom.settings import Settings


@pytest.fixture(scope="module")
def engines(tmp_path_factory, tiny_sd1_dir):
    """A tiny SD1 model with a 4-channel and one with a 9-channel (inpainting) UNet, loaded once."""
    from tinymodels import save_diffusers, tiny_pipeline

    home = tmp_path_factory.mktemp("outpaint-home")
    inpainting = save_diffusers(tiny_pipeline("sd1", in_channels=9), home / "tiny-inpaint")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DARKROOM_HOME", str(home / "darkroom"))
        registry = Registry(Settings())
        loaded = {4: load_engine(registry.add(tiny_sd1_dir, name="tiny")),
                  9: load_engine(registry.add(inpainting, name="tiny-inpaint"))}
    yield loaded
    for engine in loaded.values():
        engine.close()


def picture(width=32, height=24) -> Image.Image:
    """A smooth gradient with a dark bar at the left edge, so the edge fill has something to continue."""
    x = np.linspace(60, 220, width)[None, :, None]
    y = np.linspace(40, 200, height)[:, None, None]
    pixels = np.concatenate([np.broadcast_to(x, (height, width, 1)), np.broadcast_to(y, (height, width, 1)),
                             np.full((height, width, 1), 128.0)], axis=2)
    pixels[:, :3] = (20, 30, 200)
    return Image.fromarray(pixels.round().astype(np.uint8))


def outpaint(engine, source=None, **fields):
    step = {"op": "outpaint", "prompt": "a meadow", "image": "in.png", "seed": 11, "steps": 4, **fields}
    recipe = Recipe.parse({"model": {"name": engine.entry.name}, "steps": [step]})
    source = source or picture()
    [developed] = develop(Run(engine=engine, recipe=recipe, load_input=lambda ref: source))
    return developed


def arr(image) -> np.ndarray:
    return np.asarray(image.convert("RGB"))


@pytest.mark.parametrize("channels", [4, 9])
def test_outpaint_extends_and_keeps_the_old_pixels_outside_the_blurred_mask(engines, channels):
    source = picture(48, 40)
    done = outpaint(engines[channels], source, left=16, bottom=8)
    assert done.image.size == (48 + 16, 40 + 8)
    step = done.recipe.steps[-1]  # resolved: seed and steps concrete
    assert (step.overlap, step.mask_blur) == (8, 4)
    canvas, new = edge_fill(source, step)
    soft = border_mask(step, new)
    kept = soft == 0
    assert not new[kept].any() and (soft[new] == 255).all()  # the new border is repainted in full
    assert kept[:40 - 8 - 3 * 4, 16 + 8 + 3 * 4:].all()  # beyond overlap + the blur's reach nothing changes
    result = arr(done.image)
    assert np.array_equal(result[kept], arr(canvas)[kept])
    assert np.array_equal(result[:40, 16:][kept[:40, 16:]], arr(source)[kept[:40, 16:]])  # the input, bit for bit
    # denoised: the border is not the stretched edge any more
    assert np.abs(result[new].astype(int) - arr(canvas)[new].astype(int)).mean() > 2
    assert 'Outpaint: "left 16, right 0, top 0, bottom 8"' in done.infotext
    assert "Denoising strength: 0.8, Mask blur: 4" in done.infotext and "Outpaint overlap: 8" in done.infotext


def test_outpaint_is_deterministic_and_the_seed_matters(engines):
    first, again = (arr(outpaint(engines[4], right=8, top=8, fill_noise=0.3).image) for _ in range(2))
    assert np.array_equal(first, again)
    other = arr(outpaint(engines[4], right=8, top=8, fill_noise=0.3, seed=12).image)
    assert not np.array_equal(first, other)


def test_outpaint_repaints_through_the_inpaint_pass(engines, monkeypatch):
    calls = []
    real = inpaint.repaint
    monkeypatch.setattr(inpaint, "repaint", lambda *a, **k: calls.append(a[3].shape) or real(*a, **k))
    outpaint(engines[4], right=8)
    assert calls == [(24, 40)]  # the whole canvas, with the border's soft mask


def test_outpaint_after_generate_inherits_prompt_and_seed(engines):
    engine = engines[4]
    recipe = Recipe.parse({"model": {"name": "tiny"}, "steps": [
        {"op": "generate", "prompt": "a red fox", "seed": 3, "steps": 3, "width": 16, "height": 16},
        {"op": "outpaint", "left": 8, "right": 8, "steps": 3}]})
    raw, wide = develop(Run(engine=engine, recipe=recipe, load_input=lambda ref: None))
    assert wide.image.size == (32, 16)
    step = wide.recipe.steps[-1]
    assert (step.prompt, step.seed, step.sampler, step.cfg) == ("a red fox", 3, "DPM++ 2M Karras", 7.0)
    assert wide.infotext.startswith("a red fox\n")


def test_denoise_0_gives_the_edge_fill(engines):
    source = picture()
    done = outpaint(engines[4], source, left=16, denoise=0)
    canvas, new = edge_fill(source, done.recipe.steps[-1])
    assert np.array_equal(arr(done.image), arr(canvas))
    assert np.array_equal(arr(canvas)[:, 16:], arr(source))
    fill = arr(canvas)[:, :16].astype(int)
    assert np.abs(fill[:, -1] - arr(source)[:, 0]).max() < 40  # continues the dark edge ...
    assert fill[:, :, 2].mean() > 150  # ... whose blue runs into the border


def test_edge_fill_noise_is_seeded_and_only_in_the_border():
    source = picture()
    plain, new = edge_fill(source, OutpaintStep(top=8, right=16, seed=1))
    noisy, _ = edge_fill(source, OutpaintStep(top=8, right=16, seed=1, fill_noise=0.5))
    again, _ = edge_fill(source, OutpaintStep(top=8, right=16, seed=1, fill_noise=0.5))
    assert plain.size == (48, 32) and np.array_equal(arr(noisy), arr(again))
    assert np.array_equal(arr(noisy)[~new], arr(plain)[~new])
    assert np.abs(arr(noisy)[new].astype(int) - arr(plain)[new].astype(int)).mean() > 5


@pytest.mark.parametrize("fields, message", [
    ({}, "steps[0]: left, right, top and bottom are all 0; extend at least one side"),
    ({"left": 12}, "steps[0].left: 12 is not a multiple of 8; try 16"),
    ({"bottom": -8}, "steps[0].bottom: Input should be greater than or equal to 0"),
    ({"right": MAX_SIDE + 8}, f"steps[0].right: Input should be less than or equal to {MAX_SIDE}"),
    ({"top": 8, "overlap": 300}, "steps[0].overlap: Input should be less than or equal to 256"),
])
def test_bad_outpaint_fields_name_the_field(fields, message):
    with pytest.raises(InvalidParameter) as err:
        Recipe.parse({"model": {"name": "tiny"}, "steps": [{"op": "outpaint", "prompt": "x", **fields}]})
    assert message in str(err.value), str(err.value)


def test_an_outpaint_beyond_the_size_limits_is_refused(engines):
    with pytest.raises(InvalidParameter, match=r"steps\[0\]\.left/right: outpainting 32x24 to 4120x24 is beyond"):
        outpaint(engines[4], left=2048, right=2040)
    with pytest.raises(InvalidParameter, match=r"steps\[0\]\.left/right/top/bottom: .* pixels in all; extend less"):
        outpaint(engines[4], left=2040, top=2040)


@pytest.mark.skipif(not (MINI_DIR / "model_index.json").is_file(), reason="darkroom-mini is not installed")
def test_outpaint_on_darkroom_mini_64_to_96():
    engine = load_engine(Registry(Settings()).resolve("darkroom-mini"))
    try:
        recipe = Recipe.parse({"model": {"name": "darkroom-mini"}, "steps": [
            {"op": "generate", "prompt": "a red house by a lake", "seed": 42, "steps": 20},
            {"op": "outpaint", "left": 16, "right": 16}]})  # the defaults: overlap 8, mask blur 4
        started = time.perf_counter()
        raw, wide = develop(Run(engine=engine, recipe=recipe, load_input=lambda ref: None))
        seconds = time.perf_counter() - started
    finally:
        engine.close()
    print(f"darkroom-mini generate 20 steps + outpaint 64x64 -> 96x64: {seconds:.1f} s")
    assert (raw.image.size, wide.image.size) == ((64, 64), (96, 64))
    canvas, new = edge_fill(raw.image, wide.recipe.steps[-1])
    kept = border_mask(wide.recipe.steps[-1], new) == 0
    assert kept[:, 16 + 20:80 - 20].all() and np.array_equal(arr(wide.image)[kept], arr(canvas)[kept])
    assert np.array_equal(arr(wide.image)[:, 16:80][kept[:, 16:80]], arr(raw.image)[kept[:, 16:80]])
    assert seconds < 30
