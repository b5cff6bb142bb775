"""The `generate` step: txt2img, one denoising run per image.

Each image of a batch is computed on its own from its own seed, so it can be replayed
alone, bit for bit; the initial noise always comes from a CPU generator, so a seed
means the same noise on every device.
"""

from __future__ import annotations

import random

import torch

from darkroom.develop.context import Frame, RunContext
from darkroom.develop.latents import decode
from darkroom.develop.recipe import MAX_PIXELS, MAX_SEED, GenerateStep
from darkroom.develop.samplers import make_scheduler
from darkroom.errors import InvalidParameter


def resolve(step: GenerateStep, native_size: int) -> GenerateStep:
    """The step with seed and size made concrete."""
    width = step.width or native_size
    height = step.height or native_size
    if width * height > MAX_PIXELS:
        raise InvalidParameter(
            f"size {width}x{height} is beyond the limit of {MAX_PIXELS} pixels; "
            "generate smaller and use the hires step to upscale"
        )
    seed = step.seed if step.seed >= 0 else random.randrange(MAX_SEED)
    return step.model_copy(update={"width": width, "height": height, "seed": seed})


def image_steps(step: GenerateStep) -> list[GenerateStep]:
    """A resolved batch split into one single-image step per seed."""
    return [
        step.model_copy(update={"seed": (step.seed + i) % (MAX_SEED + 1), "batch_size": 1})
        for i in range(step.batch_size)
    ]


def noise_generator(seed: int) -> torch.Generator:
    return torch.Generator("cpu").manual_seed(seed)


def run_generate(ctx: RunContext, step: GenerateStep) -> Frame:
    """Make the image (and its latents, for a latent hires fix) of one resolved, single-image step."""
    pipe = ctx.engine.pipeline("txt2img")
    pipe.scheduler = make_scheduler(step.sampler, ctx.engine.scheduler_config)
    embeds = ctx.encode(step.prompt, step.negative_prompt, step.clip_skip)
    result = pipe(
        **embeds,
        num_inference_steps=step.steps,
        guidance_scale=step.cfg,
        width=step.width,
        height=step.height,
        generator=noise_generator(step.seed),
        callback_on_step_end=ctx.step_callback(),
        output_type="latent",
    )
    return Frame(image=decode(ctx.engine, result.images), latents=result.images)
