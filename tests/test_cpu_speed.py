"""Fast on a CPU: precision selection and its replay, feature caching, the LCM sampler, the fast preset,
automatic VAE tiling. (Speed itself is measured by benchmarks/cpu_speed.py, never asserted here.)"""

import time
from pathlib import Path

import numpy as np
import pytest
import torch

from darkroom.cli import build_parser
from darkroom.develop.featurecache import cached_unet
from darkroom.develop.recipe import Recipe, Runtime
from darkroom.errors import InvalidParameter
from darkroom.models.engine import cpu_has_bf16, cpu_prefers_bf16, dtype_for_recipe, resolve_dtype
from darkroom.settings import Settings
from darkroom.studio import Studio


def recipe(model: str, **generate) -> Recipe:
    step = {"op": "generate", "prompt": "a red door", "seed": 3, "steps": 6, "cfg": 5.0, **generate}
    return Recipe.parse({"model": {"name": model}, "steps": [step]})


def pixels(picture) -> np.ndarray:
    return np.asarray(picture.image.convert("RGB"))


@pytest.fixture(scope="module")
def engine(tiny_sd1_dir):
    from darkroom.models.engine import load_engine
    from darkroom.models.registry import Registry

    return load_engine(Registry(Settings(home=Path(tiny_sd1_dir).parent / "home")).resolve(str(tiny_sd1_dir)),
                       dtype="float32")


def run(engine, **generate):
    from darkroom.develop.runner import Run, develop

    return develop(Run(engine, recipe(engine.entry.name, **generate), load_input=None))[-1]


# ---------------------------------------------------------------------------- precision
def test_bf16_hardware_probe_agrees_with_the_cpu_flags():
    flags = Path("/proc/cpuinfo").read_text().split() if Path("/proc/cpuinfo").is_file() else None
    if flags is None:
        pytest.skip("no /proc/cpuinfo")
    assert cpu_has_bf16() == bool({"avx512_bf16", "amx_bf16"} & set(flags))
    assert resolve_dtype("auto", torch.device("cpu")) == (torch.bfloat16 if cpu_prefers_bf16() else torch.float32)
    assert resolve_dtype("auto", torch.device("cuda")) == torch.float16


def test_auto_takes_bf16_only_where_it_measured_faster(monkeypatch):
    import darkroom.models.engine as engine_module

    real_conv = torch.nn.Conv2d.forward

    def conv(slow):
        def forward(self, x):
            if x.dtype == slow:
                time.sleep(0.02)
            return real_conv(self, x)
        return forward

    monkeypatch.setattr(engine_module, "cpu_has_bf16", lambda: True)
    for slow, expected in ((torch.bfloat16, False), (torch.float32, True)):
        engine_module.cpu_prefers_bf16.cache_clear()
        monkeypatch.setattr(torch.nn.Conv2d, "forward", conv(slow))
        assert engine_module.cpu_prefers_bf16() is expected
    engine_module.cpu_prefers_bf16.cache_clear()
    monkeypatch.setattr(engine_module, "cpu_has_bf16", lambda: False)
    assert engine_module.cpu_prefers_bf16() is False  # emulated bf16: not even measured
    engine_module.cpu_prefers_bf16.cache_clear()


def test_a_recipe_runs_in_the_dtype_its_runtime_records_unless_one_is_set():
    cpu_bf16, cuda_fp16 = Runtime(device="cpu", dtype="bfloat16"), Runtime(device="cuda:0", dtype="float16")
    assert dtype_for_recipe(Settings(dtype="auto", device="cpu"), cpu_bf16) == "bfloat16"
    assert dtype_for_recipe(Settings(dtype="float32", device="cpu"), cpu_bf16) == "float32"  # the user's choice
    assert dtype_for_recipe(Settings(dtype="auto", device="cpu"), cuda_fp16) == "auto"  # made elsewhere
    assert dtype_for_recipe(Settings(dtype="auto", device="cpu"), None) == "auto"
    assert dtype_for_recipe(Settings(dtype="auto", device="cpu"), Runtime(device="no such", dtype="x")) == "auto"


def test_a_bf16_picture_records_its_dtype_and_replays_bit_for_bit(tiny_model, tmp_path):
    made = recipe(tiny_model, steps=2).model_copy(update={"runtime": Runtime(device="cpu", dtype="bfloat16")})
    with Studio(settings=Settings(dtype="auto")) as studio:  # "auto" runs a recipe in the dtype it records
        picture = studio.run(made, out_dir=tmp_path)[-1]
        assert picture.recipe.runtime.dtype == "bfloat16"
        assert studio.replay(picture.path)["identical"]


