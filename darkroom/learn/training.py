"""Lesson 8, training is influence, not a fix: a tiny LoRA run (darkroom.train, issue 14) teaches
darkroom-mini a colour it never saw (teal); before/after on the new concept, and what the LoRA does
to the old ones, measured by the checker on prompts the model already followed."""

from __future__ import annotations

import numpy as np

from darkroom.learn import checks
from darkroom.learn.plots import Plot

CONCEPT = "teal"
STEP = {"steps": 12, "cfg": 5.0, "sampler": "DPM++ 2M"}


def available() -> bool:
    """The lesson runs where the LoRA trainer and LoRA prompts (`<lora:name:1>`) are there."""
    try:
        from darkroom.models.networks import NetworkRegistry  # noqa: F401
        from darkroom.train import train_lora  # noqa: F401
    except ImportError:
        return False
    return True


def teal_share(image) -> float:
    """The share of pixels near teal (0, 128, 128): how much of the new colour the picture shows."""
    from darkroom.train.data import NEW_COLORS

    a = np.asarray(image.convert("RGB"), np.float32)
    return round(float((np.sqrt(((a - np.array(NEW_COLORS[CONCEPT])) ** 2).sum(-1)) < 60).mean()), 3)


def train(lab):
    """The tiny training run; its LoRA registered under the lesson's name."""
    from darkroom.models.networks import NetworkRegistry
    from darkroom.train import train_lora

    folder = lab.out_dir / "lora"
    folder.mkdir(parents=True, exist_ok=True)
    result = train_lora(CONCEPT, folder / f"learn-{CONCEPT}.safetensors", steps=lab.pick(80, 2), seed=0, rank=4,
                        batch=lab.pick(8, 1), images=lab.pick(96, 4), settings=lab.studio.settings)
    networks = NetworkRegistry(lab.studio.settings)
    name = f"learn-{CONCEPT}"
    if any(e.name == name for e in networks.list()):
        networks.remove(name)
    networks.add(result.path, name=name)
    return result, name


def run(lab) -> None:
    result, name = train(lab)
    lab.numbers.update({"training steps": result.steps, "training seconds": round(result.seconds, 1),
                        "examples": result.examples, "final loss": round(result.final_loss, 4)})
    lab.plot(lab.figure("loss", "plot"), Plot(lab.t("loss_title"), lab.t("loss_x"), "MSE",
                                              {"loss": (list(range(1, len(result.losses) + 1)), result.losses)}))
    prompt = f"a large {CONCEPT} circle in the center, black background"
    seeds = range(1, 1 + lab.pick(4, 1))
    new = lab.figure("new", "pictures", columns=len(seeds), concept=CONCEPT)
    shares = {"before": [], "after": []}
    for tag, text in (("before", prompt), ("after", f"{prompt} <lora:{name}:1>")):
        for seed in seeds:
            shot = lab.generate(new, f"{tag}, seed {seed}", prompt=text, seed=seed,
                                **{**STEP, "steps": lab.pick(12, 3)})
            shares[tag].append(teal_share(shot.image))
    lab.numbers["teal pixels before / after"] = [float(np.mean(shares["before"])), float(np.mean(shares["after"]))]
    scenes = checks.scenes(29, lab.pick(8, 1))
    rates = {}
    old = lab.figure("old", "pictures", columns=2 * len(scenes[:4]))
    for tag, suffix in (("without", ""), ("with", f" <lora:{name}:1>")):
        scores = []
        for i, scene in enumerate(scenes):
            step = {"op": "generate", "prompt": checks.prompt(scene) + suffix, "seed": 300 + i, **STEP,
                    "steps": lab.pick(12, 3)}
            if i < 4:
                shot = lab.generate(old, f"{tag} LoRA", scene=scene, **{k: v for k, v in step.items() if k != "op"})
                scores.append(shot.reading["right"])
            else:
                scores.append(checks.score(lab.images(lab.recipe(step))[0], scene))
        rates[tag] = checks.rates(scores)
    lab.numbers["old prompts, checker without / with the LoRA"] = rates
    lab.table(lab.figure("cost", "table", prompts=len(scenes)),
              [["", *checks.ATTRIBUTES, "all"]]
              + [[lab.term(tag), *(f"{r[a]:.2f}" for a in (*checks.ATTRIBUTES, "all"))] for tag, r in rates.items()])
