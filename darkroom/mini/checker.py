"""Pixel-statistics checker: reads a 64x64 image back into scene attributes.

background = colour of the border median; object = pixels far from the background colour;
colour = nearest named colour of the object's median; position = nearest anchor to the
centroid; size = bounding-box extent; shape = best IoU against the four shape templates
fitted to the object's bounding box. Only numpy and PIL; no learned parts.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

from darkroom.mini import world

_PALETTE = np.array([world.COLORS[c] for c in world.COLOR_NAMES], dtype=np.float32)
OBJ_THRESHOLD = 40.0  # minimum RGB distance from the background that counts as "object"
SIZE_THRESHOLD = (world.SIZES["small"] + world.SIZES["large"]) / 2


@dataclass
class Reading:
    background: str
    color: str | None
    position: str | None
    size: str | None
    shape: str | None
    area: int

    def as_dict(self) -> dict:
        return {"background": self.background, "color": self.color, "position": self.position,
                "size": self.size, "shape": self.shape}


def nearest_color(rgb, colors: dict | None = None) -> str:
    """The nearest named colour: of the world's eight, or of `colors` (name -> RGB; e.g. with a colour a LoRA taught)."""
    names = list(colors) if colors else world.COLOR_NAMES
    palette = np.array(list(colors.values()), dtype=np.float32) if colors else _PALETTE
    d = ((palette - np.asarray(rgb, dtype=np.float32)[None]) ** 2).sum(1)
    return names[int(d.argmin())]


def to_array(img) -> np.ndarray:
    if isinstance(img, Image.Image):
        img = img.convert("RGB")
        if img.size != (world.SIZE, world.SIZE):
            img = img.resize((world.SIZE, world.SIZE), Image.BOX)
        return np.asarray(img, dtype=np.float32)
    a = np.asarray(img, dtype=np.float32)
    return a


def border_background(a: np.ndarray) -> np.ndarray:
    border = np.concatenate([a[0], a[-1], a[:, 0], a[:, -1]], 0)
    return np.median(border, 0)


def _denoise(mask: np.ndarray) -> np.ndarray:
    """Drop isolated pixels: keep those with at least 2 of their 8 neighbours set."""
    p = np.pad(mask, 1).astype(np.int8)
    n = sum(p[1 + dy:p.shape[0] - 1 + dy, 1 + dx:p.shape[1] - 1 + dx]
            for dy in (-1, 0, 1) for dx in (-1, 0, 1) if dy or dx)
    return mask & (n >= 2)


def analyze(img, region: tuple[slice, slice] | None = None, background_rgb=None, colors: dict | None = None) -> Reading:
    """Read the attributes of the (main) object of an image.

    ``region`` restricts the object search to part of the image (e.g. the right half);
    coordinates stay those of the full 64x64 image.
    """
    a = to_array(img)
    bg_rgb = border_background(a) if background_rgb is None else np.asarray(background_rgb, np.float32)
    bg = nearest_color(bg_rgb, colors)
    dist = np.sqrt(((a - bg_rgb[None, None]) ** 2).sum(-1))
    if region is not None:
        keep = np.zeros_like(dist, dtype=bool)
        keep[region] = True
        dist = np.where(keep, dist, 0.0)
    # half the contrast of the object against the background (anti-aliased edges count half)
    thr = max(OBJ_THRESHOLD, 0.5 * float(np.percentile(dist, 99.5)))
    mask = dist > thr
    mask = _denoise(mask)
    area = int(mask.sum())
    if area < 12:
        return Reading(bg, None, None, None, None, area)
    ys, xs = np.nonzero(mask)
    color = nearest_color(np.median(a[mask], 0), colors)
    cx, cy = xs.mean() + 0.5, ys.mean() + 0.5
    pos = min(world.POSITIONS, key=lambda p: (world.POSITIONS[p][0] - cx) ** 2 + (world.POSITIONS[p][1] - cy) ** 2)
    x0, x1 = xs.min(), xs.max()
    y0, y1 = ys.min(), ys.max()
    w, h = x1 - x0 + 1, y1 - y0 + 1
    ext = max(w, h)
    size = "small" if ext < SIZE_THRESHOLD else "large"
    bx, by = (x0 + x1 + 1) / 2, (y0 + y1 + 1) / 2
    best, best_iou = None, -1.0
    for s in world.SHAPES:
        t = world.shape_mask(s, bx, by, ext)
        inter = (t & mask).sum()
        union = (t | mask).sum()
        iou = inter / max(union, 1)
        if iou > best_iou:
            best, best_iou = s, iou
    return Reading(bg, color, pos, size, best, area)


def score(reading: Reading, scene: world.Scene, obj_index: int = 0) -> dict[str, bool]:
    """Which attributes of ``scene`` (its object ``obj_index``) the reading got right."""
    o = scene.objects[obj_index]
    return {
        "background": reading.background == scene.background,
        "color": reading.color == o.color,
        "position": reading.position == o.position,
        "size": reading.size == o.size,
        "shape": reading.shape == o.shape,
    }
