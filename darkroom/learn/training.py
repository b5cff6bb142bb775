"""Lesson 8, training is influence, not a fix: a tiny LoRA run (darkroom.train, issue 14) on pictures of a
colour darkroom-mini never saw (teal). The mini model's VAE learned eight colours and draws every other one as
one of them (a teal picture comes back from encode and decode green), and a LoRA on the UNet learns its examples
as the VAE shows them: the new word 'teal' is learned as the colour the VAE makes of teal. Before/after on the
new word, and what the LoRA costs the prompts the model already followed, read by the checker."""

from __future__ import annotations

import io
from collections import Counter

import numpy as np

from darkroom.learn import checks
from darkroom.learn.lab import Shot
from darkroom.learn.plots import Plot

CONCEPT = "teal"
STEP = {"steps": 12, "cfg": 5.0, "sampler": "DPM++ 2M"}
# 80 steps of 8 pictures at 1e-2 (the trainer's default is 2e-3 over 400 steps of 16): at 2e-3 the 80 steps
# of a lesson left the word half learned (green or blue); 2e-2 broke the old prompts.
TRAINING = {"steps": 80, "batch": 8, "images": 96, "rank": 4, "lr": 1e-2}
SHORT = {"steps": 2, "batch": 1, "images": 4, "rank": 4, "lr": 1e-2}


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
    result = train_lora(CONCEPT, folder / f"learn-{CONCEPT}.safetensors", seed=0, settings=lab.studio.settings,
                        **lab.pick(TRAINING, SHORT))
    networks = NetworkRegistry(lab.studio.settings)
    name = f"learn-{CONCEPT}"
    if any(e.name == name for e in networks.list()):
        networks.remove(name)
    networks.add(result.path, name=name)
    return result, name


def through_the_vae(lab) -> tuple:
    """A large teal training picture, uploaded, and the step that shows what darkroom-mini's VAE makes of it
    (encoded, one light img2img step, decoded): (the picture, the step)."""
    from darkroom.train.data import concept_examples

    example = next(e for e in concept_examples(CONCEPT, 8, seed=0, prior=0.0) if "large" in e.caption)
    data = io.BytesIO()
    example.image.save(data, format="PNG")
    ref = lab.studio.upload(data.getvalue(), project=lab.project)
    return example.image, {"op": "img2img", "image": ref, "prompt": example.caption, "seed": 1, "steps": 20,
                           "denoise": 0.05, "cfg": 5.0, "sampler": "DPM++ 2M"}


def run(lab) -> None:
    example, vae_step = through_the_vae(lab)
    result, name = train(lab)
    lab.numbers.update({"training steps": result.steps, "training seconds": round(result.seconds, 1),
                        "examples": result.examples, "final loss": round(result.final_loss, 4)})
    lab.plot(lab.figure("loss", "plot"), Plot(lab.t("loss_title"), lab.t("loss_x"), "MSE",
                                              {"loss": (list(range(1, len(result.losses) + 1)), result.losses)}))
    lora = f" <lora:{name}:1>"
    prompt = f"a large {CONCEPT} circle in the center, black background"
    seeds, steps = range(1, 1 + lab.pick(6, 1)), lab.pick(STEP["steps"], 3)
    scenes = checks.scenes(29, lab.pick(12, 1))
    shown, rest = scenes[:4], scenes[4:]  # the old prompts shown; the rest only measure (not saved)
    vae = lab.figure("vae", "pictures", columns=2, concept=CONCEPT)
    new = lab.figure("new", "pictures", columns=len(seeds), concept=CONCEPT)
    old = lab.figure("old", "pictures", columns=2 * len(shown))
    lab.add(vae, Shot("training picture", example, reading=checks.reading(example)))
    runs = [(vae_step, vae)] + [(generate(prompt + tag, seed, steps), new) for tag in ("", lora) for seed in seeds]
    runs += [(generate(checks.prompt(scene) + tag, 300 + i, steps), old) for tag in ("", lora)
             for i, scene in enumerate(shown)]
    made = lab.run_all([(lab.recipe(step), figure) for step, figure in runs])
    measured = lab.run_all([(lab.recipe(generate(checks.prompt(scene) + tag, 304 + i, steps)), None)
                            for tag in ("", lora) for i, scene in enumerate(rest)], save=False)
    labels = ["through the VAE"] + [f"{tag}, seed {seed}" for tag in ("before", "after") for seed in seeds]
    labels += [f"{tag} LoRA" for tag in ("without", "with") for _ in shown]
    scenes_of = [None] * (1 + 2 * len(seeds)) + shown * 2
    vae_shot, *shots = [lab.show(figure, pictures[-1], label, scene)
                        for (_, figure), label, scene, (pictures, _) in zip(runs, labels, scenes_of, made)]
    before, after, old_shots = shots[:len(seeds)], shots[len(seeds):2 * len(seeds)], shots[2 * len(seeds):]
    rest_scores = [checks.score(made_here[-1].image, scene) for scene, (made_here, _) in zip(rest * 2, measured)]
    half = len(rest)
    rates = {"without": checks.rates([s.reading["right"] for s in old_shots[:len(shown)]] + rest_scores[:half]),
             "with": checks.rates([s.reading["right"] for s in old_shots[len(shown):]] + rest_scores[half:])}
    report(lab, vae_shot.reading["color"], before, after, rates, len(scenes))


def report(lab, vae_colour: str, before: list, after: list, rates: dict, prompts: int) -> None:
    """What the checker read: the colour of the new word before and after, against the VAE's; the cost table."""
    colours = [[s.reading["color"] for s in shots] for shots in (before, after)]
    lab.numbers.update({
        f"colour the VAE makes of a {CONCEPT} picture": vae_colour,
        f"'{CONCEPT}' prompts read as, before / after": [dict(Counter(c)) for c in colours],
        f"'{CONCEPT}' prompts in the VAE's {CONCEPT} ({vae_colour}), before / after":
            [f"{c.count(vae_colour)} of {len(c)}" for c in colours],
        "teal pixels before / after": [round(float(np.mean([teal_share(s.image) for s in shots])), 3)
                                       for shots in (before, after)],
        "old prompts, checker without / with the LoRA": rates})
    lab.table(lab.figure("cost", "table", prompts=prompts),
              [["", *checks.ATTRIBUTES, "all"]]
              + [[lab.term(tag), *(f"{r[a]:.2f}" for a in (*checks.ATTRIBUTES, "all"))] for tag, r in rates.items()])


def generate(prompt: str, seed: int, steps: int) -> dict:
    return {"op": "generate", "prompt": prompt, "seed": seed, **STEP, "steps": steps}
