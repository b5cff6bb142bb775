"""The `generate` step: txt2img, one denoising run per image.

Each image of a batch is computed on its own from its own seed, so it can be replayed
alone, bit for bit; the initial noise always comes from a CPU generator, so a seed
means the same noise on every device. (torch and the pipelines are imported when a step
runs: the recipe schema imports this file.)
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING, Literal

from pydantic import field_validator

from darkroom.develop.fields import (
    MAX_PIXELS,
    MAX_SEED,
    Cfg,
    CfgUntil,
    ClipSkip,
    FeatureCache,
    Sampler,
    Seed,
    Side,
    StepModel,
    Quantize,
    Steps,
    TokenMerge,
    param,
)
from darkroom.develop.samplers import DEFAULT_SAMPLER
from darkroom.errors import InvalidParameter

if TYPE_CHECKING:
    import torch

    from darkroom.develop.context import Frame, RunContext


class GenerateStep(StepModel):
    """txt2img: a raw negative pulled out of Gaussian noise."""

    op: Literal["generate"] = "generate"
    prompt: str = param(en="What the image shows (A1111 weighting syntax).",
                        de="Was das Bild zeigt (A1111-Gewichtungssyntax).")
    negative_prompt: str = param("", en="What the image must not show.",
                                 de="Was das Bild nicht zeigen soll.")
    seed: Seed = param(-1, en="Noise seed; -1 draws a random one.",
                       de="Startwert des Rauschens; -1 zieht einen zufälligen.")
    steps: Steps = param(20, en="Denoising steps.", de="Entrauschungsschritte.")
    cfg: Cfg = param(7.0, en="Classifier-free guidance scale (CFG).", de="Stärke der Prompt-Führung (CFG).")
    sampler: Sampler = param(DEFAULT_SAMPLER, en="Sampler, named as in A1111.", de="Sampler, benannt wie in A1111.")
    width: Side | None = param(None, en="Width in pixels (multiple of 8); empty: the model's native size.",
                               de="Breite in Pixeln (Vielfaches von 8); leer: native Größe des Modells.")
    height: Side | None = param(None, en="Height in pixels (multiple of 8); empty: the model's native size.",
                                de="Höhe in Pixeln (Vielfaches von 8); leer: native Größe des Modells.")
    batch_size: int = param(1, ge=1, le=64, en="Images to make, with seeds seed, seed+1, ...",
                            de="Anzahl Bilder, mit Startwerten seed, seed+1, ...")
    clip_skip: ClipSkip = param(1, en="Use the text encoder's n-th last layer (A1111 'Clip skip').",
                                de="Die n-letzte Schicht des Text-Encoders verwenden (A1111 'Clip skip').")
    feature_cache: FeatureCache = param(
        0, en="Feature cache (DeepCache): run the whole UNet only every N-th step and reuse its deep features "
        "in between; 2-3 is about 1.5-2x faster for a small loss of detail; 0: off.",
        de="Feature-Cache (DeepCache): das ganze UNet nur jeden N-ten Schritt rechnen, dazwischen seine tiefen "
        "Merkmale wiederverwenden; 2-3 ist etwa 1,5-2x schneller bei etwas weniger Detail; 0: aus.")
    token_merge: TokenMerge = param(
        0.0, exclude_if=lambda value: not value,  # left out when off: older recipes keep their hash
        en="Token merging (ToMe): share of the tokens merged before the full-resolution self-attention "
        "(0.5 is tomesd's default); 0: off.",
        de="Token Merging (ToMe): Anteil der Tokens, die vor der Self-Attention in voller Auflösung "
        "zusammengeführt werden (0,5 ist der Standard von tomesd); 0: aus.")
    cfg_until: CfgUntil = param(
        1.0, exclude_if=lambda value: value == 1.0,
        en="Share of the steps run with guidance (CFG); the steps after it follow the prompt alone and run "
        "the UNet once instead of twice (0.5: about 1.3x faster, less contrast in fine detail); 1: every step.",
        de="Anteil der Schritte mit Prompt-Führung (CFG); die Schritte danach folgen nur dem Prompt und rechnen "
        "das UNet einmal statt zweimal (0,5: etwa 1,3x schneller, weniger Kontrast im Detail); 1: jeder Schritt.")
    quantize: Quantize = param(
        "off", exclude_if=lambda value: value == "off",
        en="int8: the UNet's Linear layers compute in int8 (dynamic quantization; CPU, float32 only); "
        "convolutions stay float32.",
        de="int8: die Linear-Schichten des UNet rechnen in int8 (dynamische Quantisierung; nur CPU, float32); "
        "Faltungen bleiben float32.")

    @field_validator("prompt")
    @classmethod
    def _prompt_not_empty(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("the prompt is empty; describe what the image should show")
        return value


def resolve(step: GenerateStep, native_size: int) -> GenerateStep:
    """The step with seed and size made concrete."""
    width = step.width or native_size
    height = step.height or native_size
    if width * height > MAX_PIXELS:
        raise InvalidParameter(
            f"size {width}x{height} is beyond the limit of {MAX_PIXELS} pixels; "
            "generate smaller and use the hires step to upscale"
        )
    seed = step.seed if step.seed >= 0 else random.randrange(MAX_SEED)
    return step.model_copy(update={"width": width, "height": height, "seed": seed})


def image_steps(step: GenerateStep) -> list[GenerateStep]:
    """A resolved batch split into one single-image step per seed."""
    return [
        step.model_copy(update={"seed": (step.seed + i) % (MAX_SEED + 1), "batch_size": 1})
        for i in range(step.batch_size)
    ]


def noise_generator(seed: int) -> torch.Generator:
    import torch

    return torch.Generator("cpu").manual_seed(seed)


def run_generate(ctx: RunContext, step: GenerateStep) -> Frame:
    """Make the image (and its latents, for a latent hires fix) of one resolved, single-image step."""
    from darkroom.develop.context import Frame
    from darkroom.develop.denoise import Pass, denoise, speed
    from darkroom.develop.latents import decode

    latents = denoise(ctx.engine, Pass(
        "txt2img", sampler=step.sampler, steps=step.steps, cfg=step.cfg,
        embeds=ctx.encode(step.prompt, step.negative_prompt, step.clip_skip),
        generator=noise_generator(step.seed), width=step.width, height=step.height, **speed(step)), ctx.observe)
    return Frame(image=decode(ctx.engine, latents), latents=latents)


def run_generate_step(ctx: RunContext, frame: Frame | None, step: GenerateStep, index: int = 0) -> Frame:
    """run_generate with the signature every step has; a generate step starts from nothing."""
    return run_generate(ctx, step)


def generate_infotext(step: GenerateStep, base) -> dict:
    """txt2img: the size of the picture (the first pass, when a hires fix follows)."""
    return {"Size": f"{step.width}x{step.height}"}
