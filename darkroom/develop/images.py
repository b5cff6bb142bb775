"""Input pictures: size limits and fitting to a multiple of 8 (resize, crop, fill as in A1111)."""

from __future__ import annotations

from PIL import Image

from darkroom.develop.recipe import MAX_PIXELS, MAX_SIDE
from darkroom.errors import ImageError


def check_size(image: Image.Image, what: str = "image") -> Image.Image:
    width, height = image.size
    if width > MAX_SIDE or height > MAX_SIDE or width * height > MAX_PIXELS:
        raise ImageError(f"the {what} is {width}x{height}, beyond the limit of {MAX_SIDE} pixels a side and "
                         f"{MAX_PIXELS} pixels in all; scale it down first")
    if width < 8 or height < 8:
        raise ImageError(f"the {what} is {width}x{height}; it needs at least 8x8 pixels")
    return image


def round8(value: float) -> int:
    return max(8, int(round(value / 8)) * 8)


def fit(image: Image.Image, width: int | None, height: int | None, mode: str = "resize") -> Image.Image:
    """`image` at width x height (default: its own size rounded to a multiple of 8).

    resize: stretch; crop: keep the aspect ratio, scale to cover, center-crop;
    fill: keep the aspect ratio, scale to fit, fill the bands by stretching the edge pixels.
    """
    image = image.convert("RGB")
    width = width or round8(image.width)
    height = height or round8(image.height)
    if (width, height) == image.size:
        return image
    if mode == "resize":
        return image.resize((width, height), Image.LANCZOS)
    ratio, src_ratio = width / height, image.width / image.height
    if mode == "crop":
        if ratio > src_ratio:
            size = (width, max(1, round(width / src_ratio)))
        else:
            size = (max(1, round(height * src_ratio)), height)
        resized = image.resize(size, Image.LANCZOS)
        left, top = (size[0] - width) // 2, (size[1] - height) // 2
        return resized.crop((left, top, left + width, top + height))
    if ratio < src_ratio:
        size = (width, max(1, round(width / src_ratio)))
    else:
        size = (max(1, round(height * src_ratio)), height)
    resized = image.resize(size, Image.LANCZOS)
    out = Image.new("RGB", (width, height))
    left, top = (width - size[0]) // 2, (height - size[1]) // 2
    out.paste(resized, (left, top))
    if top > 0:
        out.paste(resized.crop((0, 0, size[0], 1)).resize((size[0], top)), (left, 0))
        bottom = height - top - size[1]
        if bottom > 0:
            out.paste(resized.crop((0, size[1] - 1, size[0], size[1])).resize((size[0], bottom)), (left, top + size[1]))
    if left > 0:
        out.paste(resized.crop((0, 0, 1, size[1])).resize((left, size[1])), (0, top))
        right = width - left - size[0]
        if right > 0:
            out.paste(resized.crop((size[0] - 1, 0, size[0], size[1])).resize((right, size[1])), (left + size[0], top))
    return out
