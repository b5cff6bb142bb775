"""Predicted x0: the picture the model currently believes in, at any step of any sampler.

The `sample` a scheduler steps is alpha_t * x0 + sigma_t * noise. VP schedulers (DDIM,
PNDM, LCM; DPM-Solver, UniPC and DEIS through their own sigma table) keep
alpha_t^2 + sigma_t^2 = 1; the k-diffusion ones (Euler, Heun, LMS, DPM2) keep alpha_t = 1
and a sigma that starts large. `sigma_state` reads (alpha_t, sigma_t) for the step about to
run; `predicted_x0` turns the model output into x0 with them, or takes the scheduler's own
x0 when step() returned one. v is defined on the VP-scaled sample x / sqrt(alpha^2 + sigma^2),
which gives diffusers' Euler formula in sigma space and the DDIM one in VP space.
"""

from __future__ import annotations

import torch

# sqrt of the alpha_bar floor diffusers gives zero-terminal-SNR schedules (2**-24): alpha_t of
# the first trailing step can be exactly 0, where epsilon says nothing about x0
ALPHA_FLOOR = 2.0**-12


def sigma_state(scheduler, timestep) -> tuple[float, float]:
    """(alpha_t, sigma_t) of the `sample` the pipeline passes to scheduler.step, read before step()."""
    return _alpha_sigma(scheduler, timestep, stepped=False)


def predicted_x0(scheduler, model_output, timestep, sample, step_output=None) -> torch.Tensor:
    """x0 in float32; `step_output` is step()'s return_dict=True output when step() has already run."""
    own = _own_x0(step_output)
    if own is not None and bool(torch.isfinite(own).all()):
        return own.float()
    prediction = scheduler.config.prediction_type
    out, x = model_output.float(), sample.float()
    if prediction == "sample":
        return out
    alpha, sigma = _alpha_sigma(scheduler, timestep, stepped=step_output is not None)
    if prediction == "epsilon":
        return (x - sigma * out) / max(alpha, ALPHA_FLOOR)
    if prediction == "v_prediction":
        norm2 = alpha**2 + sigma**2  # 1 in VP space, 1 + sigma^2 in sigma space
        return x * (alpha / norm2) - out * (sigma / norm2**0.5)
    raise ValueError(f"cannot predict x0 for prediction_type {prediction!r}")


def _own_x0(step_output):
    """The x0 a scheduler's step() returns: pred_original_sample, or LCM's `denoised`."""
    for name in ("pred_original_sample", "denoised"):
        value = getattr(step_output, name, None)
        if value is not None:
            return value
    return None


def _alpha_sigma(scheduler, timestep, stepped: bool) -> tuple[float, float]:
    if hasattr(scheduler, "sigmas") and hasattr(scheduler, "_sigma_to_alpha_sigma_t"):  # DPM-Solver, UniPC, DEIS
        sigma = scheduler.sigmas[_step_index(scheduler, timestep, stepped)]
        alpha_t, sigma_t = scheduler._sigma_to_alpha_sigma_t(sigma)
        return float(alpha_t), float(sigma_t)
    if hasattr(scheduler, "sigmas"):  # k-diffusion: sample = x0 + sigma * noise
        return 1.0, float(_k_sigma(scheduler, _step_index(scheduler, timestep, stepped)))
    alpha_bar = float(scheduler.alphas_cumprod[int(timestep)])  # DDIM, PNDM, LCM index by timestep
    return alpha_bar**0.5, (1.0 - alpha_bar) ** 0.5


def _step_index(scheduler, timestep, stepped: bool) -> int:
    """The index step() uses (or used, once `stepped`), as its _init_step_index would set it."""
    if scheduler.step_index is not None:
        return scheduler.step_index - 1 if stepped else scheduler.step_index
    if scheduler.begin_index is not None:
        return scheduler.begin_index
    if isinstance(timestep, torch.Tensor):
        timestep = timestep.to(scheduler.timesteps.device)
    return scheduler.index_for_timestep(timestep)


def _k_sigma(scheduler, index: int):
    """The sample's sigma; DPM2's second stage evaluates at an interpolated sigma (Heun's stays on `sigmas`)."""
    if getattr(scheduler, "state_in_first_order", True) or not hasattr(scheduler, "sigmas_interpol"):
        return scheduler.sigmas[index]
    ancestral = type(scheduler).__name__ == "KDPM2AncestralDiscreteScheduler"
    return scheduler.sigmas_interpol[index - 1 if ancestral else index]
