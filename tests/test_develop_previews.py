"""Predicted x0 for every sampler, checked against the schedulers' own x0; preview pictures of latents."""

from __future__ import annotations

import copy
import functools
import inspect
import json
import math
import time
from pathlib import Path

import pytest
import torch
from diffusers import DEISMultistepScheduler
from PIL import Image

from darkroom.develop.previews import (APPROX, PreviewPace, approx_rgb, choose_method, preview_image, tiny_vae_rgb,
                                       vae_rgb)
from darkroom.develop.samplers import SAMPLERS, make_scheduler
from darkroom.develop.x0 import predicted_x0, sigma_state

REPO = Path(__file__).resolve().parents[1]
SHAPE = (1, 4, 8, 8)
BASE = torch.randn(SHAPE, generator=torch.Generator().manual_seed(7))


def _config(where: str, **overrides) -> dict:
    path = REPO / "darkroom" / "models" / where / "scheduler" / "scheduler_config.json"
    return {**json.loads(path.read_text()), **overrides}


CONFIGS = {
    "sd1-eps": _config("configs/sd1"),
    "sd1-v": _config("configs/sd1", prediction_type="v_prediction"),
    "sdxl-eps": _config("configs/sdxl"),
    "sdxl-v": _config("configs/sdxl", prediction_type="v_prediction"),
    "mini": _config("mini"),  # v-prediction, zero terminal SNR, trailing spacing
}
MORE = {"mini-eps": _config("mini", prediction_type="epsilon"),
        "sd1-sample": _config("configs/sd1", prediction_type="sample")}
# where the scheduler shows the x0 it computed: step()'s own output, or the solver's history
OWN_X0 = {"EulerDiscreteScheduler", "EulerAncestralDiscreteScheduler", "HeunDiscreteScheduler",
          "KDPM2DiscreteScheduler", "KDPM2AncestralDiscreteScheduler", "LMSDiscreteScheduler", "DDIMScheduler"}
HISTORY_X0 = {"DPMSolverMultistepScheduler", "DPMSolverSinglestepScheduler", "UniPCMultistepScheduler"}


@functools.lru_cache(maxsize=None)
def _built(sampler: str, config: str):
    return make_scheduler(sampler, {**CONFIGS, **MORE}[config])


def _scheduler(sampler: str, config: str):
    """make_scheduler(sampler, config), built once (DPM2 takes half a second to build) and copied."""
    return copy.deepcopy(_built(sampler, config))


def _model(model_input: torch.Tensor, t) -> torch.Tensor:
    """A fixed stand-in for the UNet: a smooth function of its input and timestep."""
    return torch.tanh(0.7 * model_input) + 0.3 * BASE * math.cos(float(t) / 300)


def _step(scheduler, model_output, t, sample, generator):
    """scheduler.step as the pipelines call it: a generator only where step() takes one."""
    extra = {"generator": generator} if "generator" in inspect.signature(scheduler.step).parameters else {}
    return scheduler.step(model_output, t, sample, return_dict=True, **extra)


def _close(a: torch.Tensor, b: torch.Tensor) -> bool:
    return torch.allclose(a.float(), b.float(), rtol=1e-5, atol=1e-5 * (1 + float(b.abs().max())))


def _start(scheduler, start: int):
    """The timesteps from step `start` on, with the begin index set, as the img2img pipelines do."""
    scheduler.set_timesteps(10)
    begin = start * scheduler.order
    if start and hasattr(scheduler, "set_begin_index"):
        scheduler.set_begin_index(begin)
    return scheduler.timesteps[begin:]


def _scheduler_x0(scheduler, out, t, sample):
    """The x0 the scheduler itself used in the step just taken, or None where it keeps none."""
    name = type(scheduler).__name__
    if name in OWN_X0:
        return out.pred_original_sample
    if name == "LCMScheduler":  # denoised = c_out * x0 + c_skip * sample
        c_skip, c_out = scheduler.get_scalings_for_boundary_condition_discrete(t)
        return (out.denoised - c_skip * sample) / c_out
    if name in HISTORY_X0:  # dpmsolver++ / predict_x0 keep the converted x0
        return scheduler.model_outputs[-1]
    return None


