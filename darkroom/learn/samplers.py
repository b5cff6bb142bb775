"""Lesson 4, steps and samplers: 4, 8, 20 and 50 steps for three samplers; time per image and, on
darkroom-mini, the checker's score."""

from __future__ import annotations

from darkroom.learn import checks
from darkroom.learn.plots import Plot

SAMPLERS = ("Euler a", "DPM++ 2M", "DDIM")
STEPS = (4, 8, 20, 50)


def run(lab) -> None:
    steps_list = lab.pick(STEPS, (2, 4))
    seed = int(lab.options.get("seed", 3))
    scenes = checks.scenes(seed, lab.pick(3, 1)) if lab.mini else [None]
    prompt = lab.options.get("prompt") or "a lighthouse on a cliff above the sea, evening light"
    grid = lab.figure("grid", "pictures", columns=len(steps_list))
    cells = [(sampler, steps) for sampler in SAMPLERS for steps in steps_list]
    step = {cell: {"seed": seed, "steps": cell[1], "cfg": 5.0, "sampler": cell[0]} for cell in cells}
    text = checks.prompt(scenes[0]) if lab.mini else prompt
    shown = lab.generate_all(grid, [(f"{s}, {n}", scenes[0], {**step[s, n], "prompt": text}) for s, n in cells],
                             timed=True)
    others = [(cell, scene) for cell in cells for scene in scenes[1:]]
    runs = [(lab.recipe({"op": "generate", **step[cell], "prompt": checks.prompt(scene)}), None)
            for cell, scene in others]
    seconds = {cell: [] if len(scenes) > 1 else [took] for cell, (_, took) in zip(cells, shown)}
    marks = {cell: [shot.reading["right"]] if lab.mini else [] for cell, (shot, _) in zip(cells, shown)}
    for (cell, scene), (pictures, took) in zip(others, lab.run_all(runs, save=False)):
        seconds[cell].append(took)
        marks[cell].append(checks.score(pictures[-1].image, scene))
    times = {s: [] for s in SAMPLERS}
    scores = {s: [] for s in SAMPLERS}
    for sampler, steps in cells:
        times[sampler].append(round(sum(seconds[sampler, steps]) / len(seconds[sampler, steps]), 3))
        if marks[sampler, steps]:
            scores[sampler].append(checks.rates(marks[sampler, steps])["mean"])
        lab.numbers[f"{sampler}, {steps} steps"] = {"seconds per image": times[sampler][-1],
                                                    **({"checker mean": scores[sampler][-1]} if lab.mini else {})}
    xs = list(steps_list)
    lab.plot(lab.figure("time", "plot"), Plot(lab.t("time_title"), lab.t("steps"), lab.t("seconds"),
                                              {s: (xs, times[s]) for s in SAMPLERS}, log_x=True))
    if lab.mini:
        lab.plot(lab.figure("score", "plot", images=len(scenes)),
                 Plot(lab.t("score_title"), lab.t("steps"), lab.t("score_y"),
                      {s: (xs, scores[s]) for s in SAMPLERS}, log_x=True))
