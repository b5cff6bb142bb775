"""The `img2img` step: a picture, fitted to a multiple of 8, denoised again from `denoise`.

As in A1111, `steps` x `denoise` steps are run; the noise is the first draw from the seed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from darkroom.develop.fields import ImageStep, Side, param
from darkroom.errors import InvalidParameter

if TYPE_CHECKING:
    from darkroom.develop.context import Frame, RunContext


class Img2ImgStep(ImageStep):
    """img2img: re-imagine a picture, keeping its composition as much as `denoise` allows."""

    op: Literal["img2img"] = "img2img"
    width: Side | None = param(None, en="Output width (multiple of 8); empty: the input's.",
                               de="Ausgabebreite (Vielfaches von 8); leer: die der Eingabe.")
    height: Side | None = param(None, en="Output height (multiple of 8); empty: the input's.",
                                de="Ausgabehöhe (Vielfaches von 8); leer: die der Eingabe.")
    resize_mode: Literal["resize", "crop", "fill"] = param(
        "resize", en="Fitting the input to the size: resize (stretch), crop (keep aspect, center-crop), "
        "fill (keep aspect, pad with stretched edges).",
        de="Anpassen an die Größe: resize (strecken), crop (Seitenverhältnis, mittig beschneiden), "
        "fill (Seitenverhältnis, Ränder auffüllen).")


def source_image(ctx: RunContext, frame: Frame | None, ref: str | None, index: int):
    from darkroom.develop.images import check_size

    if ref is not None:
        return check_size(ctx.load_input(ref).convert("RGB"), "input image")
    if frame is None:
        raise InvalidParameter(f"steps[{index}].image: the first step needs an input image")
    return frame.image


def run_img2img(ctx: RunContext, frame: Frame | None, step: Img2ImgStep, index: int = 0) -> Frame:
    from darkroom.develop.context import Frame
    from darkroom.develop.images import check_size, fit
    from darkroom.develop.latents import decode, encode, wants_tiling
    from darkroom.develop.passes import check_runs_steps, img2img_latents

    engine = ctx.engine
    if engine.unet_in_channels == 9:
        raise InvalidParameter(f"steps[{index}]: img2img needs a normal (4-channel) model, "
                               f"{engine.entry.name} is an inpainting model; use an inpaint step")
    picture = fit(source_image(ctx, frame, step.image, index), step.width, step.height, step.resize_mode)
    check_size(picture, "output")
    check_runs_steps(index, step.steps, step.denoise)
    tiled = wants_tiling("auto", *picture.size)
    latents = encode(engine, picture, tiled)
    if step.denoise == 0:
        return Frame(image=picture, latents=latents)
    latents = img2img_latents(ctx, latents, step, strength=step.denoise, schedule=step.steps)
    return Frame(image=decode(engine, latents, tiled), latents=latents)


def img2img_infotext(step: Img2ImgStep, base) -> dict:
    """As A1111's img2img tab writes it (its own steps, seed and size come from the step itself)."""
    size = f"{step.width}x{step.height}" if step.width and step.height else None
    return {"Size": size, "Denoising strength": step.denoise}