@pytest.mark.parametrize("start", [0, 3])
@pytest.mark.parametrize("config", sorted(CONFIGS))
@pytest.mark.parametrize("sampler", list(SAMPLERS))
def test_predicted_x0_matches_the_scheduler(sampler, config, start):
    scheduler = _scheduler(sampler, config)
    timesteps = _start(scheduler, start)
    generator = torch.Generator().manual_seed(0)
    sample = torch.randn(SHAPE, generator=torch.Generator().manual_seed(1)) * scheduler.init_noise_sigma
    compared = 0
    for t in timesteps:
        state = sigma_state(scheduler, t)  # before the pipeline's scale_model_input sets the step index
        model_output = _model(scheduler.scale_model_input(sample, t), t)
        assert sigma_state(scheduler, t) == state
        x0 = predicted_x0(scheduler, model_output, t, sample)
        assert torch.isfinite(x0).all()
        out = _step(scheduler, model_output, t, sample, generator)
        own = _scheduler_x0(scheduler, out, t, sample)
        if own is not None and torch.isfinite(own).all():
            assert _close(x0, own), (t, float((x0 - own).abs().max()))
            compared += 1
        if isinstance(scheduler, DEISMultistepScheduler):  # keeps the converted epsilon: compare there
            alpha, sigma = state
            assert _close((sample - alpha * x0) / sigma, scheduler.model_outputs[-1])
            compared += 1
        after = predicted_x0(scheduler, model_output, t, sample, step_output=out)
        assert _close(after, x0)
        sample = out.prev_sample
    assert compared == (0 if SAMPLERS[sampler].scheduler == "PNDMScheduler" else len(timesteps))


def _true_output(x0: torch.Tensor, eps: torch.Tensor, state, prediction: str) -> torch.Tensor:
    """What a perfect model outputs for sample = alpha * x0 + sigma * eps: eps, or v on the VP-scaled sample."""
    alpha, sigma = state
    return eps if prediction == "epsilon" else (alpha * eps - sigma * x0) / math.hypot(alpha, sigma)


X0 = torch.randn(SHAPE, generator=torch.Generator().manual_seed(2)).clamp(-2, 2)
EPS = torch.randn(SHAPE, generator=torch.Generator().manual_seed(3))


@pytest.mark.parametrize("config", ["sd1-eps", "sd1-v", "sdxl-eps", "sdxl-v"])
@pytest.mark.parametrize("sampler", list(SAMPLERS))
def test_predicted_x0_inverts_the_noising(sampler, config):
    """sample = alpha_t * x0 + sigma_t * eps with the matching eps (or v) gives x0 back, at every step."""
    scheduler = _scheduler(sampler, config)
    prediction = scheduler.config.prediction_type
    scheduler.set_timesteps(10)
    generator = torch.Generator().manual_seed(0)
    sample = torch.randn(SHAPE, generator=torch.Generator().manual_seed(1)) * scheduler.init_noise_sigma
    for t in scheduler.timesteps:
        state = sigma_state(scheduler, t)
        made = state[0] * X0 + state[1] * EPS
        assert torch.allclose(predicted_x0(scheduler, _true_output(X0, EPS, state, prediction), t, made), X0, atol=1e-4)
        model_output = _model(scheduler.scale_model_input(sample, t), t)
        sample = _step(scheduler, model_output, t, sample, generator).prev_sample


def _deterministic(sampler: str) -> bool:
    s = SAMPLERS[sampler]
    noisy = {"EulerAncestralDiscreteScheduler", "KDPM2AncestralDiscreteScheduler", "LCMScheduler"}
    return s.scheduler not in noisy and not s.options.get("algorithm_type", "").startswith("sde")