# ---------------------------------------------------------------------------- feature cache
def test_feature_cache_skips_the_deep_blocks_between_full_calls(engine):
    unet = engine.components["unet"]
    calls = []
    hook = unet.up_blocks[0].register_forward_hook(lambda *_: calls.append(1))
    try:
        view = cached_unet(unet, 3)
        x, t = torch.randn(2, 4, 16, 16, generator=torch.Generator().manual_seed(0)), torch.tensor(500)
        context = torch.randn(2, 77, unet.config.cross_attention_dim, generator=torch.Generator().manual_seed(1))
        with torch.no_grad():
            plain = unet(x, t, context).sample
            outs = [view(x, t, context).sample for _ in range(6)]
    finally:
        hook.remove()
    assert len(calls) == 1 + 2  # the plain call, then calls 0 and 3 of the view
    assert torch.equal(outs[0], plain) and torch.equal(outs[1], outs[2])
    assert view.down_blocks is not unet.down_blocks and all(type(m).__name__ != "_Deep" for m in unet.modules())


def test_feature_cache_is_recorded_replays_exactly_and_leaves_the_engine_alone(engine):
    before = pixels(run(engine, steps=4))
    cached = run(engine, steps=4, feature_cache=2)
    assert cached.recipe.steps[0].feature_cache == 2
    again = run(engine, **cached.recipe.steps[0].model_dump(exclude={"op", "prompt"}))
    assert np.array_equal(pixels(cached), pixels(again))
    assert not np.array_equal(pixels(cached), before)
    assert np.array_equal(pixels(run(engine, steps=4)), before)  # the shared UNet was not changed


def test_a_hires_pass_inherits_the_feature_cache():
    from darkroom.develop.passes import inherit
    from darkroom.develop.recipe import HiresStep

    first = recipe("m", feature_cache=3).steps[0]
    assert inherit(HiresStep(), [first], 1, 0).feature_cache == 3
    assert inherit(HiresStep(feature_cache=0), [first], 1, 0).feature_cache == 0


@pytest.mark.parametrize("value", [-1, 11, 2.5, "x"])
def test_feature_cache_out_of_range_is_refused(value):
    with pytest.raises(InvalidParameter, match="feature_cache"):
        recipe("m", feature_cache=value)


# ---------------------------------------------------------------------------- LCM, preset
def test_lcm_runs_few_steps_at_low_cfg_and_refuses_long_schedules(engine):
    for steps, cfg in ((2, 1.0), (4, 1.5)):
        picture = run(engine, sampler="LCM", steps=steps, cfg=cfg)
        assert picture.image.size == (32, 32) and pixels(picture).std() > 0
    with pytest.raises(InvalidParameter, match="LCM sampler makes at most 50 steps"):
        run(engine, sampler="LCM", steps=60)


def test_the_fast_preset_fills_in_only_what_the_user_left_empty():
    from darkroom.cli.generate import build_recipe

    parser = build_parser()
    fast = build_recipe(parser.parse_args(["generate", "a cat", "--preset", "fast"]), "m")
    assert (fast.steps[0].feature_cache, fast.steps[0].token_merge, fast.steps[0].cfg_until) == (3, 0.5, 0.5)
    mine = build_recipe(parser.parse_args(["generate", "a cat", "--preset", "fast", "--feature-cache", "0",
                                           "--token-merge", "0", "--quantize", "off", "--cfg-until", "1"]), "m")
    assert (mine.steps[0].feature_cache, mine.steps[0].token_merge, mine.steps[0].quantize,
            mine.steps[0].cfg_until) == (0, 0, "off", 1.0)
    args = parser.parse_args(["generate", "a cat", "--dtype", "bfloat16"])
    assert args.precision == "bfloat16"
    with pytest.raises(SystemExit):
        parser.parse_args(["generate", "a cat", "--preset", "slow"])


def test_the_fast_preset_quantizes_only_where_int8_kernels_run():
    from darkroom.develop.presets import apply_preset

    assert apply_preset("fast", {}, Settings(device="cpu", dtype="float32"))["quantize"] == "int8"
    assert "quantize" not in apply_preset("fast", {}, Settings(device="cpu", dtype="bfloat16"))
    with pytest.raises(InvalidParameter, match="unknown preset 'slow'"):
        apply_preset("slow", {})


# ---------------------------------------------------------------------------- tiling
def test_big_pictures_are_decoded_in_tiles_by_default(engine, monkeypatch):
    from darkroom.develop import latents as latent_io

    assert latent_io.TILE_ABOVE == 1536 * 1536
    monkeypatch.setattr(latent_io, "TILE_ABOVE", 64 * 64)  # the tiny VAE's tiles are 32 pixels
    big = torch.randn(1, 4, 48, 48, generator=torch.Generator().manual_seed(0))  # 96x96 pixels
    auto = np.asarray(latent_io.decode(engine, big))
    assert np.array_equal(auto, np.asarray(latent_io.decode(engine, big, tiled=True)))
    assert not np.array_equal(auto, np.asarray(latent_io.decode(engine, big, tiled=False)))
    small = big[..., :32, :32]  # 64x64: not above the limit
    assert np.array_equal(np.asarray(latent_io.decode(engine, small)),
                          np.asarray(latent_io.decode(engine, small, tiled=False)))
