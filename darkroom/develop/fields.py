"""Field types the step models share: each range, list of choices and check is written once.

A step field is `name: Type = param(default, en=..., de=...)`. The type (`Denoise`, `Side`,
`Sampler`, ...) carries the range or the choices and the checks; `param` adds the default
and the one-line description in English and German. The CLI flags, the JSON schema and the
validation messages all derive from these two.

    PassStep    what every later diffusion pass may change (empty: the previous step's value)
    ImageStep   a pass over a picture (img2img, inpaint, outpaint): image, denoise, steps

Nothing heavy is imported here (no torch, numpy or PIL): the recipe schema loads fast.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Callable, Iterable, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from darkroom.develop.samplers import SAMPLERS
from darkroom.develop.upscalers import UPSCALERS

MAX_SIDE = 4096
MAX_PIXELS = 2048 * 2048
MAX_SEED = 2**32 - 1
MAX_STEPS = 150
INPUT_REF = "sha256:"
MAX_TEXT = 10_000  # characters in one text field of a recipe (a prompt)
_CONTROL = re.compile("[\\x00-\\x08\\x0b-\\x1f\\x7f-\\x9f]")  # C0 and C1 controls but tab, LF, CR


def param(default: Any = ..., *, en: str, de: str, **limits) -> Any:
    """A step field with its bilingual one-line description."""
    return Field(default, description=en, json_schema_extra={"description_de": de}, **limits)


def check_text(value: Any, where: str = "") -> None:
    """Raise ValueError for a string (anywhere inside `value`) that is not plain Unicode text: a lone
    surrogate (what undecodable bytes on a command line become: it could not be hashed, stored or
    embedded), a control character other than tab and newline (a NUL ends a C string and is invalid
    in a PNG text chunk), or more than MAX_TEXT characters (no prompt needs that; a megabyte of text
    would tie up the tokenizer and the policy)."""
    if isinstance(value, str):
        _check_string(value, f"{where}: " if where else "")
    elif isinstance(value, dict):
        for key, item in value.items():
            check_text(key, where)
            check_text(item, f"{where}.{key}" if where else str(key))
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            check_text(item, f"{where}[{index}]")


def _check_string(value: str, where: str) -> None:
    if len(value) > MAX_TEXT:
        raise ValueError(f"{where}the text is {len(value)} characters long; at most {MAX_TEXT} are accepted")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as err:
        char = value[err.start]
        raise ValueError(f"{where}the text is not valid Unicode (a lone surrogate \\u{ord(char):04x} at position "
                         f"{err.start}, from bytes that are not UTF-8); retype it or fix its encoding") from None
    control = _CONTROL.search(value)
    if control:
        raise ValueError(f"{where}the text contains the control character U+{ord(control.group()):04X} at "
                         f"position {control.start()}; remove it (tab and newline are fine)")


class StepModel(BaseModel):
    # allow_inf_nan=False: NaN passes no range check ("nan should be <= 30"), so it is refused as what it is
    model_config = ConfigDict(extra="forbid", validate_assignment=True, defer_build=True, allow_inf_nan=False)

    @model_validator(mode="before")
    @classmethod
    def _valid_text(cls, data: Any) -> Any:
        check_text(data)
        return data


class SchemaExtra:
    """Annotated metadata: keys added to the field's JSON schema; a callable value is called when
    the schema is made (so names registered later, such as detectors, are listed too)."""

    def __init__(self, **values):
        self.values = values

    def __get_pydantic_json_schema__(self, core_schema, handler):
        schema = handler(core_schema)
        schema.update({key: value() if callable(value) else value for key, value in self.values.items()})
        return schema


def choice(what: str, names: Callable[[], Iterable[str]]):
    """A str that must be one of `names()`: case and spacing do not matter, the canonical spelling is
    kept, and the JSON schema lists the names as an enum."""

    def canonical(value):
        if not isinstance(value, str):
            return value  # the str check reports it
        wanted = " ".join(value.split()).lower()
        found = next((name for name in names() if name.lower() == wanted), None)
        if found is None:
            raise ValueError(f"unknown {what} {value!r}; choose one of: {', '.join(names())}")
        return found

    return Annotated[str, BeforeValidator(canonical), SchemaExtra(enum=lambda: list(names()))]


def _check_multiple_of_8(value: int) -> int:
    if value % 8:
        raise ValueError(f"{value} is not a multiple of 8; try {max(8, round(value / 8) * 8)}")
    return value


def multiple_of_8(low: int, high: int):
    """An int from `low` to `high` in steps of 8 (picture sides stay multiples of 8)."""
    return Annotated[int, Field(ge=low, le=high), AfterValidator(_check_multiple_of_8), SchemaExtra(multipleOf=8)]


def _check_input_ref(value: str) -> str:
    if not value.strip():
        raise ValueError("the image reference is empty; give sha256:HEX or a file path")
    digits = value[len(INPUT_REF):]
    if value.startswith(INPUT_REF) and (len(digits) != 64 or any(c not in "0123456789abcdef" for c in digits)):
        raise ValueError(f"{value!r} is not sha256: followed by 64 lowercase hex digits")
    return value


Seed = Annotated[int, Field(ge=-1, le=MAX_SEED)]
Steps = Annotated[int, Field(ge=1, le=MAX_STEPS)]
Cfg = Annotated[float, Field(ge=0.0, le=30.0)]
Denoise = Annotated[float, Field(ge=0.0, le=1.0)]
ClipSkip = Annotated[int, Field(ge=1, le=12)]
MaskBlur = Annotated[int, Field(ge=0, le=64)]
FeatureCache = Annotated[int, Field(ge=0, le=10)]
TokenMerge = Annotated[float, Field(ge=0.0, le=0.75)]
CfgUntil = Annotated[float, Field(gt=0.0, le=1.0)]
Quantize = Literal["off", "int8"]
Side = multiple_of_8(8, MAX_SIDE)
ImageRef = Annotated[str, AfterValidator(_check_input_ref)]
Sampler = choice("sampler", lambda: SAMPLERS)
Upscaler = choice("upscaler", lambda: UPSCALERS)


class PassStep(StepModel):
    """What a later diffusion pass may change; empty fields keep the previous step's value."""

    prompt: str | None = param(None, en="Prompt of this pass; empty: the previous step's prompt.",
                               de="Prompt dieses Durchgangs; leer: der Prompt des vorigen Schritts.")
    negative_prompt: str | None = param(None, en="Negative prompt of this pass; empty: the previous step's.",
                                        de="Negativer Prompt dieses Durchgangs; leer: der des vorigen Schritts.")
    seed: Seed | None = param(None, en="Noise seed; empty: the previous step's seed (as A1111's hires fix); "
                              "-1: random.",
                              de="Startwert; leer: der des vorigen Schritts (wie A1111s Hires-Fix); -1: zufällig.")
    cfg: Cfg | None = param(None, en="Guidance scale (CFG); empty: the previous step's.",
                            de="Prompt-Führung (CFG); leer: die des vorigen Schritts.")
    sampler: Sampler | None = param(None, en="Sampler (A1111 name); empty: the previous step's.",
                                    de="Sampler (A1111-Name); leer: der des vorigen Schritts.")
    clip_skip: ClipSkip | None = param(None, en="Clip skip; empty: the previous step's.",
                                       de="Clip skip; leer: der des vorigen Schritts.")
    feature_cache: FeatureCache | None = param(
        None, en="Feature cache interval (DeepCache); empty: the previous step's.",
        de="Intervall des Feature-Caches (DeepCache); leer: das des vorigen Schritts.")
    token_merge: TokenMerge | None = param(
        None, exclude_if=lambda value: value is None,  # left out when empty: older recipes keep their hash
        en="Token merging (ToMe) ratio; empty: the previous step's.",
        de="Anteil zusammengeführter Tokens (ToMe); leer: der des vorigen Schritts.")
    quantize: Quantize | None = param(
        None, exclude_if=lambda value: value is None,
        en="int8 quantization of the UNet's Linear layers; empty: the previous step's.",
        de="int8-Quantisierung der Linear-Schichten des UNet; leer: die des vorigen Schritts.")
    cfg_until: CfgUntil | None = param(
        None, exclude_if=lambda value: value is None,
        en="Share of the steps run with guidance (CFG); empty: the previous step's.",
        de="Anteil der Schritte mit Prompt-Führung (CFG); leer: der des vorigen Schritts.")


class ImageStep(PassStep):
    """A pass over a picture: the previous step's or an input, denoised again from `denoise`."""

    image: ImageRef | None = param(None, en="Input picture as sha256:HEX (library) or a file path; empty: the "
                                   "previous step's picture.",
                                   de="Eingabebild als sha256:HEX (Bibliothek) oder Dateipfad; leer: das Bild des "
                                   "vorigen Schritts.")
    denoise: Denoise = param(0.75, en="Denoising strength: 0 keeps the picture (or zone), 1 ignores it.",
                             de="Entrauschungsstärke: 0 behält das Bild (oder die Zone), 1 ignoriert es.")
    steps: Steps | None = param(None, en="Steps (as A1111: denoise x steps are run); empty: the previous "
                                "step's, else 20.",
                                de="Schritte (wie A1111 laufen denoise x Schritte); leer: die des vorigen, sonst 20.")