@pytest.mark.parametrize("config", ["sd1-eps", "sdxl-eps"])
@pytest.mark.parametrize("sampler", [name for name in SAMPLERS if _deterministic(name)])
def test_sigma_state_follows_the_samplers_own_path(sampler, config):
    """Independent of sigma_state: start from diffusers' own add_noise(x0, eps) and feed a model that
    always answers eps; a deterministic sampler then stays on x_t = alpha_t * x0 + sigma_t * eps,
    so x0 comes back at every step only if (alpha_t, sigma_t) are the sample's real noise levels."""
    scheduler = _scheduler(sampler, config)
    scheduler.set_timesteps(10)
    sample = scheduler.add_noise(X0, EPS, scheduler.timesteps[:1])
    for i, t in enumerate(scheduler.timesteps):
        model_output = EPS + 0 * scheduler.scale_model_input(sample, t)
        x0 = predicted_x0(scheduler, model_output, t, sample)
        assert torch.allclose(x0, X0, atol=1e-4), (i, float((x0 - X0).abs().max()))
        sample = scheduler.step(model_output, t, sample, return_dict=True).prev_sample


@pytest.mark.parametrize("sampler", list(SAMPLERS))
def test_zero_terminal_snr_stays_finite(sampler):
    """The mini model's schedule (alpha_t = 0 at the first trailing step), also read as epsilon."""
    for config in ("mini", "mini-eps"):
        scheduler = _scheduler(sampler, config)
        scheduler.set_timesteps(10)
        sample = torch.randn(SHAPE, generator=torch.Generator().manual_seed(1)) * scheduler.init_noise_sigma
        t = scheduler.timesteps[0]
        alpha, sigma = sigma_state(scheduler, t)
        assert math.isfinite(alpha) and math.isfinite(sigma) and sigma > 0
        x0 = predicted_x0(scheduler, _model(scheduler.scale_model_input(sample, t), t), t, sample)
        assert torch.isfinite(x0).all()


def test_zero_snr_ddim_epsilon_falls_back_to_the_floor():
    """DDIM's own x0 is inf at alpha_t = 0; the computed one is used instead."""
    scheduler = _scheduler("DDIM", "mini-eps")
    scheduler.set_timesteps(10)
    t = scheduler.timesteps[0]
    assert sigma_state(scheduler, t) == (0.0, 1.0)
    sample = torch.randn(SHAPE)
    model_output = _model(sample, t)
    out = scheduler.step(model_output, t, sample, return_dict=True)
    assert not torch.isfinite(out.pred_original_sample).all()
    assert torch.isfinite(predicted_x0(scheduler, model_output, t, sample, step_output=out)).all()


def test_sample_prediction_is_the_model_output():
    scheduler = _scheduler("DDIM", "sd1-sample")
    scheduler.set_timesteps(10)
    assert torch.equal(predicted_x0(scheduler, BASE, scheduler.timesteps[0], torch.zeros(SHAPE)), BASE)


# --------------------------------------------------------------------------- previews
def test_approx_coefficients_are_4x3():
    for family in ("sd", "sdxl"):
        assert len(APPROX[family]) == 4 and all(len(row) == 3 for row in APPROX[family])


def test_approx_rgb_size_mode_and_cost():
    latents = torch.randn(1, 4, 48, 64)
    for family in ("sd1", "sdxl", "mini"):
        image = approx_rgb(latents, family)
        assert image.mode == "RGB" and image.size == (64, 48)
    start = time.perf_counter()
    approx_rgb(torch.randn(1, 4, 64, 64), "sd1")
    print(f"approx_rgb of a 64x64 latent: {(time.perf_counter() - start) * 1000:.2f} ms")


def test_approx_rgb_is_the_linear_map():
    latents = torch.zeros(1, 4, 2, 2)
    latents[0, 3] = 1.0  # only the fourth channel: rgb = its coefficient row
    pixel = approx_rgb(latents, "sdxl").getpixel((0, 0))
    expected = tuple(round(min(max((c + 1) / 2, 0), 1) * 255) for c in APPROX["sdxl"][3])
    assert pixel == expected


@functools.lru_cache(maxsize=None)
def _tiny_vae():
    from tinymodels import tiny_components

    return tiny_components("sd1")["vae"]


