"""Variants: N versions of one step (other seed, denoise or CFG), and a contact sheet to compare them.

The steps before the varied one run once; each variant reuses their picture.
"""

from __future__ import annotations

import math
from dataclasses import replace

from PIL import Image, ImageDraw, ImageFont
from pydantic import ValidationError

from darkroom.develop.context import Frame
from darkroom.develop.recipe import MAX_SEED, GenerateStep, Recipe, describe_errors
from darkroom.develop.runner import Developed, Run, chains_of, resolve_step, run_chain
from darkroom.errors import InvalidParameter

VARY = ("seed", "denoise", "cfg")


def values(base, vary: str, count: int) -> list:
    if vary == "seed":
        return [(base + i) % (MAX_SEED + 1) for i in range(count)]
    if count == 1:
        return [base]
    if vary == "denoise":
        lo, hi = max(0.05, base - 0.3), min(1.0, base + 0.3)
        return [round(lo + (hi - lo) * i / (count - 1), 3) for i in range(count)]
    lo, hi = max(1.0, base - 3.0), min(30.0, base + 3.0)
    return [round(lo + (hi - lo) * i / (count - 1), 2) for i in range(count)]


def check_request(recipe: Recipe, count: int, vary: str, step_index: int | None) -> int:
    """The index of the step to vary; raises for a request that cannot be made."""
    if vary not in VARY:
        raise InvalidParameter(f"--vary {vary!r}: choose one of {', '.join(VARY)}")
    if not 1 <= count <= 64:
        raise InvalidParameter(f"--count {count}: make between 1 and 64 variants")
    k = len(recipe.steps) - 1 if step_index is None else step_index
    if not 0 <= k < len(recipe.steps):
        raise InvalidParameter(f"--step {step_index}: the recipe has steps 0 to {len(recipe.steps) - 1}")
    if vary not in type(recipe.steps[k]).model_fields:
        raise InvalidParameter(f"steps[{k}] ({recipe.steps[k].op}) has no {vary} to vary")
    return k


def make_variants(run: Run, *, count: int, vary: str = "seed", step_index: int | None = None
                  ) -> tuple[list[Developed], list[tuple[str, Developed]]]:
    """(the pictures before the varied step, [(label, variant)]): variants of steps[step_index] (default: the last).

    `run.recipe` is cut after the varied step; its listeners see every step made."""
    k = check_request(run.recipe, count, vary, step_index)
    steps = list(run.recipe.steps[:k + 1])
    if isinstance(steps[0], GenerateStep) and steps[0].batch_size > 1:
        steps[0] = steps[0].model_copy(update={"batch_size": 1})
    run.recipe = run.recipe.model_copy(update={"steps": steps})
    before: list[Developed] = []
    frame = parent = None
    resolved: list = []
    if k > 0:
        before = run_chain(replace(run, recipe=run.recipe.model_copy(update={"steps": steps[:k]})), 0, 1,
                           resolved=chains_of(run.recipe, run.engine)[0])
        parent = before[-1]
        frame = Frame(image=parent.image, latents=parent.latents)
        resolved = list(parent.recipe.steps)
    base = resolve_step(steps[k], resolved, k, 0, frame, run.engine)
    out = []
    for value in values(getattr(base, vary), vary, count):
        try:
            varied = type(base).model_validate({**base.model_dump(), vary: value})
        except ValidationError as err:
            raise InvalidParameter(describe_errors(err)) from None
        made = run_chain(run, 0, 1, resolved=resolved + [varied], frame=frame, parent=parent, begin=k)[-1]
        out.append((f"{vary} {value}", made))
    return before, out


def contact_sheet(images: list[Image.Image], captions: list[str], cell: int = 192) -> Image.Image:
    """A grid of the pictures, each scaled to fit `cell` pixels, with its caption below."""
    cols = math.ceil(math.sqrt(len(images)))
    rows = math.ceil(len(images) / cols)
    caption_h, gap = 18, 6
    sheet = Image.new("RGB", (cols * (cell + gap) + gap, rows * (cell + caption_h + gap) + gap), (24, 24, 24))
    draw = ImageDraw.Draw(sheet)
    font = ImageFont.load_default()
    for i, (image, caption) in enumerate(zip(images, captions)):
        scale = cell / max(image.size)
        size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
        thumb = image.convert("RGB").resize(size, Image.NEAREST if scale >= 1 else Image.LANCZOS)
        x = gap + (i % cols) * (cell + gap)
        y = gap + (i // cols) * (cell + caption_h + gap)
        sheet.paste(thumb, (x + (cell - size[0]) // 2, y + (cell - size[1]) // 2))
        draw.text((x + 2, y + cell + 3), f"{i + 1}: {caption}", fill=(235, 235, 235), font=font)
    return sheet
