"""What a LoRA did, read by the pixel checker: the new concept learned, and what it cost the old ones.

    table = evaluate_lora("teal.safetensors", "teal", weights=(0.0, 0.5, 1.0), count=24)

Two prompt sets, both drawn by the world generator with fixed seeds: `new` (one object of the
new colour, full captions) and `old` (the scenes the model was trained on). Each set is made at
every LoRA weight (0 = the plain model) with darkroom's own loading path (the file is inspected
and applied as any registered LoRA), 20 steps, CFG 5, the model's own scheduler (Euler a), seed per image; the
checker (with the new colour added to its palette) reads every picture.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from darkroom.mini import checker, world
from darkroom.settings import Settings
from darkroom.train.data import concept_scene, palette

ATTRIBUTES = ("background", "color", "position", "size", "shape")


@dataclass
class Row:
    weight: float
    new_color: float  # share of `new` pictures whose object reads as the new colour
    old: dict[str, float] = field(default_factory=dict)  # attribute -> share right on `old`


def prompt_sets(concept: str, count: int, seed: int) -> dict[str, list[world.Scene]]:
    rng = np.random.default_rng([seed, 16])
    return {"new": [concept_scene(rng, concept) for _ in range(count)],
            "old": [world.sample_scene(rng, p_two=0.0) for _ in range(count)]}


def _images(engine, scenes: list[world.Scene], seed: int, steps: int, batch: int = 8) -> list:
    from darkroom.models.engine import make_scheduler
    from darkroom.prompt.encode import encode_prompt

    images = []
    for start in range(0, len(scenes), batch):
        part = scenes[start:start + batch]
        pipe = engine.view("txt2img", make_scheduler(dict(engine.scheduler_config)))
        embeds = encode_prompt(pipe, [world.full_caption(s) for s in part], "")
        generators = [torch.Generator("cpu").manual_seed(seed + start + i) for i in range(len(part))]
        images += pipe(**embeds, num_inference_steps=steps, guidance_scale=5.0, generator=generators,
                       width=world.SIZE, height=world.SIZE).images
    return images


def evaluate_lora(lora_path: str | Path, concept: str, *, weights=(0.0, 0.5, 1.0), count: int = 24,
                  seed: int = 0, steps: int = 20, settings: Settings | None = None) -> list[Row]:
    """One row per weight: the new colour's accuracy and the old attributes' accuracy."""
    from darkroom.models.engine import load_engine
    from darkroom.models.networks import inspect_network
    from darkroom.models.registry import Registry

    settings = settings or Settings()
    entry = inspect_network(lora_path, settings=settings)
    engine = load_engine(Registry(settings).builtin(), settings=settings)
    sets = prompt_sets(concept, count, seed)
    colors = palette(concept)
    rows = []
    for weight in weights:
        loras = [(entry, weight)] if weight else []
        with engine.adapters.using(loras, [], settings):
            pictures = {name: _images(engine, scenes, seed, steps) for name, scenes in sets.items()}
        new = [checker.analyze(img, colors=colors).color == concept for img in pictures["new"]]
        old = {a: [] for a in ATTRIBUTES}
        for img, scene in zip(pictures["old"], sets["old"]):
            for attribute, right in checker.score(checker.analyze(img, colors=colors), scene).items():
                old[attribute].append(right)
        rows.append(Row(weight, float(np.mean(new)), {a: float(np.mean(v)) for a, v in old.items()}))
    engine.close()
    return rows


def format_table(rows: list[Row], concept: str) -> str:
    head = f"| LoRA weight | {concept} (new colour) | " + " | ".join(f"old {a}" for a in ATTRIBUTES) + " |"
    lines = [head, "|" + "---|" * (2 + len(ATTRIBUTES))]
    for row in rows:
        lines.append(f"| {row.weight:g} | {row.new_color:.3f} | " +
                     " | ".join(f"{row.old[a]:.3f}" for a in ATTRIBUTES) + " |")
    return "\n".join(lines)
