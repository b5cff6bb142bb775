"""One denoising pass, for every step: txt2img (generate), img2img (hires, img2img) and inpaint.

The step modules prepare what goes in (embeddings, start latents, mask) and post-process
what comes out; this is the only place a diffusers pipeline is called. Each call takes its
own pipeline view and scheduler (`Engine.view`), so nothing shared is changed and two jobs
can denoise on one engine at once. After every step the run's observer sees a `DenoiseStep`
(step, total, latents, predicted x0); it may raise, e.g. `Cancelled`, which ends the pass at
once: no half-denoised latents come back (diffusers' `interrupt` flag would return them).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Callable, Literal

import torch

from darkroom.develop.samplers import check_steps, make_scheduler
from darkroom.develop.x0 import predicted_x0


@dataclass
class Pass:
    kind: Literal["txt2img", "img2img", "inpaint"]
    sampler: str
    steps: int  # num_inference_steps: the schedule length (img2img runs steps x strength of it)
    cfg: float
    embeds: dict  # prompt embedding kwargs (darkroom.prompt.encode)
    generator: torch.Generator
    width: int | None = None
    height: int | None = None
    latents: torch.Tensor | None = None  # img2img / inpaint: the start (scaled, 4-channel)
    strength: float = 1.0
    mask: object = None  # inpaint: PIL "L" picture, white = repaint
    masked_latents: torch.Tensor | None = None  # inpaint: the masked picture's latents (9-channel UNets)
    feature_cache: int = 0  # run the UNet in full every N-th call, else reuse its deep features (0, 1: off)
    token_merge: float = 0.0  # merge this share of the tokens in the full-resolution self-attentions (ToMe)
    quantize: str = "off"  # "int8": the UNet's Linear layers in int8 (quantize.py)
    unet_tile: int = 0  # run the UNet in overlapping windows of this many latent pixels (0: whole; unettiles.py)
    cfg_until: float = 1.0  # share of the steps with guidance; the rest run the conditional half alone


def speed(step) -> dict:
    """A step's speed options as Pass fields (a pass step's empty ones: off)."""
    return dict(feature_cache=step.feature_cache or 0, token_merge=step.token_merge or 0,
                quantize=step.quantize or "off", cfg_until=step.cfg_until or 1.0)


@dataclass
class DenoiseStep:
    """What the observer sees after each step. `x0()` is computed only when asked for."""

    step: int  # 1-based
    total: int
    latents: torch.Tensor
    x0: Callable[[], torch.Tensor | None]


Observer = Callable[[DenoiseStep], None]


def denoise(engine, p: Pass, observe: Observer | None = None) -> torch.Tensor:
    """Run one pass and return its final latents."""
    check_steps(p.sampler, p.steps)
    scheduler = make_scheduler(p.sampler, engine.scheduler_config)
    pipe = engine.view(p.kind, scheduler)
    if p.quantize == "int8":
        from darkroom.develop.quantize import int8_unet

        pipe.register_modules(unet=int8_unet(pipe.unet))
    if p.token_merge > 0:
        from darkroom.develop.tokenmerge import merged_unet

        pipe.register_modules(unet=merged_unet(pipe.unet, p.token_merge))
    if p.unet_tile:
        from darkroom.develop.unettiles import tiled_unet

        pipe.register_modules(unet=tiled_unet(pipe.unet, p.unet_tile, p.feature_cache))
    elif p.feature_cache > 1:
        from darkroom.develop.featurecache import cached_unet

        pipe.register_modules(unet=cached_unet(pipe.unet, p.feature_cache))
    watch = _Watch(scheduler, observe, p.cfg_until)
    kwargs = dict(**p.embeds, num_inference_steps=p.steps, guidance_scale=p.cfg, generator=p.generator,
                  output_type="latent", callback_on_step_end=watch.step_end)
    if p.cfg_until < 1.0:
        kwargs.update(callback_on_step_end_tensor_inputs=list(pipe._callback_tensor_inputs))
    if p.kind == "txt2img":
        kwargs.update(width=p.width, height=p.height)
    else:
        kwargs.update(image=p.latents, strength=p.strength)
    if p.kind == "inpaint":
        kwargs.update(mask_image=p.mask, masked_image_latents=p.masked_latents, width=p.width, height=p.height)
    return pipe(**kwargs).images


class _Watch:
    """Reports each step to the observer; keeps what predicted x0 needs from the scheduler's last step."""

    def __init__(self, scheduler, observe: Observer | None, cfg_until: float = 1.0):
        self.scheduler, self.observe, self.cfg_until = scheduler, observe, cfg_until
        self.last: tuple | None = None
        if observe is not None:
            self._step = scheduler.step
            # this call's own scheduler instance. The wrapper keeps step's signature: pipelines pass
            # `generator` only to a step that names it, and ancestral samplers draw their noise from it.
            scheduler.step = functools.update_wrapper(functools.partial(_Watch.scheduler_step, self), self._step)

    def scheduler_step(self, model_output, timestep, sample, *args, **kwargs):
        kwargs["return_dict"] = True
        out = self._step(model_output, timestep, sample, *args, **kwargs)
        self.last = (model_output, timestep, sample, out)
        return (out.prev_sample,)

    def x0(self) -> torch.Tensor | None:
        """Asked for in the step-end callback, right after the step it belongs to."""
        if self.last is None:
            return None
        model_output, timestep, sample, out = self.last
        return predicted_x0(self.scheduler, model_output, timestep, sample, step_output=out)

    def step_end(self, pipe, index, timestep, callback_kwargs):
        if self.observe is not None:
            self.observe(DenoiseStep(step=index + 1, total=pipe.num_timesteps, latents=callback_kwargs["latents"],
                                     x0=self.x0))
        if index + 1 == guided_steps(self.cfg_until, pipe.num_timesteps) and pipe.do_classifier_free_guidance:
            callback_kwargs = _without_guidance(pipe, callback_kwargs)
        return callback_kwargs


def guided_steps(cfg_until: float, total: int) -> int:
    """How many of `total` steps run with guidance: at least one."""
    return max(1, round(cfg_until * total))


def _without_guidance(pipe, tensors: dict) -> dict:
    """The remaining steps follow the prompt alone: guidance off, and of every tensor that the
    pipeline doubled for it ([unconditional, conditional]: embeddings, SDXL's added conditions,
    an inpainting mask) the conditional half."""
    pipe._guidance_scale = 0.0
    batch = tensors["latents"].shape[0]
    return {name: t.chunk(2)[1] if isinstance(t, torch.Tensor) and t.shape[:1] == (2 * batch,) else t
            for name, t in tensors.items()}
