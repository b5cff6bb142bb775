"""Lesson 1, from noise to image: x_t and the predicted x0 at every step of one run, for two samplers,
and how far the prediction still is from the final picture at each step."""

from __future__ import annotations

import numpy as np

from darkroom.learn.plots import Plot

SAMPLERS = ("Euler a", "DDIM")


def run(lab) -> None:
    prompt, seed = lab.options.get("prompt") or default_prompt(lab), int(lab.options.get("seed", 7))
    steps = lab.pick(20, 4)
    strips = [lab.figure(key, "filmstrip", sampler=sampler) for key, sampler in zip(("strip", "strip2"), SAMPLERS)]
    runs = [(lab.recipe({"op": "generate", "prompt": prompt, "seed": seed, "steps": steps, "cfg": 5.0,
                         "sampler": sampler}), strip) for strip, sampler in zip(strips, SAMPLERS)]
    distances = {}
    for strip, sampler, (pictures, _) in zip(strips, SAMPLERS, lab.run_all(runs, previews=True)):
        final = lab.show(strip, pictures[-1], sampler)
        distances[sampler] = [distance(frame["x0"], final.image) for frame in strip.frames]
        lab.numbers[f"frames captured ({sampler})"] = f"{len(strip.frames)} of {steps}"
    settle = lab.figure("settle", "plot")
    lab.plot(settle, Plot(lab.t("plot_title"), lab.t("plot_x"), lab.t("plot_y"),
                          {name: (list(range(1, len(d) + 1)), d) for name, d in distances.items()}))
    for name, d in distances.items():
        lab.numbers[f"x0 to final, mean abs /255 at step 1, {name}"] = d[0] if d else None
        lab.numbers[f"step from which x0 stays within 10/255 of the final, {name}"] = settled(d, 10)


def distance(preview, final) -> float | None:
    """Mean absolute difference in 0..255 between a preview and the final picture (at the preview's size)."""
    if preview is None:
        return None
    a = np.asarray(preview.convert("RGB"), dtype=np.float32)
    b = np.asarray(final.convert("RGB").resize(preview.size), dtype=np.float32)
    return round(float(np.abs(a - b).mean()), 2)


def settled(distances: list, limit: float) -> int | None:
    """The first step from which every later prediction is within `limit` of the final picture."""
    for i in range(len(distances)):
        if all(v is not None and v <= limit for v in distances[i:]):
            return i + 1
    return None


def default_prompt(lab) -> str:
    return "a large red circle on the left, blue background" if lab.mini else \
        "a lighthouse on a cliff above the sea, evening light"
