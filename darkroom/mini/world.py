"""The synthetic world darkroom-mini draws: 64x64 scenes of simple shapes, with captions.

Everything is deterministic given a ``numpy.random.Generator``. Shapes are drawn at 4x
resolution with PIL and box-downsampled, so edges are anti-aliased like real images.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from PIL import Image, ImageDraw

SIZE = 64
SS = 4  # supersampling factor

COLORS: dict[str, tuple[int, int, int]] = {
    "red": (220, 30, 30),
    "green": (30, 170, 50),
    "blue": (40, 70, 225),
    "yellow": (245, 225, 30),
    "purple": (130, 40, 190),
    "orange": (250, 125, 10),
    "white": (245, 245, 245),
    "black": (20, 20, 20),
}
COLOR_NAMES = list(COLORS)
SHAPES = ["circle", "square", "triangle", "star"]
POSITIONS: dict[str, tuple[float, float]] = {
    "left": (16.0, 32.0),
    "right": (48.0, 32.0),
    "top": (32.0, 16.0),
    "bottom": (32.0, 48.0),
    "center": (32.0, 32.0),
}
POSITION_NAMES = list(POSITIONS)
POSITION_PHRASE = {
    "left": "on the left",
    "right": "on the right",
    "top": "at the top",
    "bottom": "at the bottom",
    "center": "in the center",
}
SIZES = {"small": 14.0, "large": 25.0}  # side of the box the shape fills, in pixels
SIZE_NAMES = list(SIZES)
JITTER = 2.0  # max position jitter in pixels
SIZE_JITTER = 1.5

# colour/shape pairs never drawn in training (generalisation test)
HELDOUT_PAIRS = {("red", "star"), ("green", "triangle"), ("purple", "square"), ("orange", "circle")}

# two-object scenes use opposite sides
PAIRS_OF_POSITIONS = [("left", "right"), ("right", "left"), ("top", "bottom"), ("bottom", "top")]


@dataclass(frozen=True)
class Obj:
    shape: str
    color: str
    size: str
    position: str
    dx: float = 0.0
    dy: float = 0.0
    ds: float = 0.0

    @property
    def center(self) -> tuple[float, float]:
        x, y = POSITIONS[self.position]
        return x + self.dx, y + self.dy

    @property
    def extent(self) -> float:
        return SIZES[self.size] + self.ds


@dataclass(frozen=True)
class Scene:
    background: str
    objects: tuple[Obj, ...] = field(default_factory=tuple)


def shape_polygon(shape: str, cx: float, cy: float, s: float) -> list[tuple[float, float]] | None:
    """Vertices of a shape filling a box of side ``s`` centred at (cx, cy); None for a circle."""
    h = s / 2.0
    if shape == "circle":
        return None
    if shape == "square":
        return [(cx - h, cy - h), (cx + h, cy - h), (cx + h, cy + h), (cx - h, cy + h)]
    if shape == "triangle":
        return [(cx, cy - h), (cx + h, cy + h), (cx - h, cy + h)]
    if shape == "star":
        # five-pointed star, point up, scaled so its bounding box is s x s
        outer, inner = 1.0, 0.45
        pts = []
        for k in range(10):
            r = outer if k % 2 == 0 else inner
            a = -np.pi / 2 + k * np.pi / 5
            pts.append((r * np.cos(a), r * np.sin(a)))
        pts = np.array(pts)
        lo, hi = pts.min(0), pts.max(0)
        pts = (pts - (lo + hi) / 2) / (hi - lo) * s
        return [(cx + x, cy + y) for x, y in pts]
    raise ValueError(shape)


def draw_shape(draw: ImageDraw.ImageDraw, shape: str, cx: float, cy: float, s: float, fill, scale: float = 1.0) -> None:
    cx, cy, s = cx * scale, cy * scale, s * scale
    poly = shape_polygon(shape, cx, cy, s)
    if poly is None:
        h = s / 2.0
        draw.ellipse([cx - h, cy - h, cx + h, cy + h], fill=fill)
    else:
        draw.polygon(poly, fill=fill)


def render(scene: Scene, size: int = SIZE) -> Image.Image:
    """Render a scene as an RGB image of ``size`` x ``size`` (geometry is defined at 64x64)."""
    big = size * SS
    img = Image.new("RGB", (big, big), COLORS[scene.background])
    d = ImageDraw.Draw(img)
    scale = big / SIZE
    for o in scene.objects:
        cx, cy = o.center
        draw_shape(d, o.shape, cx, cy, o.extent, COLORS[o.color], scale)
    return img.resize((size, size), Image.BOX)


def shape_mask(shape: str, cx: float, cy: float, s: float, size: int = SIZE) -> np.ndarray:
    """Boolean mask of a shape (used by the checker's template matching)."""
    img = Image.new("L", (size * SS, size * SS), 0)
    draw_shape(ImageDraw.Draw(img), shape, cx, cy, s, 255, scale=float(SS))
    return np.asarray(img.resize((size, size), Image.BOX)) > 128


def sample_object(rng: np.random.Generator, background: str, position: str, heldout: str = "exclude",
                  size: str | None = None) -> Obj:
    """heldout: 'exclude' (training), 'only' (generalisation test) or 'any'."""
    while True:
        color = COLOR_NAMES[rng.integers(len(COLOR_NAMES))]
        shape = SHAPES[rng.integers(len(SHAPES))]
        if color == background:
            continue
        is_held = (color, shape) in HELDOUT_PAIRS
        if heldout == "exclude" and is_held:
            continue
        if heldout == "only" and not is_held:
            continue
        break
    sz = size or SIZE_NAMES[rng.integers(len(SIZE_NAMES))]
    return Obj(shape, color, sz, position,
               float(rng.uniform(-JITTER, JITTER)), float(rng.uniform(-JITTER, JITTER)),
               float(rng.uniform(-SIZE_JITTER, SIZE_JITTER)))


def sample_scene(rng: np.random.Generator, p_two: float = 0.25, heldout: str = "exclude") -> Scene:
    bg = COLOR_NAMES[rng.integers(len(COLOR_NAMES))]
    if rng.random() < p_two:
        p1, p2 = PAIRS_OF_POSITIONS[rng.integers(len(PAIRS_OF_POSITIONS))]
        o1 = sample_object(rng, bg, p1, heldout)
        o2 = sample_object(rng, bg, p2, heldout)
        return Scene(bg, (o1, o2))
    pos = POSITION_NAMES[rng.integers(len(POSITION_NAMES))]
    return Scene(bg, (sample_object(rng, bg, pos, heldout),))


def object_phrase(o: Obj, size=True, color=True, shape=True, position=True) -> str:
    words = ["a"]
    if size:
        words.append(o.size)
    if color:
        words.append(o.color)
    words.append(o.shape if shape else "shape")
    if position:
        words.append(POSITION_PHRASE[o.position])
    return " ".join(words)


def full_caption(scene: Scene) -> str:
    """Caption naming every attribute, e.g. 'a large red circle on the left, blue background'."""
    return " and ".join(object_phrase(o) for o in scene.objects) + f", {scene.background} background"


def caption(scene: Scene, rng: np.random.Generator, p_drop: float = 0.2) -> str:
    """Caption with parts left out at random, so short prompts work too."""
    parts = []
    for o in scene.objects:
        parts.append(object_phrase(
            o,
            size=rng.random() > p_drop,
            color=rng.random() > p_drop * 0.5,
            shape=rng.random() > p_drop * 0.5,
            position=rng.random() > p_drop,
        ))
    text = " and ".join(parts)
    if rng.random() > p_drop:
        text += f", {scene.background} background"
    return text


VOCAB_WORDS = sorted(set(
    ["a", "and", "shape", "background", "on", "the", "at", "in"]
    + COLOR_NAMES + SHAPES + SIZE_NAMES + POSITION_NAMES
))
