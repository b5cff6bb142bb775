"""The recipe: the one truth about how an image was made.

A recipe is a model reference plus an ordered list of steps. Each step type is a pydantic
model in its own file (generate.py, hires.py, ...), registered in steps.py; its fields take
their ranges and choices from the shared types in fields.py and declare a default and a
one-line description in English and German. The CLI flags, the API schema and validation
messages derive from them. The step models are re-exported here.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_serializer, model_validator

from darkroom.develop.fields import (INPUT_REF, MAX_PIXELS, MAX_SEED, MAX_SIDE, PassStep, StepModel, check_text,
                                     param)
from darkroom.develop.generate import GenerateStep
from darkroom.develop.hires import HiresStep
from darkroom.develop.img2img import Img2ImgStep
from darkroom.develop.inpaint import ZONE_TYPES, BoxZone, DetectZone, EllipseZone, InpaintStep, MaskZone, Zone
from darkroom.develop.steps import OPS, REGISTRY, Step
from darkroom.errors import InvalidParameter

__all__ = ["INPUT_REF", "MAX_PIXELS", "MAX_SEED", "MAX_SIDE", "RECIPE_VERSION", "STEP_TYPES", "BoxZone",
           "DetectZone", "EllipseZone", "GenerateStep", "HiresStep", "Img2ImgStep", "InpaintStep", "MaskZone",
           "ModelRef", "NetworkRef", "PassStep", "Recipe", "Runtime", "Step", "StepModel", "Zone", "canonical_json",
           "describe_errors", "param"]

RECIPE_VERSION = 1
STEP_TYPES = tuple(t.model for t in REGISTRY)
# union tags in error locations ('steps.0.inpaint.zone.box.x'): left out of 'steps[0].zone.x'
_TAGS = frozenset(OPS) | {zone.model_fields["kind"].default for zone in ZONE_TYPES}


class ModelRef(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = param(en="Registered model name.", de="Name des registrierten Modells.")
    sha256: str | None = param(None, en="SHA-256 of the weights.", de="SHA-256 der Gewichte.")

    @model_validator(mode="before")
    @classmethod
    def _valid_text(cls, data: Any) -> Any:
        check_text(data)
        return data


class NetworkRef(BaseModel):
    """A LoRA (from a `<lora:name:weight>` tag) or an embedding (its trigger word) the run applied."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["lora", "embedding"] = param("lora", en="LoRA or textual-inversion embedding.",
                                               de="LoRA oder Textual-Inversion-Embedding.")
    name: str = param(max_length=100, en="Registered name (the tag's or trigger word).",
                      de="Registrierter Name (aus dem Tag oder das Triggerwort).")
    sha256: str | None = param(None, pattern=r"^[0-9a-f]{64}$", en="SHA-256 of the file.",
                               de="SHA-256 der Datei.")
    hash: str | None = param(None, pattern=r"^[0-9a-f]{10,12}$", en="A1111's short hash (Lora hashes / TI hashes).",
                             de="A1111s Kurz-Hash (Lora hashes / TI hashes).")
    weight: float = param(1.0, ge=-10, le=10, allow_inf_nan=False, en="LoRA strength (1 for an embedding).",
                          de="LoRA-Stärke (1 bei einem Embedding).")


class Runtime(BaseModel):
    """What bit-identical replay depends on besides the parameters."""

    model_config = ConfigDict(extra="forbid")

    device: str = "cpu"
    dtype: str = "float32"
    threads: int = 1
    torch: str = ""
    diffusers: str = ""
    darkroom: str = ""


MAX_STEPS = 64  # a develop chain (raw, hires, a dozen zones, upscale) is far shorter; each step is a pass


class Recipe(BaseModel):
    model_config = ConfigDict(extra="forbid")

    darkroom_recipe: Literal[1] = RECIPE_VERSION
    model: ModelRef
    steps: list[Step] = Field(min_length=1, max_length=MAX_STEPS)
    runtime: Runtime | None = None
    networks: list[NetworkRef] = Field(default_factory=list, max_length=32)

    @model_serializer(mode="wrap")
    def _without_empty_networks(self, handler):
        data = handler(self)
        if isinstance(data, dict) and not data.get("networks"):
            data.pop("networks", None)  # a recipe without LoRAs keeps the JSON (and hash) it always had
        return data

    def canonical_json(self) -> str:
        return canonical_json(self.model_dump(mode="json"))

    def sha256(self) -> str:
        return hashlib.sha256(self.canonical_json().encode()).hexdigest()

    @model_validator(mode="before")
    @classmethod
    def _valid_text(cls, data: Any) -> Any:
        check_text(data)
        return data

    @model_validator(mode="after")
    def _steps_in_order(self) -> "Recipe":
        """What the runner would only find out later: the first step must make or take a picture."""
        first = self.steps[0]
        if isinstance(first, HiresStep):
            raise ValueError("steps[0]: a hires step needs a picture before it; start with generate")
        if not isinstance(first, GenerateStep) and getattr(first, "image", None) is None:
            raise ValueError("steps[0].image: the first step needs an input image (or start with generate)")
        later = next((i for i, step in enumerate(self.steps) if i and isinstance(step, GenerateStep)), None)
        if later is not None:
            raise ValueError(f"steps[{later}]: generate can only be the first step")
        return self

    @classmethod
    def parse(cls, text: str | bytes | dict) -> "Recipe":
        """Parse JSON (or a dict); errors name the step index and the field."""
        try:
            if isinstance(text, dict):
                return cls.model_validate(text)
            return cls.model_validate_json(text)
        except ValidationError as err:
            raise InvalidParameter("invalid recipe: " + describe_errors(err)) from None
        except RecursionError:
            raise InvalidParameter("invalid recipe: the JSON is nested too deeply") from None


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
            elif item not in _TAGS:
                where += ("." if where else "") + str(item)
        message = problem["msg"].removeprefix("Value error, ")
        parts.append(f"{where}: {message}" if where else message)
    return "; ".join(parts)
