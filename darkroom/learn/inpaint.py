"""Lesson 7, inpainting is development: repair the zone that came out wrong with its own prompt;
before/after, what the mask blur does to the edge, and "only masked" (the zone at full resolution)."""

from __future__ import annotations

import numpy as np
from PIL import Image

from darkroom.learn import checks
from darkroom.learn.hires import find_wrong, raw_step
from darkroom.learn.lab import Shot

BLURS = (0, 4, 12)


def zone_box(scene, size: int = 64) -> dict:
    """A box around the scene's object, with a margin of 6 pixels."""
    obj = scene.objects[0]
    (cx, cy), half = obj.center, obj.extent / 2 + 6
    x0, y0 = max(0, int(cx - half)), max(0, int(cy - half))
    x1, y1 = min(size, int(np.ceil(cx + half))), min(size, int(np.ceil(cy + half)))
    return {"kind": "box", "x": x0, "y": y0, "width": x1 - x0, "height": y1 - y0}


def centred(scene) -> str:
    """The zone's own prompt for "only masked": the zone is cut out and upscaled, so its object is large and
    in the center of what the model sees."""
    obj = scene.objects[0]
    return f"a large {obj.color} {obj.shape} in the center, {scene.background} background"


def changes(before: Image.Image, after: Image.Image) -> Image.Image:
    """Where the pixels changed (white: most), so the effective, blurred mask can be seen."""
    diff = np.abs(np.asarray(after, np.int16) - np.asarray(before.resize(after.size), np.int16)).max(axis=2)
    return Image.fromarray(np.clip(diff * 4, 0, 255).astype(np.uint8)).convert("RGB")


def run(lab) -> None:
    if lab.mini:
        cases = find_wrong(lab, lab.pick(3, 1), lab.pick(30, 6), seed=37)
        if not cases:
            lab.numbers["note"] = "no raw came out wrong among the seeds tried"
            return
    else:
        cases = [(None, int(lab.options.get("seed", 9)), [])]
    repaired, outside = [], []
    for n, (scene, seed, wrong) in enumerate(cases):
        prompt = checks.prompt(scene) if scene else lab.options.get("prompt") or "a bowl of fruit on a table"
        raw = lab.generate(None, "raw", scene=scene, prompt=prompt, seed=seed, **raw_step(lab))
        size = raw.image.width
        zone = zone_box(scene, size) if scene else {"kind": "box", "x": size // 4, "y": size // 4,
                                                    "width": size // 2, "height": size // 2}
        zone_prompt = centred(scene) if scene else lab.options.get("zone_prompt") or "a ripe red apple"
        pair = lab.figure("before_after", "pictures", columns=2, n=n + 1, wrong=", ".join(map(lab.term, wrong)) or "-")
        lab.add(pair, raw)
        inpaint = {"op": "inpaint", "image": f"sha256:{raw.sha256}", "zone": zone, "prompt": zone_prompt,
                   "seed": seed + 1, "denoise": 0.9, "steps": lab.pick(14, 4), "cfg": 5.0, "sampler": "DPM++ 2M",
                   "mask_blur": 4, "inpaint_area": "masked", "padding": 4}
        after = inpainted(lab, pair, "after", scene, inpaint)
        if scene is not None:
            repaired.append(all(after.reading["right"][a] for a in wrong))
            outside.append(outside_change(raw.image, after.image, zone))
        if n > 0:
            continue
        blur = lab.figure("blur", "pictures", columns=2 * len(lab.pick(BLURS, (4,))))
        for radius in lab.pick(BLURS, (4,)):
            shot = inpainted(lab, blur, f"blur {radius}", scene, {**inpaint, "mask_blur": radius})
            lab.add(blur, Shot(f"blur {radius}: changed", changes(raw.image, shot.image)))
        area = lab.figure("area", "pictures", columns=4)
        whole = {**inpaint, "inpaint_area": "whole", "prompt": prompt}
        for kind, step in (("whole", whole), ("masked", inpaint)):
            shot = inpainted(lab, area, kind, scene, step)
            lab.add(area, Shot(f"{kind}: changed", changes(raw.image, shot.image)))
    if scene is not None:
        lab.numbers.update({"raws": [{"prompt": checks.prompt(s), "seed": seed, "wrong": w} for s, seed, w in cases],
                            "error repaired": f"{sum(repaired)} of {len(repaired)}",
                            "largest change outside the zone (0..255)": max(outside)})


def inpainted(lab, figure, label: str, scene, step: dict) -> Shot:
    pictures, _ = lab.run(lab.recipe(step))
    shot = lab.shot(pictures[-1], label)
    if scene is not None:
        shot.reading = checks.reading(shot.image, scene)
    return lab.add(figure, shot)


def outside_change(before: Image.Image, after: Image.Image, zone: dict, margin: int = 12) -> int:
    """The largest pixel change farther than `margin` from the zone (the blur reaches that far at most)."""
    diff = np.abs(np.asarray(after, np.int16) - np.asarray(before, np.int16)).max(axis=2)
    keep = np.ones(diff.shape, bool)
    keep[max(0, zone["y"] - margin):zone["y"] + zone["height"] + margin,
         max(0, zone["x"] - margin):zone["x"] + zone["width"] + margin] = False
    return int(diff[keep].max()) if keep.any() else 0
