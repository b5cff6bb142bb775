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

Steps 3-4 (`repaint`) are shared with the outpaint step. The zones are declared here too.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Literal, Union

from pydantic import Field

from darkroom.develop.fields import MAX_SIDE, ImageRef, ImageStep, MaskBlur, Side, StepModel, choice, param
from darkroom.develop.img2img import source_image
from darkroom.errors import ImageError

if TYPE_CHECKING:
    import numpy as np
    from PIL import Image

    from darkroom.develop.context import Frame, RunContext


def _detector_names() -> list[str]:
    from darkroom.models.detectors import DETECTORS  # registers the detectors that ship

    return sorted(DETECTORS)


Detector = choice("detector", _detector_names)
MaskedContent = Literal["original", "fill", "latent noise", "latent nothing"]
InpaintArea = Literal["whole", "masked"]


class BoxZone(StepModel):
    kind: Literal["box"] = "box"
    x: int = param(ge=0, le=MAX_SIDE, en="Left edge in pixels.", de="Linker Rand in Pixeln.")
    y: int = param(ge=0, le=MAX_SIDE, en="Top edge in pixels.", de="Oberer Rand in Pixeln.")
    width: int = param(ge=1, le=MAX_SIDE, en="Width in pixels.", de="Breite in Pixeln.")
    height: int = param(ge=1, le=MAX_SIDE, en="Height in pixels.", de="Höhe in Pixeln.")


class EllipseZone(BoxZone):
    kind: Literal["ellipse"] = "ellipse"  # the ellipse inscribed in the box


class MaskZone(StepModel):
    kind: Literal["mask"] = "mask"
    image: ImageRef = param(en="Mask picture (white = repaint) as sha256:HEX or a file path; same size as the "
                            "image.",
                            de="Maskenbild (weiß = neu malen) als sha256:HEX oder Dateipfad; gleiche Größe wie das "
                            "Bild.")


class DetectZone(StepModel):
    kind: Literal["detect"] = "detect"
    detector: Detector = param("face", en="Detector name (darkroom.models.detectors): face, ...",
                               de="Name des Detektors (darkroom.models.detectors): face, ...")
    index: int | None = param(0, ge=0, le=63, en="Which detection, largest first; empty: all of them.",
                              de="Welcher Fund, größter zuerst; leer: alle.")


ZONE_TYPES = (BoxZone, EllipseZone, MaskZone, DetectZone)
Zone = Annotated[Union[ZONE_TYPES], Field(discriminator="kind")]


class InpaintStep(ImageStep):
    """Inpaint a zone: repaint what the mask covers, keep every other pixel exactly."""

    op: Literal["inpaint"] = "inpaint"
    zone: Zone = param(en="What to repaint: box, ellipse, mask picture or a detected zone (face).",
                       de="Was neu gemalt wird: Rechteck, Ellipse, Maskenbild oder erkannte Zone (Gesicht).")
    mask_blur: MaskBlur = param(4, en="Gaussian blur of the mask edge in pixels.",
                                de="Weichzeichnung der Maskenkante in Pixeln.")
    mask_grow: int = param(0, ge=-64, le=64, en="Grow (dilate, >0) or shrink (erode, <0) the mask in pixels.",
                           de="Maske vergrößern (>0) oder verkleinern (<0), in Pixeln.")
    masked_content: MaskedContent = param(
        "original", en="What the zone starts from: the original, a fill of its surroundings, noise or nothing.",
        de="Womit die Zone beginnt: Original, Füllung aus der Umgebung, Rauschen oder nichts.")
    inpaint_area: InpaintArea = param(
        "whole", en="Repaint at the whole picture's size, or only the masked region upscaled to the model's size.",
        de="In voller Bildgröße neu malen oder nur den maskierten Ausschnitt, vergrößert auf die Modellgröße.")
    padding: int = param(32, ge=0, le=256, en="Only masked: context pixels around the zone.",
                         de="Nur maskiert: Pixel Kontext um die Zone.")
    width: Side | None = param(None, en="Only masked: processing width; empty: native size.",
                               de="Nur maskiert: Arbeitsbreite; leer: native Größe.")
    height: Side | None = param(None, en="Only masked: processing height; empty: native size.",
                                de="Nur maskiert: Arbeitshöhe; leer: native Größe.")
    color_correction: bool = param(False, en="Match the zone's colours to its unmasked surroundings.",
                                   de="Farben der Zone an die unmaskierte Umgebung angleichen.")


def prepare_mask(ctx: RunContext, image: Image.Image, step: InpaintStep) -> tuple[np.ndarray, np.ndarray]:
    """(hard, soft): the zone grown or shrunk, and that blurred."""
    from darkroom.develop import masks

    hard = masks.grow(masks.zone_mask(step.zone, image, ctx.load_input), step.mask_grow)
    if hard.max() == 0:
        raise ImageError(f"the mask is empty after shrinking it by {-step.mask_grow} pixels; shrink it less")
    return hard, masks.blur(hard, step.mask_blur)


