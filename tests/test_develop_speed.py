"""Speed options of a recipe beyond the feature cache: token merging (ToMe), int8 Linear layers. Each is deterministic,
replays, is recorded in the recipe (and left out of it when off) and leaves the shared UNet alone.
(How fast they are is measured by benchmarks/speed_levers.py and cpu_speed.py, never asserted here.)"""

from pathlib import Path

import numpy as np
import pytest
import torch

from darkroom.develop.recipe import Recipe
from darkroom.develop.tokenmerge import match, merged_unet
from darkroom.errors import InvalidParameter
from darkroom.settings import Settings


def recipe(model: str, *later, **generate) -> Recipe:
    step = {"op": "generate", "prompt": "a red door", "seed": 3, "steps": 2, "cfg": 5.0, **generate}
    return Recipe.parse({"model": {"name": model}, "steps": [step, *later]})


@pytest.fixture(scope="module")
def engine(tiny_sd1_dir):
    from darkroom.models.engine import load_engine
    from darkroom.models.registry import Registry

    return load_engine(Registry(Settings(home=Path(tiny_sd1_dir).parent / "home")).resolve(str(tiny_sd1_dir)),
                       dtype="float32")


@pytest.fixture
def small_layers_too(monkeypatch):
    """The tiny model's 256-token grid and 32-64 wide layers are below the floors where the methods pay."""
    from darkroom.develop import quantize, tokenmerge

    monkeypatch.setattr(tokenmerge, "MIN_TOKENS", 0)
    monkeypatch.setattr(quantize, "MIN_FEATURES", 0)


def run(engine, made: Recipe):
    from darkroom.develop.runner import Run, develop

    return develop(Run(engine, made, load_input=None))[-1]


def pixels(picture) -> np.ndarray:
    return np.asarray(picture.image.convert("RGB"))


@pytest.fixture(scope="module")
def plain_pixels(engine):
    return pixels(run(engine, recipe(engine.entry.name)))


def test_merging_averages_similar_tokens_and_unmerging_restores_the_grid():
    x = torch.randn(2, 6 * 5, 8, generator=torch.Generator().manual_seed(0))  # an odd edge: 6x5 tokens
    merge, unmerge = match(x, 6, 5, 0, torch.Generator().manual_seed(0))
    assert torch.equal(unmerge(merge(x)), x)  # r = 0: a permutation and its inverse
    merge, unmerge = match(x, 6, 5, 10, torch.Generator().manual_seed(0))
    out = unmerge(merge(x))
    assert merge(x).shape == (2, 20, 8) and out.shape == x.shape
    for image in range(2):
        kept = (out[image] == x[image]).all(dim=-1)
        assert len(torch.unique(out[image], dim=0)) == 20 and 10 <= kept.sum() < 30  # a merged group shares a mean


def test_the_merged_view_changes_only_the_full_resolution_self_attention(engine, small_layers_too):
    unet = engine.components["unet"]
    g = torch.Generator().manual_seed(0)
    x, t, context = torch.randn(2, 4, 16, 16, generator=g), torch.tensor(500), torch.randn(2, 77, 32, generator=g)
    with torch.no_grad():
        plain = unet(x, t, context).sample
        none = merged_unet(unet, 0.001)(x, t, context).sample  # ratio x 256 tokens < 1: nothing merges
        half = [merged_unet(unet, 0.5)(x, t, context).sample for _ in range(2)]
    torch.testing.assert_close(none, plain)  # attention is order-free: only the summation order moved
    assert torch.equal(half[0], half[1]) and not torch.allclose(half[0], plain)
    assert all(type(m).__name__ != "_Merged" for m in unet.modules())
    assert unet.down_blocks[0] is engine.components["unet"].down_blocks[0]


@pytest.mark.parametrize("options", [{"token_merge": 0.5, "feature_cache": 2}, {"quantize": "int8"}],
                         ids=["token_merge", "int8"])
def test_a_speed_option_is_recorded_replays_exactly_and_leaves_the_engine_alone(engine, plain_pixels, options,
                                                                                small_layers_too):
    before = plain_pixels
    fast = run(engine, recipe(engine.entry.name, **options))
    assert all(getattr(fast.recipe.steps[0], name) == value for name, value in options.items())
    again = run(engine, Recipe.parse(fast.recipe.canonical_json()))
    assert np.array_equal(pixels(fast), pixels(again))
    assert not np.array_equal(pixels(fast), before)
    assert np.array_equal(pixels(run(engine, recipe(engine.entry.name))), before)  # shared UNet unchanged


def test_the_int8_view_quantizes_a_copy_and_refuses_what_it_cannot_run(engine, small_layers_too):
    import copy

    from darkroom.develop.quantize import int8_unet

    unet = engine.components["unet"]
    view = int8_unet(unet)
    quantized = [m for m in view.modules() if isinstance(m, torch.ao.nn.quantized.dynamic.Linear)]
    assert len(quantized) == sum(type(m) is torch.nn.Linear for m in unet.modules()) > 0
    assert not any(type(m).__module__.startswith("torch.ao") for m in unet.modules())
    with pytest.raises(InvalidParameter, match="int8 quantization runs on a CPU in float32"):
        int8_unet(copy.deepcopy(unet).to(torch.bfloat16))


def test_small_grids_and_narrow_layers_are_left_as_they_are(engine):
    from darkroom.develop.quantize import int8_unet

    unet = engine.components["unet"]
    g = torch.Generator().manual_seed(0)
    x, t, context = torch.randn(2, 4, 16, 16, generator=g), torch.tensor(500), torch.randn(2, 77, 32, generator=g)
    with torch.no_grad():
        plain = unet(x, t, context).sample
        assert torch.equal(merged_unet(unet, 0.5)(x, t, context).sample, plain)  # 256 tokens < MIN_TOKENS
        assert torch.equal(int8_unet(unet)(x, t, context).sample, plain)  # 32-64 wide < MIN_FEATURES


def test_a_recipe_without_token_merging_keeps_its_json_and_hires_inherits_it():
    from darkroom.develop.passes import inherit

    plain = recipe("m", {"op": "hires", "scale": 2})
    assert "token_merge" not in plain.canonical_json()
    assert "token_merge" not in inherit(plain.steps[1], [plain.steps[0]], 1, 0).model_dump_json()
    merged = recipe("m", {"op": "hires", "scale": 2}, {"op": "hires", "scale": 1, "token_merge": 0}, token_merge=0.3)
    assert inherit(merged.steps[1], [merged.steps[0]], 1, 0).token_merge == 0.3
    assert Recipe.parse(merged.canonical_json()).steps[2].token_merge == 0  # an explicit "off" stays off
    assert "quantize" not in plain.canonical_json()
    assert inherit(plain.steps[1], [recipe("m", quantize="int8").steps[0]], 1, 0).quantize == "int8"


@pytest.mark.parametrize("name, value", [("token_merge", -0.1), ("token_merge", 0.8), ("token_merge", "nan"),
                                         ("token_merge", "half"), ("quantize", "int4"), ("quantize", 8)])
def test_speed_options_out_of_range_are_refused(name, value):
    with pytest.raises(InvalidParameter, match=name):
        recipe("m", **{name: value})
