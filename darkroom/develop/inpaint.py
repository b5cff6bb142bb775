"""The `inpaint` step: repaint one zone, keep every other pixel of the input exactly.

1. Mask: the zone (box, ellipse, mask picture, detected face) grown or shrunk, then blurred.
2. Area: the whole picture, or only the masked region plus padding, grown to the processing
   aspect ratio and upscaled to the model's native size (A1111's "only masked").
3. Start: the original, a fill of the surroundings, latent noise or latent nothing.
4. Denoise with diffusers' inpaint pipeline: a 4-channel model blends the known latents
   back outside the mask at every step; a 9-channel inpainting model (detected from the
   UNet's in_channels) gets mask and masked picture as extra input channels.
5. Back: resize to the region, optional colour correction, lay over the input with the
   blurred mask as alpha: where that mask is 0 the input's pixels are kept bit for bit.
"""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image

from darkroom.develop import masks
from darkroom.develop.context import Frame, RunContext
from darkroom.develop.generate import noise_generator
from darkroom.develop.images import round8
from darkroom.develop.img2img import source_image
from darkroom.develop.latents import decode, encode, encode_tensor, pixels_to_tensor, wants_tiling
from darkroom.develop.passes import check_runs_steps
from darkroom.develop.recipe import InpaintStep
from darkroom.develop.samplers import make_scheduler
from darkroom.errors import ImageError


def prepare_mask(ctx: RunContext, image: Image.Image, step: InpaintStep) -> tuple[np.ndarray, np.ndarray]:
    """(hard, soft): the zone grown or shrunk, and that blurred."""
    hard = masks.grow(masks.zone_mask(step.zone, image, ctx.load_input), step.mask_grow)
    if hard.max() == 0:
        raise ImageError(f"the mask is empty after shrinking it by {-step.mask_grow} pixels; shrink it less")
    return hard, masks.blur(hard, step.mask_blur)


def region_and_size(step: InpaintStep, soft: np.ndarray, native: int
                    ) -> tuple[tuple[int, int, int, int], tuple[int, int]]:
    """(x1, y1, x2, y2) of the part that is repainted, and the size it is repainted at."""
    height, width = soft.shape
    if step.inpaint_area == "whole":
        return (0, 0, width, height), (round8(width), round8(height))
    size = (step.width or native, step.height or native)
    box = masks.crop_region(soft, step.padding)
    return masks.expand_to_ratio(box, *size, width, height), size


def run_inpaint(ctx: RunContext, frame: Frame | None, step: InpaintStep, index: int = 0) -> Frame:
    engine = ctx.engine
    source = source_image(ctx, frame, step.image, index).convert("RGB")
    hard, soft = prepare_mask(ctx, source, step)
    check_runs_steps(index, step.steps, step.denoise)
    if step.denoise == 0:
        return Frame(image=source, latents=None)
    region, (proc_w, proc_h) = region_and_size(step, soft, engine.native_size)
    crop = source.crop(region)
    crop_mask = Image.fromarray(soft).crop(region)
    if crop.size != (proc_w, proc_h):
        crop = crop.resize((proc_w, proc_h), Image.LANCZOS)
        crop_mask = crop_mask.resize((proc_w, proc_h), Image.LANCZOS)
    tiled = wants_tiling("auto", proc_w, proc_h)
    start = masks.fill(crop, crop_mask) if step.masked_content == "fill" else crop
    latents = encode(engine, start, tiled)
    generator = noise_generator(step.seed)
    latent_mask = (torch.nn.functional.interpolate(
        torch.from_numpy(np.asarray(crop_mask, np.float32) / 255.0)[None, None],
        size=latents.shape[2:]) >= 0.5).to(latents.device, latents.dtype)
    if step.masked_content == "latent noise":
        noise = torch.randn(latents.shape, generator=generator, dtype=torch.float32).to(latents.device, latents.dtype)
        latents = latents * (1 - latent_mask) + noise * latent_mask
    elif step.masked_content == "latent nothing":
        latents = latents * (1 - latent_mask)
    if engine.unet_in_channels == 9:
        pixels = pixels_to_tensor(engine, crop)
        keep = torch.from_numpy(np.asarray(crop_mask, np.float32) / 255.0 < 0.5)[None, None]
        masked_latents = encode_tensor(engine, pixels * keep, tiled)
    else:
        masked_latents = latents  # unused by a 4-channel UNet; spares the pipeline a pixel-space path
    pipe = engine.pipeline("inpaint")
    pipe.scheduler = make_scheduler(step.sampler, engine.scheduler_config)
    result = pipe(
        **ctx.encode(step.prompt, step.negative_prompt, step.clip_skip),
        image=latents,
        mask_image=crop_mask,
        masked_image_latents=masked_latents,
        height=proc_h,
        width=proc_w,
        strength=step.denoise,
        num_inference_steps=step.steps,
        guidance_scale=step.cfg,
        generator=generator,
        callback_on_step_end=ctx.step_callback(),
        output_type="latent",
    )
    painted = decode(engine, result.images, tiled)
    x1, y1, x2, y2 = region
    if painted.size != (x2 - x1, y2 - y1):
        painted = painted.resize((x2 - x1, y2 - y1), Image.LANCZOS)
    full = source.copy()
    full.paste(painted, (x1, y1))
    if step.color_correction:
        full = masks.color_correct(full, source, hard, ring_width=max(4, 2 * step.mask_blur))
    return Frame(image=masks.composite(source, full, soft), latents=None)
