"""What a LoRA learns from: scenes of the mini world with a new concept, or a folder of captioned pictures.

A concept is a colour word the mini model never saw (`teal`, `pink`, `brown`): scenes are drawn
as the world generator draws them (`darkroom.mini.world`: same shapes, positions, sizes, jitter
and captions), with the new colour in place of a known one. A folder holds pictures with a caption
each, kohya-style: `cat.png` + `cat.txt`. Everything is deterministic by seed.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from darkroom.errors import ImageError, InvalidParameter
from darkroom.mini import world

NEW_COLORS = {"teal": (0, 128, 128), "pink": (250, 140, 200), "brown": (120, 70, 25)}
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp")
MAX_FOLDER_IMAGES = 5000


@dataclass
class Example:
    image: Image.Image  # 64x64 RGB
    caption: str


def palette(extra: str | None = None) -> dict[str, tuple[int, int, int]]:
    colors = dict(world.COLORS)
    if extra:
        colors[extra] = NEW_COLORS[extra]
    return colors


def render(scene: world.Scene, colors: dict[str, tuple[int, int, int]], size: int = world.SIZE) -> Image.Image:
    """world.render with a palette that may hold a new colour."""
    big = size * world.SS
    img = Image.new("RGB", (big, big), colors[scene.background])
    draw = ImageDraw.Draw(img)
    for obj in scene.objects:
        cx, cy = obj.center
        world.draw_shape(draw, obj.shape, cx, cy, obj.extent, colors[obj.color], big / world.SIZE)
    return img.resize((size, size), Image.BOX)


def concept_scene(rng: np.random.Generator, concept: str) -> world.Scene:
    """One object of the concept's colour, anywhere the world puts objects, on a known background."""
    scene = world.sample_scene(rng, p_two=0.0, heldout="any")
    return replace(scene, objects=tuple(replace(o, color=concept) for o in scene.objects))


def concept_examples(concept: str, count: int, seed: int, prior: float = 0.5) -> list[Example]:
    """`count` examples: a share `prior` of plain world scenes (what the model knows, so it keeps
    knowing it), the rest the new colour. Captions drop parts at random, as in training."""
    if concept not in NEW_COLORS:
        raise InvalidParameter(f"unknown concept {concept!r}; teach one of {', '.join(NEW_COLORS)}, "
                               "or give a folder of pictures with captions")
    rng = np.random.default_rng([seed, 14])
    colors = palette(concept)
    out = []
    for index in range(count):
        known = index < round(count * prior)
        scene = world.sample_scene(rng, p_two=0.0) if known else concept_scene(rng, concept)
        out.append(Example(render(scene, colors), world.caption(scene, rng, p_drop=0.15)))
    return out


def folder_examples(folder: Path, size: int = world.SIZE) -> list[Example]:
    """Every picture of `folder` with its caption (`NAME.txt` beside `NAME.png`), resized to `size`."""
    from darkroom.userfiles import FileRefused, open_image, read_file

    folder = Path(folder).expanduser()
    pictures = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
    if not pictures:
        raise ImageError(f"{folder} holds no pictures ({', '.join(IMAGE_SUFFIXES)}) to train on")
    if len(pictures) > MAX_FOLDER_IMAGES:
        raise ImageError(f"{folder} holds {len(pictures)} pictures; train on at most {MAX_FOLDER_IMAGES}")
    out = []
    for path in pictures:
        caption_file = path.with_suffix(".txt")
        if not caption_file.is_file():
            raise ImageError(f"{path.name} has no caption: write what it shows into {caption_file.name}")
        try:
            caption = read_file(caption_file, "caption", limit=64 * 1024).decode("utf-8").strip()
            image = open_image(read_file(path, "picture"), f"picture {path.name}")
        except FileRefused as err:
            raise ImageError(str(err)) from None
        except UnicodeDecodeError:
            raise ImageError(f"{caption_file.name} is not UTF-8 text") from None
        with image:
            out.append(Example(image.convert("RGB").resize((size, size), Image.LANCZOS), caption))
    return out
