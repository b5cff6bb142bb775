"""Presets: named step values that trade something for speed.

A preset only fills in values the user left empty, when the recipe is built; the recipe then
records every value, so a picture made with a preset replays without knowing presets.
Precision is not a step value: "auto" already picks the fastest exact-enough one for the
device (float16 on CUDA; on a CPU bfloat16 where it measures faster than float32, else float32).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from darkroom.errors import InvalidParameter


@dataclass(frozen=True)
class Preset:
    name: str
    generate: dict = field(default_factory=dict)  # GenerateStep values (later passes inherit them)
    trades: str = ""
    cpu_float32: dict = field(default_factory=dict)  # added where the UNet runs on a CPU in float32 (int8 kernels)


PRESETS = {p.name: p for p in [
    Preset("fast", {"feature_cache": 3, "token_merge": 0.5, "cfg_until": 0.5},
           "feature cache 3, token merging 0.5, guidance for the first half of the steps and, on a CPU in float32, "
           "int8 Linear layers. Measured for SD1.5 at 512x512, 20 steps, one thread, against plain diffusers in "
           "float32: 2.44x on an Emerald Rapids Xeon without AMX (float32, where bf16 is slower), 3.68x on a Zen 4 "
           "EPYC in bfloat16 (before guidance was halved); short of 5x. Fine detail differs: 44 dB PSNR against "
           "the plain picture on random SD1.5 weights, about 24 dB on darkroom-mini (prompt score 0.97 against "
           "0.93), below the 30 dB goal there; precision stays auto",
           cpu_float32={"quantize": "int8"}),
]}


def runs_cpu_float32(settings) -> bool:
    """Whether a model loaded with these settings runs on a CPU in float32."""
    import torch

    from darkroom.models.engine import resolve_device, resolve_dtype

    device = resolve_device(settings.device)
    return device.type == "cpu" and resolve_dtype(settings.dtype, device) == torch.float32


def apply_preset(name: str | None, values: dict, settings=None) -> dict:
    """`values` with the preset's values wherever the user gave none (`settings`: where it will run;
    empty: the environment's)."""
    if not name:
        return values
    preset = PRESETS.get(name.strip().lower())
    if preset is None:
        raise InvalidParameter(f"unknown preset {name!r}; choose one of: {', '.join(PRESETS)}")
    if preset.cpu_float32:
        from darkroom.settings import Settings

        if runs_cpu_float32(settings or Settings()):
            values = {**preset.cpu_float32, **values}
    return {**preset.generate, **values}