def region_and_size(step: InpaintStep, soft: np.ndarray, native: int
                    ) -> tuple[tuple[int, int, int, int], tuple[int, int]]:
    """(x1, y1, x2, y2) of the part that is repainted, and the size it is repainted at."""
    from darkroom.develop import masks
    from darkroom.develop.images import round8

    height, width = soft.shape
    if step.inpaint_area == "whole":
        return (0, 0, width, height), (round8(width), round8(height))
    size = (step.width or native, step.height or native)
    box = masks.crop_region(soft, step.padding)
    return masks.expand_to_ratio(box, *size, width, height), size


def run_inpaint(ctx: RunContext, frame: Frame | None, step: InpaintStep, index: int = 0) -> Frame:
    from darkroom.develop import masks
    from darkroom.develop.context import Frame
    from darkroom.develop.passes import check_runs_steps

    source = source_image(ctx, frame, step.image, index).convert("RGB")
    hard, soft = prepare_mask(ctx, source, step)
    check_runs_steps(index, step.steps, step.denoise)
    if step.denoise == 0:
        return Frame(image=source, latents=None)
    region, size = region_and_size(step, soft, ctx.engine.native_size)
    painted = repaint(ctx, step, source, soft, region, size, step.masked_content)
    if step.color_correction:
        painted = masks.color_correct(painted, source, hard, ring_width=max(4, 2 * step.mask_blur))
    return Frame(image=masks.composite(source, painted, soft), latents=None)


def repaint(ctx: RunContext, step: ImageStep, source: Image.Image, soft: np.ndarray,
            region: tuple[int, int, int, int], size: tuple[int, int], masked_content: str = "original") -> Image.Image:
    """`source` with `region` repainted at `size` where the soft mask asks for it (steps 3-4), not yet laid
    over the source. The pass (prompt, seed, sampler, CFG, steps, denoise) is the resolved `step`'s."""
    import numpy as np
    import torch
    from PIL import Image

    from darkroom.develop import masks
    from darkroom.develop.denoise import Pass, denoise, speed
    from darkroom.develop.generate import noise_generator
    from darkroom.develop.latents import decode, encode, encode_tensor, pixels_to_tensor, wants_tiling

    engine = ctx.engine
    proc_w, proc_h = size
    crop = source.crop(region)
    crop_mask = Image.fromarray(soft).crop(region)
    if crop.size != (proc_w, proc_h):
        crop = crop.resize((proc_w, proc_h), Image.LANCZOS)
        crop_mask = crop_mask.resize((proc_w, proc_h), Image.LANCZOS)
    tiled = wants_tiling("auto", proc_w, proc_h)
    start = masks.fill(crop, crop_mask) if masked_content == "fill" else crop
    latents = encode(engine, start, tiled)
    generator = noise_generator(step.seed)
    latent_mask = (torch.nn.functional.interpolate(
        torch.from_numpy(np.asarray(crop_mask, np.float32) / 255.0)[None, None],
        size=latents.shape[2:]) >= 0.5).to(latents.device, latents.dtype)
    if masked_content == "latent noise":
        noise = torch.randn(latents.shape, generator=generator, dtype=torch.float32).to(latents.device, latents.dtype)
        latents = latents * (1 - latent_mask) + noise * latent_mask
    elif masked_content == "latent nothing":
        latents = latents * (1 - latent_mask)
    if engine.unet_in_channels == 9:
        pixels = pixels_to_tensor(engine, crop)
        keep = torch.from_numpy(np.asarray(crop_mask, np.float32) / 255.0 < 0.5)[None, None]
        masked_latents = encode_tensor(engine, pixels * keep, tiled)
    else:
        masked_latents = latents  # unused by a 4-channel UNet; spares the pipeline a pixel-space path
    latents = denoise(engine, Pass(
        "inpaint", sampler=step.sampler, steps=step.steps, cfg=step.cfg,
        embeds=ctx.encode(step.prompt, step.negative_prompt, step.clip_skip), generator=generator,
        width=proc_w, height=proc_h, latents=latents, strength=step.denoise, mask=crop_mask,
        masked_latents=masked_latents, **speed(step)), ctx.observe)
    painted = decode(engine, latents, tiled)
    x1, y1, x2, y2 = region
    if painted.size != (x2 - x1, y2 - y1):
        painted = painted.resize((x2 - x1, y2 - y1), Image.LANCZOS)
    full = source.copy()
    full.paste(painted, (x1, y1))
    return full


def inpaint_infotext(step: InpaintStep, base) -> dict:
    """As A1111's inpaint tab writes it; Size is the processing size for "Only masked" when one is set
    (else the picture's, filled in by the runner)."""
    masked = step.inpaint_area == "masked"
    return {"Size": f"{step.width}x{step.height}" if masked and step.width and step.height else None,
            "Denoising strength": step.denoise, "Mask blur": step.mask_blur,
            "Masked content": step.masked_content if step.masked_content != "original" else None,
            "Inpaint area": "Only masked" if masked else None, "Masked area padding": step.padding if masked else None}
