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
    times = {s: [] for s in SAMPLERS}
    scores = {s: [] for s in SAMPLERS}
    for sampler in SAMPLERS:
        for steps in steps_list:
            step = {"op": "generate", "seed": seed, "steps": steps, "cfg": 5.0, "sampler": sampler}
            text = checks.prompt(scenes[0]) if lab.mini else prompt
            shot, took = lab.generate(grid, f"{sampler}, {steps}", scene=scenes[0], prompt=text, timed=True, **step)
            seconds, marks = [] if len(scenes) > 1 else [took], [shot.reading["right"]] if lab.mini else []
            for scene in scenes[1:]:
                pictures, took = lab.run(lab.recipe({**step, "prompt": checks.prompt(scene) if scene else text}),
                                         save=False)
                seconds.append(took)
                if scene is not None:
                    marks.append(checks.score(pictures[-1].image, scene))
            times[sampler].append(round(sum(seconds) / len(seconds), 3))
            if marks:
                scores[sampler].append(checks.rates(marks)["mean"])
            lab.numbers[f"{sampler}, {steps} steps"] = {"seconds per image": times[sampler][-1],
                                                        **({"checker mean": scores[sampler][-1]} if marks else {})}
    xs = list(steps_list)
    lab.plot(lab.figure("time", "plot"), Plot(lab.t("time_title"), lab.t("steps"), lab.t("seconds"),
                                              {s: (xs, times[s]) for s in SAMPLERS}, log_x=True))
    if lab.mini:
        lab.plot(lab.figure("score", "plot", images=len(scenes)),
                 Plot(lab.t("score_title"), lab.t("steps"), lab.t("score_y"),
                      {s: (xs, scores[s]) for s in SAMPLERS}, log_x=True))
