"""What hires, img2img and inpaint share: inheriting settings, and one img2img denoising pass."""

from __future__ import annotations

import random

import torch

from darkroom.develop.context import RunContext
from darkroom.develop.denoise import Pass, denoise, speed
from darkroom.develop.generate import noise_generator
from darkroom.develop.recipe import MAX_SEED, GenerateStep, PassStep
from darkroom.errors import InvalidParameter

INHERITED = ("prompt", "negative_prompt", "cfg", "sampler", "clip_skip", "feature_cache", "token_merge",
             "quantize", "cfg_until")
_OFF = {"token_merge": 0, "quantize": "off", "cfg_until": 1.0}  # inherited, these stay empty: older recipes keep their JSON
_DEFAULTS = {name: GenerateStep.model_fields[name].default for name in (*INHERITED, "steps") if name != "prompt"}
_DEFAULTS["prompt"] = None


def inherit(step: PassStep, previous: list, index: int, batch_index: int, *, steps_default: int | None = None):
    """`step` with every empty field filled from the previous resolved steps (or the generate defaults).

    seed: empty = the previous step's seed; -1 = random; with a batch, image i adds i to an
    explicit seed, so the variants of a batch stay distinct.
    """
    update = {}
    for name in INHERITED:
        if getattr(step, name) is None:
            update[name] = next((getattr(p, name) for p in reversed(previous) if getattr(p, name, None) is not None),
                                _DEFAULTS[name])
    for name, off in _OFF.items():
        if name in update and update[name] == off:
            del update[name]
    if update.get("prompt") is None and step.prompt is None:
        raise InvalidParameter(f"steps[{index}].prompt: no earlier step has a prompt; give this step one")
    if "steps" in type(step).model_fields and getattr(step, "steps") is None:
        update["steps"] = next((p.steps for p in reversed(previous) if getattr(p, "steps", None)), steps_default
                               or _DEFAULTS["steps"])
    if step.seed is None:
        update["seed"] = next((p.seed for p in reversed(previous) if getattr(p, "seed", None) is not None), None)
        if update["seed"] is None:
            update["seed"] = random.randrange(MAX_SEED)
    elif step.seed == -1:
        update["seed"] = random.randrange(MAX_SEED)
    else:
        update["seed"] = (step.seed + batch_index) % (MAX_SEED + 1)
    return step.model_copy(update=update)


def schedule_for(steps: int, denoise: float) -> int:
    """The schedule length that makes diffusers' img2img run exactly `steps` steps (A1111's hires steps)."""
    if denoise >= 1.0:
        return steps
    total = max(steps, int(steps / denoise))
    while int(total * denoise) < steps:
        total += 1
    return total


def check_runs_steps(index: int, steps: int, denoise: float) -> None:
    if denoise > 0 and int(steps * denoise) < 1:
        raise InvalidParameter(f"steps[{index}]: denoise {denoise} x {steps} steps runs no step at all; "
                               "raise denoise or steps (or use denoise 0 to keep the picture)")


def img2img_latents(ctx: RunContext, latents: torch.Tensor, step, *, strength: float, schedule: int,
                    unet_tile: int = 0) -> torch.Tensor:
    """One img2img pass over `latents`; noise is the first draw from the step's seed."""
    return denoise(ctx.engine, Pass(
        "img2img", sampler=step.sampler, steps=schedule, cfg=step.cfg,
        embeds=ctx.encode(step.prompt, step.negative_prompt, step.clip_skip),
        generator=noise_generator(step.seed), latents=latents, strength=strength, unet_tile=unet_tile,
        **speed(step)), ctx.observe)
