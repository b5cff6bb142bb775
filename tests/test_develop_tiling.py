"""Big pictures: the hires pass through the UNet in overlapping windows (develop/unettiles.py)."""

from __future__ import annotations

from contextlib import contextmanager

import numpy as np
import torch
from developing import develop_recipe

from darkroom.develop import unettiles
from darkroom.develop.latents import wants_tiling
from darkroom.develop.recipe import GenerateStep, HiresStep, ModelRef, Recipe
from darkroom.models.cache import get_engine
from darkroom.models.registry import Registry
from darkroom.settings import Settings


def hires(**options):
    recipe = Recipe(model=ModelRef(name="tiny"), steps=[
        GenerateStep(prompt="a red fox in snow", seed=3, steps=2, width=32, height=32),
        HiresStep(scale=2.0, steps=2, denoise=0.5, **options)])
    return develop_recipe(recipe)[-1]


@contextmanager
def unet_inputs():
    """The latent sizes the engine's shared UNet is called with."""
    unet = get_engine(Registry(Settings()).resolve("tiny"), Settings()).components["unet"]
    sizes: list[tuple[int, int]] = []
    handle = unet.register_forward_pre_hook(lambda module, args: sizes.append(tuple(args[0].shape[-2:])))
    try:
        yield sizes
    finally:
        handle.remove()


def test_windows_cover_the_latents_with_overlap():
    parts = unettiles.windows(256, 256, 64)  # SD1.5 at 2048x2048
    assert len(parts) == 25 and all(h == w == 64 for _, _, h, w in parts)
    tops = sorted({top for top, _, _, _ in parts})
    assert tops[0] == 0 and tops[-1] + 64 == 256
    assert all(b - a <= 64 - 64 // unettiles.OVERLAP for a, b in zip(tops, tops[1:]))
    assert unettiles.windows(50, 40, 64) == [(0, 0, 50, 40)]
    weights = unettiles.ramp(64, 16, at_start=False, at_end=True, like=torch.ones(1))
    assert 0 < float(weights[0]) < float(weights[15]) < 1 and float(weights[-1]) == 1


def test_tiled_hires_runs_in_windows_replays_and_leaves_the_unet_alone(tiny_model):
    assert wants_tiling("auto", 2048, 2048) and not wants_tiling("auto", 1024, 1024)
    with unet_inputs() as sizes:
        tiled = hires(unet_tiling="on")
    # the raw: 2 calls on 16x16 latents; the 64x64 hires (32x32 latents, tiny VAE factor 2), 2 steps: the
    # view's call on 32x32 (it shares the UNet's hooks), then 3x3 windows of 16x16 (the model's native 32 px)
    assert sizes == [(16, 16)] * 2 + ([(32, 32)] + [(16, 16)] * 9) * 2
    again = hires(unet_tiling="on")
    assert torch.equal(tiled.latents, again.latents)
    assert np.array_equal(np.asarray(tiled.image), np.asarray(again.image))
    assert tiled.recipe.steps[-1].unet_tiling == "on"
    with unet_inputs() as sizes:
        whole = hires(unet_tiling="auto")  # 64x64 is far below the size where auto tiles
    assert sizes == [(16, 16)] * 2 + [(32, 32)] * 2
    assert "forward" not in vars(get_engine(Registry(Settings()).resolve("tiny"), Settings()).components["unet"])
    difference = (tiled.latents - whole.latents).abs().mean().item()
    print(f"tiled vs whole UNet, tiny model 64x64: mean abs latent difference {difference:.4f}")
    assert 0 < difference < 0.5 * whole.latents.abs().mean().item()
    cached = hires(unet_tiling="on", feature_cache=2)  # each window keeps its own feature cache
    assert not torch.equal(cached.latents, tiled.latents)
    assert (cached.latents - tiled.latents).abs().mean().item() < 0.5 * tiled.latents.abs().mean().item()
