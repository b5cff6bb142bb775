"""Lesson 9, why the schedule matters: SD's scaled-linear schedule leaves signal at the last timestep.

Per-pixel SNR is alpha_bar / (1 - alpha_bar). The mean of a picture averages the noise of all its N
values (variance / N) but not a flat colour, so the mean colour has N times that SNR: at SD's last
step it is still readable, and a model trained there learns to take the global colour from the noise
it will never get at inference. darkroom-mini was trained with the betas rescaled to zero terminal SNR.
The leak is measured on the world's renders (the background colour read back from x_T alone) and
shown with the model: img2img that starts where the zero-SNR schedule has SD's last-step SNR.
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from darkroom.learn import checks
from darkroom.learn.lab import Shot
from darkroom.learn.plots import Plot
from darkroom.mini import checker, world

BETAS = {"beta_schedule": "scaled_linear", "beta_start": 0.00085, "beta_end": 0.012, "num_train_timesteps": 1000}
VALUES = {"SD 512 px (64x64x4 latent)": 64 * 64 * 4, "darkroom-mini 64 px (16x16x4)": 16 * 16 * 4}


def alphas_bar() -> dict[str, np.ndarray]:
    # the module itself, not diffusers' lazy attribute: a warm-up thread importing diffusers at the same time
    # made `from diffusers import DDPMScheduler` fail ("cannot import name")
    from diffusers.schedulers.scheduling_ddpm import DDPMScheduler

    return {name: DDPMScheduler(**BETAS, rescale_betas_zero_snr=zero).alphas_cumprod.double().numpy()
            for name, zero in (("scaled linear (SD)", False), ("zero terminal SNR", True))}


def snr(alpha_bar: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore"):
        return alpha_bar / (1.0 - alpha_bar)


def run(lab) -> None:
    schedules = alphas_bar()
    ts = list(range(0, 1000, 10)) + [999]
    per_pixel = {name: (ts, [float(snr(a)[t]) for t in ts]) for name, a in schedules.items()}
    lab.plot(lab.figure("snr", "plot"), Plot(lab.t("snr_title"), "t", "SNR", per_pixel, log_y=True))
    per_image = {f"{name}, {size}": (ts, [float(snr(a)[t] * n) for t in ts])
                 for name, a in schedules.items() for size, n in VALUES.items()}
    lab.plot(lab.figure("image_snr", "plot"), Plot(lab.t("image_title"), "t", "SNR", per_image, log_y=True))
    sd_last = float(snr(schedules["scaled linear (SD)"])[999])
    twin = int(np.argmin(np.abs(snr(schedules["zero terminal SNR"])[:999] - sd_last)))
    lab.numbers.update({"SD last step: alpha_bar": round(float(schedules["scaled linear (SD)"][999]), 6),
                        "SD last step: per-pixel SNR": round(sd_last, 6),
                        "SD last step: SNR of the mean, SD 512 px": round(sd_last * VALUES[next(iter(VALUES))], 1),
                        "zero terminal SNR: t with SD's last-step SNR": twin})
    renders = [world.render(s) for s in checks.scenes(5, lab.pick(64, 16))]
    noised = lab.figure("noised", "pictures", columns=5)
    lab.add(noised, Shot("x0", renders[0]))
    rng = np.random.default_rng(0)
    for name, a in schedules.items():
        x_t = [noise(r, a[999], rng) for r in renders]
        lab.add(noised, Shot(f"x_999, {name}", to_image(x_t[0])))
        lab.add(noised, Shot(f"mean colour, {name}", mean_colour(x_t[0], a[999])))
        right = np.mean([read_background(x, a[999]) == s.background
                         for x, s in zip(x_t, checks.scenes(5, len(renders)))])
        lab.numbers[f"background read from x_999 alone, {name}"] = f"{right:.0%} of {len(renders)}"
    lab.numbers["chance"] = f"{1 / len(world.COLORS):.0%}"
    if lab.mini:
        leak(lab, twin)


def noise(render: Image.Image, alpha_bar: float, rng) -> np.ndarray:
    x0 = np.asarray(render, np.float64) / 127.5 - 1.0
    return np.sqrt(alpha_bar) * x0 + np.sqrt(1.0 - alpha_bar) * rng.standard_normal(x0.shape)


def to_image(x: np.ndarray) -> Image.Image:
    return Image.fromarray(np.clip((x + 1.0) * 127.5, 0, 255).astype(np.uint8))


def estimate(x_t: np.ndarray, alpha_bar: float) -> np.ndarray:
    """The picture's mean colour as x_t alone tells it (grey where it tells nothing)."""
    mean = x_t.reshape(-1, 3).mean(axis=0)
    return np.clip((mean / np.sqrt(alpha_bar) if alpha_bar > 1e-12 else mean * 0) + 1.0, 0, 2) * 127.5


