"""Lesson 6, Hi-Res Fix sharpens, it does not repair: a raw whose object came out wrong, hires-fixed at
denoise 0.2 to 0.8. The checker measures per denoise how many attributes of the raw were kept and how
often the error was repaired (darkroom-mini)."""

from __future__ import annotations

import numpy as np

from darkroom.learn import checks
from darkroom.learn.plots import Plot

RAW = {"steps": 12, "cfg": 5.0, "sampler": "DPM++ 2M"}


def raw_step(lab) -> dict:
    return {**RAW, "steps": lab.pick(RAW["steps"], 4)}


def find_wrong(lab, count: int, tries: int, seed: int = 21) -> list[tuple]:
    """Up to `count` (scene, seed, wrong attributes) whose raw the checker reads wrong (not the background)."""
    found = []
    for i, scene in enumerate(checks.scenes(seed, tries)):
        raw_seed = seed * 1000 + i
        image = lab.images(lab.recipe({"op": "generate", "prompt": checks.prompt(scene), "seed": raw_seed,
                                            **raw_step(lab)}))[0]
        wrong = checks.wrong(image, scene)
        if wrong and "background" not in wrong:
            found.append((scene, raw_seed, wrong))
        if len(found) == count:
            break
    return found


def run(lab) -> None:
    count = lab.pick(7, 3)
    if lab.mini:
        cases = find_wrong(lab, lab.pick(3, 1), lab.pick(30, 6))
        if not cases:
            lab.numbers["note"] = "no raw came out wrong among the seeds tried"
            return
    else:
        cases = [(None, int(lab.options.get("seed", 4)), [])]
    kept, repaired, denoises = [], [], []
    for n, (scene, seed, wrong) in enumerate(cases):
        prompt = checks.prompt(scene) if scene else lab.options.get("prompt") or "a castle on a hill, oil painting"
        recipe = lab.recipe({"op": "generate", "prompt": prompt, "seed": seed, **raw_step(lab)},
                            {"op": "hires", "scale": 2.0, "denoise": 0.5, "steps": lab.pick(8, 2)})
        raw, variants = lab.variants(recipe, count=count, vary="denoise", step_index=1)
        row = lab.figure("row", "pictures", columns=count + 1, n=n + 1, wrong=", ".join(map(lab.term, wrong)) or "-")
        denoises = [float(label.split()[-1]) for label, _ in variants]
        raw_shot, *shots = [lab.shot(raw, "raw")] + [lab.shot(picture, label) for label, picture in variants]
        if scene is not None:
            for shot in (raw_shot, *shots):
                shot.reading = checks.reading(shot.image, scene)
            kept.append([np.mean([s.reading[a] == raw_shot.reading[a] for a in checks.ATTRIBUTES]) for s in shots])
            repaired.append([all(s.reading["right"][a] for a in wrong) for s in shots])
        for shot in (raw_shot, *shots):
            lab.add(row, shot)
    if not lab.mini:
        return
    kept_rate = [round(float(v), 3) for v in np.mean(kept, axis=0)]
    repair_rate = [round(float(v), 3) for v in np.mean(repaired, axis=0)]
    lab.plot(lab.figure("plot", "plot", raws=len(cases)),
             Plot(lab.t("plot_title"), "denoise", lab.t("plot_y"),
                  {lab.t("series_kept"): (denoises, kept_rate), lab.t("series_repaired"): (denoises, repair_rate)}))
    lab.numbers.update({"raws": [{"prompt": checks.prompt(s), "seed": seed, "wrong": w} for s, seed, w in cases],
                        "denoise": denoises, "attributes kept": kept_rate, "error repaired": repair_rate})
