"""Masks for inpainting: from a zone to the 8-bit mask, then grow, blur, crop, paste back.

A mask is a uint8 array (H, W): 255 repaints, 0 keeps. The *hard* mask is the zone
(grown or shrunk); the *soft* mask is the hard one blurred, and it is the alpha with
which the repainted picture is laid over the input: wherever the soft mask is 0 the
result is the input, bit for bit.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from darkroom.develop.recipe import BoxZone, DetectZone, EllipseZone, MaskZone
from darkroom.errors import ImageError


class ZoneNotFound(ImageError):
    """A detector found nothing to repaint."""


def zone_mask(zone, image: Image.Image, load_input: Callable[[str], Image.Image]) -> np.ndarray:
    width, height = image.size
    if isinstance(zone, (BoxZone, EllipseZone)):
        if zone.x >= width or zone.y >= height:
            raise ImageError(f"the {zone.kind} at {zone.x},{zone.y} lies outside the {width}x{height} image")
        canvas = Image.new("L", (width, height), 0)
        draw = ImageDraw.Draw(canvas)
        box = (zone.x, zone.y, zone.x + zone.width - 1, zone.y + zone.height - 1)
        if zone.kind == "box":
            draw.rectangle(box, fill=255)
        else:
            draw.ellipse(box, fill=255)
        mask = np.asarray(canvas).copy()
    elif isinstance(zone, MaskZone):
        picture = load_input(zone.image)
        if picture.size != image.size:
            raise ImageError(f"the mask is {picture.width}x{picture.height} but the image is {width}x{height}; "
                             "make the mask the same size as the image")
        if picture.mode in ("RGBA", "LA") and np.asarray(picture.getchannel("A")).min() < 255:
            picture = picture.getchannel("A")  # a transparent-brush mask: painted where opaque
        mask = np.asarray(picture.convert("L")).copy()
    elif isinstance(zone, DetectZone):
        from darkroom.models.detectors import detect

        found = detect(zone.detector, image)
        if not found:
            raise ZoneNotFound(f"no {zone.detector} found in the {width}x{height} image; give the zone as a box, "
                               "ellipse or mask instead")
        if zone.index is not None and zone.index >= len(found):
            raise ZoneNotFound(f"{zone.detector} #{zone.index} asked for, but only {len(found)} found "
                               f"(index 0 to {len(found) - 1})")
        picked = found if zone.index is None else [found[zone.index]]
        mask = np.maximum.reduce([d.mask for d in picked])
    else:  # pragma: no cover - the recipe schema admits no other zone
        raise ImageError(f"unknown zone {zone!r}")
    if mask.max() == 0:
        raise ImageError("the mask is empty (nothing is white), so there is nothing to repaint; paint the zone white")
    return mask


def grow(mask: np.ndarray, pixels: int) -> np.ndarray:
    """Dilate (pixels > 0) or erode (pixels < 0) with a round brush."""
    if pixels == 0:
        return mask
    import cv2

    size = 2 * abs(pixels) + 1
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size))
    op = cv2.dilate if pixels > 0 else cv2.erode
    return op(mask, kernel, borderType=cv2.BORDER_CONSTANT, borderValue=0)


def blur(mask: np.ndarray, radius: int) -> np.ndarray:
    if radius <= 0:
        return mask
    return np.asarray(Image.fromarray(mask).filter(ImageFilter.GaussianBlur(radius))).copy()


def crop_region(mask: np.ndarray, padding: int) -> tuple[int, int, int, int]:
    """Bounding box (x1, y1, x2, y2) of the mask, grown by `padding`, within the picture."""
    ys, xs = np.nonzero(mask)
    height, width = mask.shape
    return (max(int(xs.min()) - padding, 0), max(int(ys.min()) - padding, 0),
            min(int(xs.max()) + 1 + padding, width), min(int(ys.max()) + 1 + padding, height))


def expand_to_ratio(box, target_w: int, target_h: int, width: int, height: int) -> tuple[int, int, int, int]:
    """Grow the region to the processing aspect ratio, staying inside the picture (A1111's expand_crop_region)."""
    x1, y1, x2, y2 = box
    ratio = target_w / target_h
    if (x2 - x1) / (y2 - y1) > ratio:
        grow_by = int(round((x2 - x1) / ratio)) - (y2 - y1)
        y1, y2 = _spread(y1, y2, grow_by, height)
    else:
        grow_by = int(round((y2 - y1) * ratio)) - (x2 - x1)
        x1, x2 = _spread(x1, x2, grow_by, width)
    return x1, y1, x2, y2


def _spread(lo: int, hi: int, amount: int, limit: int) -> tuple[int, int]:
    lo -= amount // 2
    hi += amount - amount // 2
    if hi > limit:
        lo -= hi - limit
        hi = limit
    if lo < 0:
        hi -= lo
        lo = 0
    return lo, min(hi, limit)


def fill(image: Image.Image, mask: Image.Image) -> Image.Image:
    """A1111's 'fill': the zone takes the blurred colours of its surroundings."""
    canvas = Image.new("RGBA", image.size)
    masked = Image.new("RGBa", image.size)
    masked.paste(image.convert("RGBA").convert("RGBa"), mask=Image.eval(mask.convert("L"), lambda v: 255 - v))
    for radius, repeats in [(256, 1), (64, 1), (16, 2), (4, 4), (2, 2), (0, 1)]:
        blurred = masked.filter(ImageFilter.GaussianBlur(radius)).convert("RGBA")
        for _ in range(repeats):
            canvas.alpha_composite(blurred)
    return canvas.convert("RGB")


def surroundings(hard: np.ndarray, width: int) -> np.ndarray:
    """Boolean ring of `width` pixels just outside the hard mask."""
    return (grow(hard, width) > 0) & (hard == 0)


def color_correct(generated: Image.Image, original: Image.Image, hard: np.ndarray, ring_width: int) -> Image.Image:
    """Shift each channel of `generated` so that its unmasked surroundings match the original's on average.

    The repainted zone continues the VAE's version of its surroundings, whose colours can be
    off; the mean offset measured on the ring just outside the zone is that colour shift,
    and it is taken out. (Only the offset: scaling the spread as well amplifies noise.)
    """
    ring = surroundings(hard, ring_width)
    if ring.sum() < 16:
        return generated
    gen = np.asarray(generated.convert("RGB"), dtype=np.float64)
    ref = np.asarray(original.convert("RGB"), dtype=np.float64)
    offset = ref[ring].mean(axis=0) - gen[ring].mean(axis=0)
    return Image.fromarray(np.clip(np.round(gen + offset), 0, 255).astype(np.uint8))


def composite(original: Image.Image, generated: Image.Image, soft: np.ndarray) -> Image.Image:
    """generated over original with alpha = soft mask; exactly the original where the mask is 0."""
    base = np.asarray(original.convert("RGB"))
    top = np.asarray(generated.convert("RGB"))
    alpha = soft.astype(np.float64)[..., None] / 255.0
    mixed = np.round(base * (1.0 - alpha) + top * alpha).astype(np.uint8)
    out = np.where(soft[..., None] == 0, base, mixed)
    return Image.fromarray(out)


def seam_error(original: Image.Image, result: Image.Image, hard: np.ndarray, band: int = 3) -> float:
    """Mean absolute difference (0-255) between result and original within `band` pixels of the zone's edge.

    On a smooth input a seamless repaint continues its surroundings, so this is small; a
    colour shift of the repainted zone shows up as a large value.
    """
    outside = surroundings(hard, band)
    inside = (hard > 0) & (grow(255 - hard, band) > 0)
    edge = outside | inside
    diff = np.abs(np.asarray(result.convert("RGB"), np.float64) - np.asarray(original.convert("RGB"), np.float64))
    return float(diff[edge].mean())
