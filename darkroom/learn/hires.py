"""Lesson 6, Hi-Res Fix sharpens, it does not repair: a raw whose object came out wrong, hires-fixed at
denoise 0.4 to 1.0. The checker measures per denoise how many attributes of the raw were kept, how often the
error is still read as in the raw and how often it was repaired (darkroom-mini). On darkroom-mini the raws
that come out wrong have a blob that the checker reads as another shape: that reading is the error. Its prompts
fix the layout (colours, position, size), so even denoise 1.0 paints the same layout again; what high denoise
changes is the object's outline, a new draw of it."""

from __future__ import annotations

from contextlib import closing

import numpy as np

from darkroom.learn import checks
from darkroom.learn.plots import Plot

RAW = {"steps": 12, "cfg": 5.0, "sampler": "DPM++ 2M"}
DENOISE = 0.7  # the variants span DENOISE +- 0.3 (darkroom.develop.variants): 0.4 to 1.0, where the layout goes


def raw_step(lab) -> dict:
    return {**RAW, "steps": lab.pick(RAW["steps"], 4)}


def find_wrong(lab, count: int, tries: int, seed: int = 21) -> list[tuple]:
    """Up to `count` (scene, seed, wrong attributes) whose raw the checker reads wrong (not the background).
    The raws are queued at once; those still queued when enough were found are cancelled."""
    scenes = checks.scenes(seed, tries)
    runs = [(lab.recipe({"op": "generate", "prompt": checks.prompt(scene), "seed": seed * 1000 + i,
                         **raw_step(lab)}), None) for i, scene in enumerate(scenes)]
    found = []
    with closing(lab.run_all(runs, save=False)) as made:
        for i, (scene, (pictures, _)) in enumerate(zip(scenes, made)):
            wrong = checks.wrong(pictures[-1].image, scene)
            if wrong and "background" not in wrong:
                found.append((scene, seed * 1000 + i, wrong))
            if len(found) == count:
                break
    return found


def run(lab) -> None:
    count = lab.pick(5, 3)
    if lab.mini:
        cases = find_wrong(lab, lab.pick(6, 1), lab.pick(40, 6))
        if not cases:
            lab.numbers["note"] = "no raw came out wrong among the seeds tried"
            return
    else:
        cases = [(None, int(lab.options.get("seed", 4)), [])]
    recipes = []
    for scene, seed, _ in cases:
        prompt = checks.prompt(scene) if scene else lab.options.get("prompt") or "a castle on a hill, oil painting"
        recipes.append(lab.recipe({"op": "generate", "prompt": prompt, "seed": seed, **raw_step(lab)},
                                  {"op": "hires", "scale": 2.0, "denoise": DENOISE, "steps": lab.pick(8, 2)}))
    rows = [lab.figure("row", "pictures", columns=count + 1, n=n + 1, wrong=", ".join(map(lab.term, wrong)) or "-")
            for n, (_, _, wrong) in enumerate(cases)]
    readings, denoises = [], []
    for row, (scene, _, wrong), (raw, variants) in zip(rows, cases,
                                                       lab.variants(recipes, count=count, vary="denoise",
                                                                    step_index=1)):
        denoises = [float(label.split()[-1]) for label, _ in variants]
        shots = [lab.show(row, raw, "raw", scene)] + [lab.show(row, picture, label, scene)
                                                      for label, picture in variants]
        if scene is not None:
            readings.append(measured(shots, wrong))
    if lab.mini:
        plot_readings(lab, cases, denoises, readings)


def measured(shots: list, wrong: list[str]) -> dict[str, list]:
    """Per hires fix (shots[1:]) against the raw (shots[0]): the share of attributes read as in the raw, whether
    the raw's wrong attributes are still read as they were, and whether they are read right now."""
    raw, fixed = shots[0].reading, [s.reading for s in shots[1:]]
    return {"kept": [float(np.mean([r[a] == raw[a] for a in checks.ATTRIBUTES])) for r in fixed],
            "still": [all(r[a] == raw[a] for a in wrong) for r in fixed],
            "repaired": [all(r["right"][a] for a in wrong) for r in fixed]}


def plot_readings(lab, cases: list, denoises: list[float], readings: list[dict]) -> None:
    share = {key: [round(float(v), 3) for v in np.mean([r[key] for r in readings], axis=0)]
             for key in ("kept", "still", "repaired")}
    lab.plot(lab.figure("plot", "plot", raws=len(cases)),
             Plot(lab.t("plot_title"), "denoise", lab.t("plot_y"),
                  {lab.t("series_kept"): (denoises, share["kept"]), lab.t("series_still"): (denoises, share["still"]),
                   lab.t("series_repaired"): (denoises, share["repaired"])}))
    lab.numbers.update({"raws": [{"prompt": checks.prompt(s), "seed": seed, "wrong": w} for s, seed, w in cases],
                        "denoise": denoises, "attributes kept": share["kept"], "error still there": share["still"],
                        "error repaired": share["repaired"]})