def mean_colour(x_t: np.ndarray, alpha_bar: float) -> Image.Image:
    return Image.new("RGB", (x_t.shape[1], x_t.shape[0]), tuple(int(v) for v in estimate(x_t, alpha_bar)))


def read_background(x_t: np.ndarray, alpha_bar: float) -> str:
    return checker.nearest_color(estimate(x_t, alpha_bar))


def leak(lab, twin: int) -> None:
    """img2img from a render of another background, starting at t=999 (zero SNR, what darkroom-mini
    starts from) and where the zero-SNR schedule has SD's last-step SNR: does the old colour survive?"""
    steps = lab.pick(25, 8)  # trailing spacing: denoise 0.88 starts at t=879 (25 steps) or 874 (8)
    denoises = lab.pick((1.0, 0.96, 0.92, 0.88), (1.0, 0.88))
    count = lab.pick(6, 1)
    scenes = checks.scenes(17, count)
    row = lab.figure("leak", "pictures", columns=len(denoises) + 1, twin=twin)
    runs = []  # (scene, the input's colour, denoise, step)
    for n, scene in enumerate(scenes):
        other = next(c for c in world.COLOR_NAMES if c not in (scene.background, scene.objects[0].color))
        source = world.Scene(other, scene.objects)
        buffer = io.BytesIO()
        world.render(source).save(buffer, format="PNG")
        ref = lab.studio.upload(buffer.getvalue(), project=lab.project)
        if n == 0:
            lab.add(row, Shot(lab.t("input", colour=other), world.render(source)))
        runs += [(scene, other, d, {"op": "img2img", "image": ref, "prompt": checks.prompt(scene), "seed": 100 + n,
                                    "steps": steps, "denoise": d, "cfg": 5.0, "sampler": "Euler"}) for d in denoises]
    shown, rest = runs[:len(denoises)], runs[len(denoises):]  # the first scene's pictures are shown and saved
    made = lab.run_all([(lab.recipe(step), row) for *_, step in shown])
    measured = lab.run_all([(lab.recipe(step), None) for *_, step in rest], save=False)
    survived = {d: [] for d in denoises}
    for (scene, other, d, _), (pictures, _) in zip(shown, made):
        shot = lab.show(row, pictures[-1], f"denoise {d:g} (t={start_timestep(steps, d)})", scene)
        survived[d].append(checker.analyze(shot.image).background == other)
    for (scene, other, d, _), (pictures, _) in zip(rest, measured):
        survived[d].append(checker.analyze(pictures[-1].image).background == other)
    lab.numbers["img2img: input background survives"] = {
        f"denoise {d:g} (starts at t={start_timestep(steps, d)})": f"{sum(v)} of {len(v)}" for d, v in survived.items()}


def start_timestep(steps: int, denoise: float) -> int:
    """Where diffusers' img2img starts on a trailing-spaced schedule (as darkroom-mini's)."""
    timesteps = np.round(np.arange(1000, 0, -1000 / steps)).astype(int) - 1
    return int(timesteps[steps - min(int(steps * denoise), steps)])