def test_vae_rgb_leaves_the_vae_alone():
    vae = _tiny_vae()
    before = {k: v.clone() for k, v in vae.state_dict().items()}
    dtype, tiling = vae.dtype, vae.use_tiling
    image = vae_rgb(vae, torch.randn(1, 4, 16, 24), vae.config.scaling_factor)
    assert image.mode == "RGB" and image.size == (48, 32)  # the tiny VAE upsamples 2x
    assert vae.dtype == dtype and vae.use_tiling == tiling
    assert all(torch.equal(before[k], v) for k, v in vae.state_dict().items())
    assert max(vae_rgb(vae, torch.randn(1, 4, 16, 24), 0.18215, max_side=20).size) == 20


@functools.lru_cache(maxsize=None)
def _tiny_taesd():
    from diffusers import AutoencoderTiny

    torch.manual_seed(0)
    return AutoencoderTiny(encoder_block_out_channels=(8,) * 4, decoder_block_out_channels=(8,) * 4,
                           num_encoder_blocks=(1,) * 4, num_decoder_blocks=(1,) * 4).eval()


def test_tiny_vae_rgb():
    taesd = _tiny_taesd()
    image = tiny_vae_rgb(taesd, torch.randn(1, 4, 8, 12))
    assert image.mode == "RGB" and image.size == (96, 64)  # TAESD upsamples 8x
    assert tiny_vae_rgb(taesd, torch.randn(1, 4, 8, 12), max_side=48).size == (48, 32)


def test_preview_image_dispatches():
    latents = torch.randn(1, 4, 8, 8)
    assert preview_image(latents, method="approx", family="sd1").size == (8, 8)
    assert preview_image(latents, method="vae", family="sd1", vae=_tiny_vae()).size == (16, 16)
    assert preview_image(latents, method="taesd", family="sdxl", taesd=_tiny_taesd()).size == (64, 64)
    with pytest.raises(ValueError):
        preview_image(latents, method="vae", family="sd1")
    with pytest.raises(ValueError):
        preview_image(latents, method="nope", family="sd1")
    assert isinstance(preview_image(latents, method="approx", family="sdxl"), Image.Image)


def _vae_of(where: str):
    """A VAE of a shipped config, its weights on the meta device (only the parameter count matters)."""
    from diffusers import AutoencoderKL

    with torch.device("meta"):
        return AutoencoderKL.from_config(AutoencoderKL.load_config(REPO / "darkroom" / "models" / where / "vae"))


def test_choose_method_by_the_decoders_cost():
    mini, sd = _vae_of("mini"), _vae_of("configs/sd1")
    assert choose_method(mini, 16, 16, has_taesd=True) == "vae"  # the 64x64 mini model
    assert choose_method(mini, 32, 32, has_taesd=False) == "vae"
    assert choose_method(mini, 64, 64, has_taesd=True) == "taesd"
    assert choose_method(mini, 64, 64, has_taesd=False) == "approx"
    # SD's 49M-parameter decoder costs more than a UNet step even at 256 px (32x32 latents)
    assert choose_method(sd, 32, 32, has_taesd=False) == "approx"
    assert choose_method(sd, 8, 8, has_taesd=True) == "taesd"


def test_previews_paced_by_time_take_at_most_their_share():
    now = [0.0]
    pace = PreviewPace(interval=0.25, every=0, share=0.1, clock=lambda: now[0])
    assert pace.due(1, 50)  # nothing shown yet
    started = pace.start()
    now[0] += 1.0  # a preview that took a second
    pace.done(started)
    now[0] += 8.9
    assert not pace.due(2, 50)
    now[0] += 0.2  # 9 s of denoising after a 1 s preview: 10 %
    assert pace.due(3, 50)
    assert pace.due(50, 50)  # the last step always shows
    cheap = PreviewPace(interval=0.25, every=0, clock=lambda: now[0])
    cheap.done(cheap.start())
    now[0] += 0.2
    assert not cheap.due(2, 50)  # the interval still holds for cheap previews
    every = PreviewPace(interval=0.25, every=2, clock=lambda: now[0])
    every.done(every.start())
    assert [every.due(step, 5) for step in (2, 3, 4, 5)] == [True, False, True, True]  # as asked
