"""The `outpaint` step: extend the canvas, then paint the new border so it continues the picture.

1. Canvas: the picture with `left`, `right`, `top`, `bottom` pixels added (multiples of 8, so
   the size stays one). The new border is filled from the picture's edge, as A1111's
   outpainting scripts and Fooocus do: the edge pixels are stretched outwards, then blurred
   from wide to narrow with the old pixels put back after each pass (a soft continuation of
   the edge colours, not streaks), optionally with seeded noise on top.
2. Mask: the new border plus `overlap` pixels into the old picture on every extended side,
   blurred by `mask_blur` (the new border itself is always fully repainted).
3. Repaint with the inpaint step's pass (`inpaint.repaint`, whole picture) and lay the result
   over the canvas with the blurred mask as alpha: where it is 0 the old pixels stay bit for bit.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import model_validator

from darkroom.develop.fields import MAX_PIXELS, MAX_SIDE, Denoise, ImageStep, MaskBlur, multiple_of_8, param
from darkroom.develop.img2img import source_image
from darkroom.errors import InvalidParameter

if TYPE_CHECKING:
    import numpy as np
    from PIL import Image

    from darkroom.develop.context import Frame, RunContext

Border = multiple_of_8(0, MAX_SIDE)
SIDES = ("left", "right", "top", "bottom")


class OutpaintStep(ImageStep):
    """Outpaint: extend the picture on any side and paint what lies beyond its edges."""

    op: Literal["outpaint"] = "outpaint"
    left: Border = param(0, en="Pixels added on the left (multiple of 8).",
                         de="Links hinzugefügte Pixel (Vielfaches von 8).")
    right: Border = param(0, en="Pixels added on the right (multiple of 8).",
                          de="Rechts hinzugefügte Pixel (Vielfaches von 8).")
    top: Border = param(0, en="Pixels added at the top (multiple of 8).",
                        de="Oben hinzugefügte Pixel (Vielfaches von 8).")
    bottom: Border = param(0, en="Pixels added at the bottom (multiple of 8).",
                           de="Unten hinzugefügte Pixel (Vielfaches von 8).")
    overlap: int = param(8, ge=0, le=256, en="How far the repainted zone reaches into the old picture, in pixels.",
                         de="Wie weit die neu gemalte Zone ins alte Bild hineinreicht, in Pixeln.")
    mask_blur: MaskBlur = param(4, en="Gaussian blur of the mask edge in the old picture, in pixels.",
                                de="Weichzeichnung der Maskenkante im alten Bild, in Pixeln.")
    fill_noise: float = param(0.0, ge=0.0, le=1.0, en="Seeded noise on the edge fill the border starts from: 0 none, "
                              "1 strong.",
                              de="Rauschen (aus dem Startwert) auf der Randfüllung, von der der Rand ausgeht: 0 keins, "
                              "1 stark.")
    denoise: Denoise = param(0.8, en="Denoising strength in the border: 1 paints it anew, lower keeps more of the "
                             "edge fill.",
                             de="Entrauschungsstärke im Rand: 1 malt ihn ganz neu, weniger behält mehr von der "
                             "Randfüllung.")

    @model_validator(mode="after")
    def _extends_something(self):
        if not any(getattr(self, side) for side in SIDES):
            raise ValueError("left, right, top and bottom are all 0; extend at least one side (a multiple of 8)")
        return self


def canvas_size(step: OutpaintStep, width: int, height: int, index: int = 0) -> tuple[int, int]:
    size = (width + step.left + step.right, height + step.top + step.bottom)
    if max(size) > MAX_SIDE or size[0] * size[1] > MAX_PIXELS:
        sides = "left/right" if size[0] > MAX_SIDE else "top/bottom" if size[1] > MAX_SIDE else "left/right/top/bottom"
        raise InvalidParameter(f"steps[{index}].{sides}: outpainting {width}x{height} to {size[0]}x{size[1]} is beyond "
                               f"the limit of {MAX_SIDE} pixels a side and {MAX_PIXELS} pixels in all; extend less")
    return size


def edge_fill(source: Image.Image, step: OutpaintStep) -> tuple[Image.Image, np.ndarray]:
    """(canvas, new): the extended picture with its border filled from the edge, and where the border is."""
    import numpy as np
    from PIL import Image, ImageFilter

    pixels = np.asarray(source.convert("RGB"))
    canvas = np.pad(pixels, ((step.top, step.bottom), (step.left, step.right), (0, 0)), mode="edge")
    new = np.ones(canvas.shape[:2], bool)
    new[step.top:step.top + source.height, step.left:step.left + source.width] = False
    old = Image.fromarray(canvas)
    keep = Image.fromarray(np.where(new, 0, 255).astype(np.uint8))
    filled = old
    radius = max(getattr(step, side) for side in SIDES) // 2
    while radius >= 1:
        filled = filled.filter(ImageFilter.BoxBlur(radius))
        filled.paste(old, mask=keep)
        radius //= 2
    canvas = np.asarray(filled).astype(np.float64)
    if step.fill_noise > 0:
        noise = np.random.default_rng(step.seed).normal(0.0, 64.0 * step.fill_noise, canvas.shape)
        canvas[new] += noise[new]
    return Image.fromarray(np.clip(np.round(canvas), 0, 255).astype(np.uint8)), new


def border_mask(step: OutpaintStep, new: np.ndarray) -> np.ndarray:
    """The soft mask: the new border plus `overlap` pixels into the old picture, blurred; 255 on the new border."""
    import numpy as np

    from darkroom.develop import masks

    height, width = new.shape
    x1 = step.left + (step.overlap if step.left else 0)
    y1 = step.top + (step.overlap if step.top else 0)
    x2 = max(x1, width - step.right - (step.overlap if step.right else 0))
    y2 = max(y1, height - step.bottom - (step.overlap if step.bottom else 0))
    hard = np.full((height, width), 255, np.uint8)
    hard[y1:y2, x1:x2] = 0
    return np.maximum(masks.blur(hard, step.mask_blur), np.where(new, 255, 0).astype(np.uint8))


def run_outpaint(ctx: RunContext, frame: Frame | None, step: OutpaintStep, index: int = 0) -> Frame:
    from darkroom.develop import masks
    from darkroom.develop.context import Frame
    from darkroom.develop.images import round8
    from darkroom.develop.inpaint import repaint
    from darkroom.develop.passes import check_runs_steps

    source = source_image(ctx, frame, step.image, index).convert("RGB")
    width, height = canvas_size(step, *source.size, index)
    check_runs_steps(index, step.steps, step.denoise)
    canvas, new = edge_fill(source, step)
    if step.denoise == 0:
        return Frame(image=canvas, latents=None)
    soft = border_mask(step, new)
    painted = repaint(ctx, step, canvas, soft, (0, 0, width, height), (round8(width), round8(height)))
    return Frame(image=masks.composite(canvas, painted, soft), latents=None)


def outpaint_infotext(step: OutpaintStep, base) -> dict:
    return {"Denoising strength": step.denoise, "Mask blur": step.mask_blur,
            "Outpaint": ", ".join(f"{side} {getattr(step, side)}" for side in SIDES),
            "Outpaint overlap": step.overlap, "Outpaint noise": step.fill_noise or None}
