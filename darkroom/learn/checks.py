"""What the lessons measure with on darkroom-mini: scenes of its world as prompts, and the checker
that reads a picture back into those attributes (darkroom.mini.checker, no learned parts)."""

from __future__ import annotations

import numpy as np

from darkroom.mini import checker, world

ATTRIBUTES = ("background", "color", "position", "size", "shape")


def scenes(seed: int, count: int) -> list[world.Scene]:
    """`count` one-object scenes of the world (colour/shape pairs seen in training), fixed by `seed`."""
    rng = np.random.default_rng([seed, 13])
    return [world.sample_scene(rng, p_two=0.0) for _ in range(count)]


def prompt(scene: world.Scene) -> str:
    return world.full_caption(scene)


def reading(image, scene=None) -> dict:
    """The checker's reading of a picture; with `scene`, also which attributes are right."""
    found = checker.analyze(image).as_dict()
    if scene is not None:
        found["right"] = checker.score(checker.analyze(image), scene)
    return found


def score(image, scene) -> dict[str, bool]:
    return checker.score(checker.analyze(image), scene)


def rates(scores: list[dict[str, bool]]) -> dict[str, float]:
    """Per attribute the share right, plus 'all' (every attribute right) and 'mean' (of the five)."""
    out = {name: float(np.mean([s[name] for s in scores])) for name in ATTRIBUTES}
    out["all"] = float(np.mean([all(s.values()) for s in scores]))
    out["mean"] = float(np.mean([out[name] for name in ATTRIBUTES]))
    return {name: round(value, 3) for name, value in out.items()}


def wrong(image, scene) -> list[str]:
    """The attributes the picture got wrong."""
    return [name for name, right in score(image, scene).items() if not right]


def interval(hits: int, count: int, level: float = 0.95) -> tuple[float, float]:
    """The Wilson interval of a rate of `hits` in `count` (a binomial sample): what a sample this small can tell."""
    from scipy.stats import binomtest

    low, high = binomtest(hits, count).proportion_ci(confidence_level=level, method="wilson")
    return round(float(low), 3), round(float(high), 3)
