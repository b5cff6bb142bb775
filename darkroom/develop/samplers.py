"""A1111 sampler names, each mapped to the diffusers scheduler that implements it.

The mapping follows the table in diffusers' scheduler documentation. A scheduler is
always built from the model's own scheduler config (betas, prediction type, timestep
spacing), so v-prediction and zero-terminal-SNR models keep working with every sampler.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field

from darkroom.errors import InvalidParameter


@dataclass(frozen=True)
class Sampler:
    name: str
    scheduler: str
    options: dict = field(default_factory=dict)
    max_steps: int | None = None  # the longest schedule it can make


def _karras(**options) -> dict:
    return {"use_karras_sigmas": True, **options}


_SDE = {"algorithm_type": "sde-dpmsolver++"}

SAMPLERS: dict[str, Sampler] = {
    s.name: s
    for s in [
        Sampler("DPM++ 2M", "DPMSolverMultistepScheduler"),
        Sampler("DPM++ 2M Karras", "DPMSolverMultistepScheduler", _karras()),
        Sampler("DPM++ 2M SDE", "DPMSolverMultistepScheduler", dict(_SDE)),
        Sampler("DPM++ 2M SDE Karras", "DPMSolverMultistepScheduler", _karras(**_SDE)),
        Sampler("DPM++ 3M SDE", "DPMSolverMultistepScheduler", {**_SDE, "solver_order": 3}),
        Sampler("DPM++ 3M SDE Karras", "DPMSolverMultistepScheduler", _karras(**_SDE, solver_order=3)),
        Sampler("DPM++ SDE", "DPMSolverSinglestepScheduler"),
        Sampler("DPM++ SDE Karras", "DPMSolverSinglestepScheduler", _karras()),
        Sampler("DPM2", "KDPM2DiscreteScheduler"),
        Sampler("DPM2 Karras", "KDPM2DiscreteScheduler", _karras()),
        Sampler("DPM2 a", "KDPM2AncestralDiscreteScheduler"),
        Sampler("DPM2 a Karras", "KDPM2AncestralDiscreteScheduler", _karras()),
        Sampler("Euler", "EulerDiscreteScheduler"),
        Sampler("Euler a", "EulerAncestralDiscreteScheduler"),
        Sampler("Heun", "HeunDiscreteScheduler"),
        Sampler("LMS", "LMSDiscreteScheduler"),
        Sampler("LMS Karras", "LMSDiscreteScheduler", _karras()),
        Sampler("DDIM", "DDIMScheduler"),
        Sampler("PLMS", "PNDMScheduler", {"skip_prk_steps": True}),
        Sampler("UniPC", "UniPCMultistepScheduler"),
        Sampler("DEIS", "DEISMultistepScheduler"),
        # few-step sampling for an LCM-LoRA or an LCM/Turbo checkpoint: 2-8 steps, CFG 1-2 (CFG 1 runs
        # no unconditional pass: half the UNet work); on a plain model it gives blurry pictures
        Sampler("LCM", "LCMScheduler", max_steps=50),
    ]
}

DEFAULT_SAMPLER = "DPM++ 2M Karras"
_BY_LOWER = {name.lower(): name for name in SAMPLERS}
# alpha_bar at the last step for zero-terminal-SNR schedules, as diffusers' Euler uses
_ZERO_SNR_FLOOR = 2.0**-24


def canonical_name(name: str) -> str:
    """The sampler's A1111 spelling; case and surrounding spaces do not matter."""
    found = _BY_LOWER.get(" ".join(name.split()).lower())
    if found is None:
        valid = ", ".join(SAMPLERS)
        raise InvalidParameter(f"unknown sampler {name!r}; choose one of: {valid}")
    return found


def check_steps(name: str, steps: int) -> None:
    """Refuse a schedule longer than the sampler can make (LCM: its 50 original steps)."""
    limit = SAMPLERS[canonical_name(name)].max_steps
    if limit is not None and steps > limit:
        raise InvalidParameter(f"the {canonical_name(name)} sampler makes at most {limit} steps, not {steps} "
                               "(in img2img: steps / denoise); it is meant for 2-8 steps")


def make_scheduler(name: str, base_config):
    """A fresh diffusers scheduler for sampler `name`, configured like the model's own."""
    import diffusers

    sampler = SAMPLERS[canonical_name(name)]
    cls = getattr(diffusers, sampler.scheduler)
    options = dict(sampler.options)
    accepted = inspect.signature(cls.__init__).parameters
    if base_config.get("rescale_betas_zero_snr") and "rescale_betas_zero_snr" not in accepted:
        options["trained_betas"] = _zero_snr_betas(dict(base_config)).tolist()
    return cls.from_config(base_config, **options)


def _zero_snr_betas(config: dict):
    """The zero-terminal-SNR betas of a config, for schedulers that cannot rescale.

    The last alpha_bar is raised from 0 to a tiny floor so sigma stays finite.
    """
    import diffusers
    import torch

    reference = diffusers.DDPMScheduler.from_config({**config, "rescale_betas_zero_snr": True})
    alphas_bar = reference.alphas_cumprod.to(torch.float64).clone()
    alphas_bar[-1] = _ZERO_SNR_FLOOR
    previous = torch.cat([torch.ones(1, dtype=torch.float64), alphas_bar[:-1]])
    return 1.0 - alphas_bar / previous
