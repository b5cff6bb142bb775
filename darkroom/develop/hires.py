"""The `hires` step (Hi-Res Fix): upscale, then denoise again at the larger size, as A1111 does.

1. Target size: width and height x scale (floored to a multiple of 8), or a resize size
   that keeps the aspect ratio: upscale to cover it, then center-crop.
2. Upscale: latent modes interpolate the latents (torch, with or without antialias);
   pixel modes decode, resize the picture with PIL and encode again.
3. Second pass: diffusers img2img on those latents with `denoise`; the noise is drawn from
   the same seed as the first pass (A1111), and `steps` steps are actually run. Big outputs
   go through the VAE in tiles (latents.py) and through the UNet in tiles (unettiles.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import Field

from darkroom.develop.fields import MAX_PIXELS, MAX_STEPS, Denoise, PassStep, Side, Upscaler, param
from darkroom.develop.upscalers import DEFAULT_UPSCALER, UPSCALERS
from darkroom.errors import InvalidParameter

if TYPE_CHECKING:
    import torch

    from darkroom.develop.context import Frame, RunContext


class HiresStep(PassStep):
    """Hi-Res Fix: upscale the picture, then denoise it again at the larger size."""

    op: Literal["hires"] = "hires"
    scale: float = param(2.0, ge=1.0, le=4.0, en="Upscale factor (ignored when a resize size is given).",
                         de="Vergrößerungsfaktor (ignoriert, wenn eine Zielgröße angegeben ist).")
    resize_width: Side | None = param(None, en="Target width instead of a factor; keeps the aspect ratio, "
                                      "center-crops.",
                                      de="Zielbreite statt Faktor; Seitenverhältnis bleibt, mittig beschnitten.")
    resize_height: Side | None = param(None, en="Target height instead of a factor; keeps the aspect ratio, "
                                       "center-crops.",
                                       de="Zielhöhe statt Faktor; Seitenverhältnis bleibt, mittig beschnitten.")
    upscaler: Upscaler = param(DEFAULT_UPSCALER, en="Upscaler: Latent (...) modes interpolate latents; Lanczos, "
                               "Bicubic, Nearest resize pixels.",
                               de="Vergrößerer: Latent (...) interpoliert Latents; Lanczos, Bicubic, Nearest Pixel.")
    denoise: Denoise = param(0.45, en="Denoising strength of the second pass.",
                             de="Entrauschungsstärke des zweiten Durchgangs.")
    steps: Annotated[int, Field(ge=0, le=MAX_STEPS)] = param(
        0, en="Second-pass steps actually run; 0: as many as the first pass.",
        de="Schritte des zweiten Durchgangs; 0: so viele wie im ersten.")
    vae_tiling: Literal["auto", "on", "off"] = param(
        "auto", en="Decode/encode the VAE in tiles (auto: for outputs above 1536x1536 pixels).",
        de="VAE in Kacheln (de)kodieren (auto: ab 1536x1536 Pixeln).")
    unet_tiling: Literal["auto", "on", "off"] = param(
        "auto", exclude_if=lambda value: value == "auto",  # left out when auto: older recipes keep their hash
        en="Denoise in overlapping tiles of the model's native size (MultiDiffusion; auto: for outputs "
        "above 1536x1536 pixels): memory of one tile, work that grows with the area.",
        de="In überlappenden Kacheln der nativen Modellgröße entrauschen (MultiDiffusion; auto: ab 1536x1536 "
        "Pixeln): Speicher einer Kachel, Aufwand wächst mit der Fläche.")


def target_size(step: HiresStep, width: int, height: int) -> tuple[tuple[int, int], tuple[int, int]]:
    """((upscaled width, height), (final width, height)), all multiples of 8."""
    if step.resize_width or step.resize_height:
        final_w = step.resize_width or max(8, int(step.resize_height * width / height) // 8 * 8)
        final_h = step.resize_height or max(8, int(step.resize_width * height / width) // 8 * 8)
        if final_w / final_h > width / height:  # wider than the source: match widths, crop height
            up = (final_w, -(-int(final_w * height / width) // 8) * 8)
        else:
            up = (-(-int(final_h * width / height) // 8) * 8, final_h)
        up = (max(up[0], final_w), max(up[1], final_h))
    else:
        up = final = (max(8, int(width * step.scale) // 8 * 8), max(8, int(height * step.scale) // 8 * 8))
        return up, final
    return up, (final_w, final_h)


def check_target(index: int, step: HiresStep, width: int, height: int) -> tuple[tuple[int, int], tuple[int, int]]:
    up, final = target_size(step, width, height)
    for w, h in (up, final):
        if w * h > MAX_PIXELS:
            raise InvalidParameter(f"steps[{index}]: hires size {w}x{h} is beyond the limit of {MAX_PIXELS} pixels; "
                                   "use a smaller scale")
    return up, final


def _center_crop_latents(latents: torch.Tensor, width: int, height: int, factor: int) -> torch.Tensor:
    lw, lh = width // factor, height // factor
    top = (latents.shape[2] - lh) // 2
    left = (latents.shape[3] - lw) // 2
    return latents[:, :, top:top + lh, left:left + lw]


def run_hires(ctx: RunContext, frame: Frame, step: HiresStep, index: int = 0) -> Frame:
    import torch
    from PIL import Image

    from darkroom.develop.context import Frame
    from darkroom.develop.latents import decode, encode, wants_tiling
    from darkroom.develop.passes import img2img_latents, schedule_for

    engine = ctx.engine
    if engine.unet_in_channels == 9:
        raise InvalidParameter(f"steps[{index}]: hires fix needs a normal (4-channel) model, "
                               f"{engine.entry.name} is an inpainting model")
    upscaler = UPSCALERS[step.upscaler]
    width, height = frame.image.size
    (up_w, up_h), (final_w, final_h) = check_target(index, step, width, height)
    tiled = wants_tiling(step.vae_tiling, up_w, up_h)
    if upscaler.space == "latent":
        latents = frame.latents if frame.latents is not None else encode(engine, frame.image, tiled)
        factor = width // latents.shape[3]
        latents = torch.nn.functional.interpolate(
            latents, size=(up_h // factor, up_w // factor), mode=upscaler.mode, antialias=upscaler.antialias)
        latents = _center_crop_latents(latents, final_w, final_h, factor)
    else:
        picture = frame.image.resize((up_w, up_h), getattr(Image, upscaler.mode))
        left, top = (up_w - final_w) // 2, (up_h - final_h) // 2
        picture = picture.crop((left, top, left + final_w, top + final_h))
        if step.denoise == 0:
            return Frame(image=picture, latents=None)
        latents = encode(engine, picture, tiled)
        factor = final_w // latents.shape[3]
    if step.denoise > 0:
        tile = engine.native_size // factor if wants_tiling(step.unet_tiling, final_w, final_h) else 0
        latents = img2img_latents(ctx, latents, step, strength=step.denoise,
                                  schedule=schedule_for(step.steps, step.denoise), unet_tile=tile)
    return Frame(image=decode(engine, latents, tiled), latents=latents)


def hires_infotext(step: HiresStep, base) -> dict:
    """A1111's hires fields over `base` (the pass it upscales); prompt, negative prompt, sampler and CFG
    only where they differ from it. A1111's hires fix reuses the first pass's seed and has no field for
    another one: `Hires seed` says it when it differs. After an img2img-type pass (which has a denoising
    strength of its own) the hires one is `Hires denoising strength`."""
    resized = bool(step.resize_width or step.resize_height)
    own_denoise = getattr(base, "denoise", None) is not None
    return {
        "Hires denoising strength" if own_denoise else "Denoising strength": step.denoise,
        "Hires upscale": None if resized else step.scale,
        "Hires resize": f"{step.resize_width or 0}x{step.resize_height or 0}" if resized else None,
        "Hires steps": step.steps,
        "Hires upscaler": step.upscaler,
        "Hires prompt": step.prompt if step.prompt != base.prompt else None,
        "Hires negative prompt": step.negative_prompt
        if (step.negative_prompt or "") != (base.negative_prompt or "") else None,
        "Hires sampler": step.sampler if step.sampler != base.sampler else None,
        "Hires CFG Scale": step.cfg if step.cfg != base.cfg else None,
        "Hires seed": step.seed if step.seed is not None and step.seed != base.seed else None,
    }
