"""Presets: named step values that trade something for speed.

A preset only fills in values the user left empty, when the recipe is built; the recipe then
records every value, so a picture made with a preset replays without knowing presets.
Precision is not a step value: "auto" already picks the fastest exact-enough one for the
device (bfloat16 on CPUs with bf16 hardware, float16 on CUDA, float32 elsewhere).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from darkroom.errors import InvalidParameter


@dataclass(frozen=True)
class Preset:
    name: str
    generate: dict = field(default_factory=dict)  # GenerateStep values (later passes inherit them)
    trades: str = ""


PRESETS = {p.name: p for p in [
    Preset("fast", {"feature_cache": 3},
           "feature cache 3 (the whole UNet every 3rd step, its deep features reused in between): about 1.7-1.9x "
           "faster at the same steps, fine detail differs (PSNR about 25-30 dB against no cache); precision "
           "stays auto"),
]}


def apply_preset(name: str | None, values: dict) -> dict:
    """`values` with the preset's values wherever the user gave none."""
    if not name:
        return values
    preset = PRESETS.get(name.strip().lower())
    if preset is None:
        raise InvalidParameter(f"unknown preset {name!r}; choose one of: {', '.join(PRESETS)}")
    return {**preset.generate, **values}
