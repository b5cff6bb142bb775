"""The recipe: the one truth about how an image was made.

A recipe is a model reference plus an ordered list of steps. Each step is a pydantic
model whose fields declare type, default, range and a one-line description in English
and German; the CLI flags, the API schema and validation messages derive from them.
Adding a step type means one model here (or in its own file) and one union member.
"""

from __future__ import annotations

import hashlib
import json
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from darkroom.develop.samplers import DEFAULT_SAMPLER, canonical_name
from darkroom.develop.upscalers import DEFAULT_UPSCALER, canonical_upscaler
from darkroom.errors import InvalidParameter

RECIPE_VERSION = 1
MAX_SIDE = 4096
MAX_PIXELS = 2048 * 2048
MAX_SEED = 2**32 - 1


def param(default: Any = ..., *, en: str, de: str, **limits) -> Any:
    """A step field with its bilingual one-line description."""
    return Field(default, description=en, json_schema_extra={"description_de": de}, **limits)


class StepModel(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class GenerateStep(StepModel):
    """txt2img: a raw negative pulled out of Gaussian noise."""

    op: Literal["generate"] = "generate"
    prompt: str = param(en="What the image shows (A1111 weighting syntax).",
                        de="Was das Bild zeigt (A1111-Gewichtungssyntax).")
    negative_prompt: str = param("", en="What the image must not show.",
                                 de="Was das Bild nicht zeigen soll.")
    seed: int = param(-1, ge=-1, le=MAX_SEED, en="Noise seed; -1 draws a random one.",
                      de="Startwert des Rauschens; -1 zieht einen zufälligen.")
    steps: int = param(20, ge=1, le=150, en="Denoising steps.", de="Entrauschungsschritte.")
    cfg: float = param(7.0, ge=0.0, le=30.0, en="Classifier-free guidance scale (CFG).",
                       de="Stärke der Prompt-Führung (CFG).")
    sampler: str = param(DEFAULT_SAMPLER, en="Sampler, named as in A1111.",
                         de="Sampler, benannt wie in A1111.")
    width: int | None = param(None, ge=8, le=MAX_SIDE,
                              en="Width in pixels (multiple of 8); empty: the model's native size.",
                              de="Breite in Pixeln (Vielfaches von 8); leer: native Größe des Modells.")
    height: int | None = param(None, ge=8, le=MAX_SIDE,
                               en="Height in pixels (multiple of 8); empty: the model's native size.",
                               de="Höhe in Pixeln (Vielfaches von 8); leer: native Größe des Modells.")
    batch_size: int = param(1, ge=1, le=64, en="Images to make, with seeds seed, seed+1, ...",
                            de="Anzahl Bilder, mit Startwerten seed, seed+1, ...")
    clip_skip: int = param(1, ge=1, le=12, en="Use the text encoder's n-th last layer (A1111 'Clip skip').",
                           de="Die n-letzte Schicht des Text-Encoders verwenden (A1111 'Clip skip').")

    @field_validator("prompt")
    @classmethod
    def _prompt_not_empty(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("the prompt is empty; describe what the image should show")
        return value

    @field_validator("sampler")
    @classmethod
    def _known_sampler(cls, value: str) -> str:
        try:
            return canonical_name(value)
        except InvalidParameter as err:
            raise ValueError(str(err)) from None

    @field_validator("width", "height")
    @classmethod
    def _multiple_of_8(cls, value: int | None) -> int | None:
        if value is not None and value % 8:
            raise ValueError(f"{value} is not a multiple of 8; try {max(8, round(value / 8) * 8)}")
        return value


# ---------------------------------------------------------------------------- later steps
INPUT_REF = "sha256:"


def _sampler_or_none(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        return canonical_name(value)
    except InvalidParameter as err:
        raise ValueError(str(err)) from None


def _size_or_none(value: int | None) -> int | None:
    if value is not None and value % 8:
        raise ValueError(f"{value} is not a multiple of 8; try {max(8, round(value / 8) * 8)}")
    return value


class PassStep(StepModel):
    """What a later diffusion pass may change; empty fields keep the previous step's value."""

    prompt: str | None = param(None, en="Prompt of this pass; empty: the previous step's prompt.",
                               de="Prompt dieses Durchgangs; leer: der Prompt des vorigen Schritts.")
    negative_prompt: str | None = param(None, en="Negative prompt of this pass; empty: the previous step's.",
                                        de="Negativer Prompt dieses Durchgangs; leer: der des vorigen Schritts.")
    seed: int | None = param(None, ge=-1, le=MAX_SEED,
                             en="Noise seed; empty: the previous step's seed (as A1111's hires fix); -1: random.",
                             de="Startwert; leer: der des vorigen Schritts (wie A1111s Hires-Fix); -1: zufällig.")
    cfg: float | None = param(None, ge=0.0, le=30.0, en="Guidance scale (CFG); empty: the previous step's.",
                              de="Prompt-Führung (CFG); leer: die des vorigen Schritts.")
    sampler: str | None = param(None, en="Sampler (A1111 name); empty: the previous step's.",
                                de="Sampler (A1111-Name); leer: der des vorigen Schritts.")
    clip_skip: int | None = param(None, ge=1, le=12, en="Clip skip; empty: the previous step's.",
                                  de="Clip skip; leer: der des vorigen Schritts.")

    _check_sampler = field_validator("sampler")(lambda cls, v: _sampler_or_none(v))


class HiresStep(PassStep):
    """Hi-Res Fix: upscale the picture, then denoise it again at the larger size."""

    op: Literal["hires"] = "hires"
    scale: float = param(2.0, ge=1.0, le=4.0, en="Upscale factor (ignored when a resize size is given).",
                         de="Vergrößerungsfaktor (ignoriert, wenn eine Zielgröße angegeben ist).")
    resize_width: int | None = param(None, ge=8, le=MAX_SIDE,
                                     en="Target width instead of a factor; keeps the aspect ratio, center-crops.",
                                     de="Zielbreite statt Faktor; Seitenverhältnis bleibt, mittig beschnitten.")
    resize_height: int | None = param(None, ge=8, le=MAX_SIDE,
                                      en="Target height instead of a factor; keeps the aspect ratio, center-crops.",
                                      de="Zielhöhe statt Faktor; Seitenverhältnis bleibt, mittig beschnitten.")
    upscaler: str = param(DEFAULT_UPSCALER, en="Upscaler: Latent (...) modes interpolate latents; Lanczos, "
                          "Bicubic, Nearest resize pixels.",
                          de="Vergrößerer: Latent (...) interpoliert Latents; Lanczos, Bicubic, Nearest Pixel.")
    denoise: float = param(0.45, ge=0.0, le=1.0, en="Denoising strength of the second pass.",
                           de="Entrauschungsstärke des zweiten Durchgangs.")
    steps: int = param(0, ge=0, le=150, en="Second-pass steps actually run; 0: as many as the first pass.",
                       de="Schritte des zweiten Durchgangs; 0: so viele wie im ersten.")
    vae_tiling: Literal["auto", "on", "off"] = param(
        "auto", en="Decode/encode the VAE in tiles (auto: for outputs above 1536x1536 pixels).",
        de="VAE in Kacheln (de)kodieren (auto: ab 1536x1536 Pixeln).")

    _check_upscaler = field_validator("upscaler")(lambda cls, v: _canonical_upscaler(v))
    _check_sizes = field_validator("resize_width", "resize_height")(lambda cls, v: _size_or_none(v))


def _canonical_upscaler(value: str) -> str:
    try:
        return canonical_upscaler(value)
    except InvalidParameter as err:
        raise ValueError(str(err)) from None


def _input_ref(value: str | None) -> str | None:
    if value is None:
        return None
    if not value.strip():
        raise ValueError("the image reference is empty; give sha256:HEX or a file path")
    if value.startswith(INPUT_REF) and (len(value) != len(INPUT_REF) + 64 or
                                        any(c not in "0123456789abcdef" for c in value[len(INPUT_REF):])):
        raise ValueError(f"{value!r} is not sha256: followed by 64 lowercase hex digits")
    return value


class Img2ImgStep(PassStep):
    """img2img: re-imagine a picture, keeping its composition as much as `denoise` allows."""

    op: Literal["img2img"] = "img2img"
    image: str | None = param(None, en="Input picture as sha256:HEX (library) or a file path; empty: the "
                              "previous step's picture.",
                              de="Eingabebild als sha256:HEX (Bibliothek) oder Dateipfad; leer: das Bild des "
                              "vorigen Schritts.")
    denoise: float = param(0.75, ge=0.0, le=1.0, en="Denoising strength: 0 keeps the picture, 1 ignores it.",
                           de="Entrauschungsstärke: 0 behält das Bild, 1 ignoriert es.")
    steps: int | None = param(None, ge=1, le=150, en="Steps (A1111: denoise x steps are run); empty: the "
                              "previous step's, else 20.",
                              de="Schritte (wie A1111 laufen denoise x Schritte); leer: die des vorigen, sonst 20.")
    width: int | None = param(None, ge=8, le=MAX_SIDE, en="Output width (multiple of 8); empty: the input's.",
                              de="Ausgabebreite (Vielfaches von 8); leer: die der Eingabe.")
    height: int | None = param(None, ge=8, le=MAX_SIDE, en="Output height (multiple of 8); empty: the input's.",
                               de="Ausgabehöhe (Vielfaches von 8); leer: die der Eingabe.")
    resize_mode: Literal["resize", "crop", "fill"] = param(
        "resize", en="Fitting the input to the size: resize (stretch), crop (keep aspect, center-crop), "
        "fill (keep aspect, pad with stretched edges).",
        de="Anpassen an die Größe: resize (strecken), crop (Seitenverhältnis, mittig beschneiden), "
        "fill (Seitenverhältnis, Ränder auffüllen).")

    _check_image = field_validator("image")(lambda cls, v: _input_ref(v))
    _check_sizes = field_validator("width", "height")(lambda cls, v: _size_or_none(v))


class BoxZone(StepModel):
    kind: Literal["box"] = "box"
    x: int = param(ge=0, le=MAX_SIDE, en="Left edge in pixels.", de="Linker Rand in Pixeln.")
    y: int = param(ge=0, le=MAX_SIDE, en="Top edge in pixels.", de="Oberer Rand in Pixeln.")
    width: int = param(ge=1, le=MAX_SIDE, en="Width in pixels.", de="Breite in Pixeln.")
    height: int = param(ge=1, le=MAX_SIDE, en="Height in pixels.", de="Höhe in Pixeln.")


class EllipseZone(BoxZone):
    kind: Literal["ellipse"] = "ellipse"  # the ellipse inscribed in the box


class MaskZone(StepModel):
    kind: Literal["mask"] = "mask"
    image: str = param(en="Mask picture (white = repaint) as sha256:HEX or a file path; same size as the image.",
                       de="Maskenbild (weiß = neu malen) als sha256:HEX oder Dateipfad; gleiche Größe wie das Bild.")

    _check_image = field_validator("image")(lambda cls, v: _input_ref(v))


class DetectZone(StepModel):
    kind: Literal["detect"] = "detect"
    detector: str = param("face", en="Detector name (darkroom.develop.detectors): face, ...",
                          de="Name des Detektors (darkroom.develop.detectors): face, ...")
    index: int | None = param(0, ge=0, le=63, en="Which detection, largest first; empty: all of them.",
                              de="Welcher Fund, größter zuerst; leer: alle.")


Zone = Annotated[Union[BoxZone, EllipseZone, MaskZone, DetectZone], Field(discriminator="kind")]


class InpaintStep(PassStep):
    """Inpaint a zone: repaint what the mask covers, keep every other pixel exactly."""

    op: Literal["inpaint"] = "inpaint"
    image: str | None = param(None, en="Input picture as sha256:HEX or a file path; empty: the previous "
                              "step's picture.",
                              de="Eingabebild als sha256:HEX oder Dateipfad; leer: das Bild des vorigen Schritts.")
    zone: Zone = param(en="What to repaint: box, ellipse, mask picture or a detected zone (face).",
                       de="Was neu gemalt wird: Rechteck, Ellipse, Maskenbild oder erkannte Zone (Gesicht).")
    denoise: float = param(0.75, ge=0.0, le=1.0, en="Denoising strength inside the zone.",
                           de="Entrauschungsstärke in der Zone.")
    steps: int | None = param(None, ge=1, le=150, en="Steps (denoise x steps are run); empty: the previous "
                              "step's, else 20.",
                              de="Schritte (denoise x Schritte laufen); leer: die des vorigen, sonst 20.")
    mask_blur: int = param(4, ge=0, le=64, en="Gaussian blur of the mask edge in pixels.",
                           de="Weichzeichnung der Maskenkante in Pixeln.")
    mask_grow: int = param(0, ge=-64, le=64, en="Grow (dilate, >0) or shrink (erode, <0) the mask in pixels.",
                           de="Maske vergrößern (>0) oder verkleinern (<0), in Pixeln.")
    masked_content: Literal["original", "fill", "latent noise", "latent nothing"] = param(
        "original", en="What the zone starts from: the original, a fill of its surroundings, noise or nothing.",
        de="Womit die Zone beginnt: Original, Füllung aus der Umgebung, Rauschen oder nichts.")
    inpaint_area: Literal["whole", "masked"] = param(
        "whole", en="Repaint at the whole picture's size, or only the masked region upscaled to the model's size.",
        de="In voller Bildgröße neu malen oder nur den maskierten Ausschnitt, vergrößert auf die Modellgröße.")
    padding: int = param(32, ge=0, le=256, en="Only masked: context pixels around the zone.",
                         de="Nur maskiert: Pixel Kontext um die Zone.")
    width: int | None = param(None, ge=8, le=MAX_SIDE, en="Only masked: processing width; empty: native size.",
                              de="Nur maskiert: Arbeitsbreite; leer: native Größe.")
    height: int | None = param(None, ge=8, le=MAX_SIDE, en="Only masked: processing height; empty: native size.",
                               de="Nur maskiert: Arbeitshöhe; leer: native Größe.")
    color_correction: bool = param(False, en="Match the zone's colours to its unmasked surroundings.",
                                   de="Farben der Zone an die unmaskierte Umgebung angleichen.")

    _check_image = field_validator("image")(lambda cls, v: _input_ref(v))
    _check_sizes = field_validator("width", "height")(lambda cls, v: _size_or_none(v))


STEP_TYPES = (GenerateStep, HiresStep, Img2ImgStep, InpaintStep)
Step = Annotated[Union[GenerateStep, HiresStep, Img2ImgStep, InpaintStep], Field(discriminator="op")]


class ModelRef(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = param(en="Registered model name.", de="Name des registrierten Modells.")
    sha256: str | None = param(None, en="SHA-256 of the weights.", de="SHA-256 der Gewichte.")


class Runtime(BaseModel):
    """What bit-identical replay depends on besides the parameters."""

    model_config = ConfigDict(extra="forbid")

    device: str = "cpu"
    dtype: str = "float32"
    threads: int = 1
    torch: str = ""
    diffusers: str = ""
    darkroom: str = ""


class Recipe(BaseModel):
    model_config = ConfigDict(extra="forbid")

    darkroom_recipe: Literal[1] = RECIPE_VERSION
    model: ModelRef
    steps: list[Step] = Field(min_length=1)
    runtime: Runtime | None = None

    def canonical_json(self) -> str:
        return canonical_json(self.model_dump(mode="json"))

    def sha256(self) -> str:
        return hashlib.sha256(self.canonical_json().encode()).hexdigest()

    @classmethod
    def parse(cls, text: str | bytes | dict) -> "Recipe":
        """Parse JSON (or a dict); errors name the step index and the field."""
        try:
            if isinstance(text, dict):
                return cls.model_validate(text)
            return cls.model_validate_json(text)
        except ValidationError as err:
            raise InvalidParameter("invalid recipe: " + describe_errors(err)) from None


def canonical_json(data: Any) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def describe_errors(err: ValidationError) -> str:
    """One line per problem: 'steps[0].seed: Input should be ...'."""
    parts = []
    for problem in err.errors():
        where = ""
        for item in problem["loc"]:
            if isinstance(item, int):
                where += f"[{item}]"
            elif item not in ("generate", "hires", "img2img", "inpaint", "box", "ellipse", "mask", "detect"):
                where += ("." if where else "") + str(item)
        message = problem["msg"].removeprefix("Value error, ")
        parts.append(f"{where or 'recipe'}: {message}")
    return "; ".join(parts)
