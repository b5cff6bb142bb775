"""Lesson 3, guidance: one seed at CFG 1 to 12, and the prompt-following rate per CFG measured by the
checker over a few dozen seeds (darkroom-mini), against clipped pixels (the price of high CFG)."""

from __future__ import annotations

import numpy as np

from darkroom.learn import checks
from darkroom.learn.plots import Plot

CFGS = (1.0, 2.0, 3.0, 5.0, 7.0, 12.0)
SAMPLER = "DPM++ 2M"


def run(lab) -> None:
    cfgs = lab.pick(CFGS, (1.0, 7.0))
    steps, seed = lab.pick(8, 3), int(lab.options.get("seed", 5))
    scene = checks.scenes(seed, 1)[0] if lab.mini else None
    prompt = lab.options.get("prompt") or (checks.prompt(scene) if lab.mini else "a red apple on a wooden table")
    row = lab.figure("row", "pictures", columns=len(cfgs))
    lab.generate_all(row, [(f"CFG {cfg:g}", scene, {"prompt": prompt, "seed": seed, "steps": steps, "cfg": cfg,
                                                    "sampler": SAMPLER}) for cfg in cfgs])
    if not lab.mini:
        return
    scenes, per_scene = checks.scenes(seed + 1, lab.pick(4, 1)), lab.pick(4, 2)
    recipes = [lab.recipe({"op": "generate", "prompt": checks.prompt(sc), "seed": 1000 + i * 100, "steps": steps,
                           "cfg": cfg, "sampler": SAMPLER, "batch_size": per_scene})
               for cfg in cfgs for i, sc in enumerate(scenes)]
    made = lab.measure(recipes)  # every CFG's jobs queued at once
    follow, everything, clipped, low, high = [], [], [], [], []
    for k, cfg in enumerate(cfgs):
        images = made[k * len(scenes):(k + 1) * len(scenes)]
        scores = [checks.score(image, sc) for pictures, sc in zip(images, scenes) for image in pictures]
        rate = checks.rates(scores)
        interval = checks.interval(sum(all(s.values()) for s in scores), len(scores))
        follow.append(rate["mean"])
        everything.append(rate["all"])
        low.append(interval[0])
        high.append(interval[1])
        clipped.append(round(float(np.mean([clipped_share(i) for pictures in images for i in pictures])), 3))
        lab.numbers[f"CFG {cfg:g}"] = {**rate, "all: 95% interval": list(interval), "clipped pixels": clipped[-1],
                                       "images": len(scores)}
    plot = lab.figure("plot", "plot", images=len(scenes) * per_scene)
    series_all = lab.t("series_all")
    lab.plot(plot, Plot(lab.t("plot_title"), "CFG", lab.t("plot_y"),
                        {lab.t("series_mean"): (list(cfgs), follow), series_all: (list(cfgs), everything),
                         lab.t("series_clipped"): (list(cfgs), clipped)}, bands={series_all: (low, high)}))


def clipped_share(image) -> float:
    """The share of pixel values at 0 or 255: colours pushed past what can be shown."""
    a = np.asarray(image.convert("RGB"))
    return float(((a == 0) | (a == 255)).mean())
