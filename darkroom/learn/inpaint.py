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
    prompts = [checks.prompt(scene) if scene else lab.options.get("prompt") or "a bowl of fruit on a table"
               for scene, _, _ in cases]
    pairs = [lab.figure("before_after", "pictures", columns=2, n=n + 1, wrong=", ".join(map(lab.term, wrong)) or "-")
             for n, (_, _, wrong) in enumerate(cases)]
    raw_runs = [(lab.recipe({"op": "generate", "prompt": prompt, "seed": seed, **raw_step(lab)}), None)
                for prompt, (_, seed, _) in zip(prompts, cases)]
    raws = [lab.show(pair, pictures[-1], "raw", scene)
            for pair, (scene, _, _), (pictures, _) in zip(pairs, cases, lab.run_all(raw_runs))]
    steps = [inpaint_step(lab, raw, scene, seed) for raw, (scene, seed, _) in zip(raws, cases)]
    blurs = lab.pick(BLURS, (4,))
    blur, area = lab.figure("blur", "pictures", columns=2 * len(blurs)), lab.figure("area", "pictures", columns=4)
    extras = [(blur, f"blur {radius}", {**steps[0], "mask_blur": radius}) for radius in blurs]
    extras += [(area, "whole", {**steps[0], "inpaint_area": "whole", "prompt": prompts[0]}), (area, "masked", steps[0])]
    # each case repaired, then the first one's blurs and inpaint areas that differ from its repair: queued at once
    others = [step for _, _, step in extras if step != steps[0]]
    made = lab.run_all([(lab.recipe(step), None) for step in steps + others])
    repaired, outside, first = [], [], None
    for pair, (scene, _, wrong), raw, step, (pictures, _) in zip(pairs, cases, raws, steps, made):
        after = lab.show(pair, pictures[-1], "after", scene)
        first = first or pictures[-1]
        if scene is not None:
            repaired.append(all(after.reading["right"][a] for a in wrong))
            outside.append(outside_change(raw.image, after.image, step["zone"]))
    for figure, label, step in extras:
        picture = first if step == steps[0] else next(made)[0][-1]
        shot = lab.show(figure, picture, label, cases[0][0])
        lab.add(figure, Shot(f"{label}: changed", changes(raws[0].image, shot.image)))
    if cases[0][0] is not None:
        lab.numbers.update({"raws": [{"prompt": checks.prompt(s), "seed": seed, "wrong": w} for s, seed, w in cases],
                            "error repaired": f"{sum(repaired)} of {len(repaired)}",
                            "largest change outside the zone (0..255)": max(outside)})


def inpaint_step(lab, raw: Shot, scene, seed: int) -> dict:
    """The repair of `raw`: its object's zone repainted with the zone's own prompt."""
    size = raw.image.width
    zone = zone_box(scene, size) if scene else {"kind": "box", "x": size // 4, "y": size // 4,
                                                "width": size // 2, "height": size // 2}
    zone_prompt = centred(scene) if scene else lab.options.get("zone_prompt") or "a ripe red apple"
    return {"op": "inpaint", "image": f"sha256:{raw.sha256}", "zone": zone, "prompt": zone_prompt, "seed": seed + 1,
            "denoise": 0.9, "steps": lab.pick(14, 4), "cfg": 5.0, "sampler": "DPM++ 2M", "mask_blur": 4,
            "inpaint_area": "masked", "padding": 4}


def outside_change(before: Image.Image, after: Image.Image, zone: dict, margin: int = 12) -> int:
    """The largest pixel change farther than `margin` from the zone (the blur reaches that far at most)."""
    diff = np.abs(np.asarray(after, np.int16) - np.asarray(before, np.int16)).max(axis=2)
    keep = np.ones(diff.shape, bool)
    keep[max(0, zone["y"] - margin):zone["y"] + zone["height"] + margin,
         max(0, zone["x"] - margin):zone["x"] + zone["width"] + margin] = False
    return int(diff[keep].max()) if keep.any() else 0
