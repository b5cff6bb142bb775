"""Cheap preview pictures of latents, for showing a picture while it is being denoised.

Three ways, from dearest to cheapest: the model's own VAE ("vae", exact, chosen only when its
decoder is small: the mini model's, not SD's), a registered TAESD (diffusers AutoencoderTiny,
"taesd"), and a fixed 4x3 linear map from latent channels to RGB ("approx", AUTOMATIC1111's
"Approx cheap", one picture pixel per latent pixel). None of them changes the model it is given:
previews run between steps of a job that keeps using the same VAE. `PreviewPace` decides when:
paced by time, previews take at most PREVIEW_SHARE of a job, by their measured cost.
"""

from __future__ import annotations

import time

import torch
from PIL import Image

# latent channel -> (R, G, B), from AUTOMATIC1111/stable-diffusion-webui modules/sd_vae_approx.py,
# cheap_approximation() (commit 326c86913ce02ac7e5efd720009db79575864e90), which credits
# https://discuss.huggingface.co/t/decoding-latents-to-rgb-without-upscaling/23204/2
APPROX = {
    "sd": (
        (0.298, 0.207, 0.208),
        (0.187, 0.286, 0.173),
        (-0.158, 0.189, 0.264),
        (-0.184, -0.271, -0.473),
    ),
    "sdxl": (
        (0.3448, 0.4168, 0.4395),
        (-0.1953, -0.0290, 0.0250),
        (0.1074, 0.0886, -0.0163),
        (-0.3730, -0.2499, -0.2088),
    ),
}
METHODS = ("vae", "approx", "taesd")
VAE_UP_TO = 32 * 32  # latent pixels beyond which a full decode only makes a picture to shrink
# decoder parameters x latent pixels (a measure of a decode's work) that a preview may cost: darkroom-mini's
# decoder (0.41M parameters) at 32x32 latents. SD's (49M) costs 120x that at 32x32 (256 px): more than a step.
VAE_BUDGET = 420_000 * VAE_UP_TO
PREVIEW_SHARE = 0.10  # of the denoising time, at most, that previews paced by time may take


def decoder_parameters(vae) -> int:
    """Parameters of the part of `vae` that decodes (all of it if it has no `decoder`)."""
    part = getattr(vae, "decoder", None) or vae
    return sum(p.numel() for p in part.parameters())


def choose_method(vae, latent_width: int, latent_height: int, has_taesd: bool) -> str:
    """The model's own VAE when a decode is cheap (a small decoder, small latents), else a
    registered TAESD, else the linear map."""
    pixels = latent_width * latent_height
    if vae is not None and pixels <= VAE_UP_TO and decoder_parameters(vae) * pixels <= VAE_BUDGET:
        return "vae"
    return "taesd" if has_taesd else "approx"


class PreviewPace:
    """When a job shows its next preview. With `every` N steps (or `interval` 0: every step) as
    asked; paced by time, at least `interval` seconds apart and never more than `share` of the
    time: a preview that took c seconds waits c * (1 - share) / share seconds of denoising.
    The first and the last step always show one."""

    def __init__(self, interval: float, every: int, share: float = PREVIEW_SHARE, clock=time.perf_counter):
        self.interval, self.every, self.share, self.clock = interval, every, share, clock
        self.cost = 0.0  # seconds the latest preview took
        self.shown = 0
        self._end: float | None = None  # when the latest preview was done

    def due(self, step: int, total: int) -> bool:
        if self._end is None or step == total:
            return True
        if self.every:
            return step % self.every == 0
        if self.interval <= 0:
            return True
        return self.clock() - self._end >= max(self.interval, self.cost * (1 - self.share) / self.share)

    def start(self) -> float:
        return self.clock()

    def done(self, started: float) -> None:
        self._end = self.clock()
        self.cost, self.shown = self._end - started, self.shown + 1


def preview_image(latents: torch.Tensor, *, method: str, family: str, vae=None, scaling_factor: float = 0.18215,
                  taesd=None, max_side: int = 256) -> Image.Image:
    """A preview of (1, 4, h, w) latents as the UNet sees them; `method` is one of METHODS."""
    if method == "approx":
        return approx_rgb(latents, family)
    if method == "vae" and vae is not None:
        return vae_rgb(vae, latents, scaling_factor, max_side)
    if method == "taesd" and taesd is not None:
        return tiny_vae_rgb(taesd, latents, max_side)
    if method not in METHODS:
        raise ValueError(f"unknown preview method {method!r}; use one of {METHODS}")
    raise ValueError(f"preview method {method!r} needs its decoder (vae= or taesd=)")


def approx_rgb(latents: torch.Tensor, family: str) -> Image.Image:
    """The linear approximation, at latent resolution: size (w, h)."""
    coefs = torch.tensor(APPROX["sdxl" if family == "sdxl" else "sd"], device=latents.device)
    rgb = torch.einsum("lhw,lr->rhw", latents[0].float(), coefs)
    return _to_image(rgb)


def vae_rgb(vae, latents: torch.Tensor, scaling_factor: float, max_side: int = 256) -> Image.Image:
    """A real decode in the VAE's own dtype and device, tiling as it is set; the VAE is left as it was."""
    with torch.no_grad():
        z = latents[:1].to(device=vae.device, dtype=vae.dtype) / scaling_factor
        image = vae.decode(z, return_dict=False)[0]
    return _shrink(_to_image(image[0]), max_side)


def tiny_vae_rgb(taesd, latents: torch.Tensor, max_side: int = 256) -> Image.Image:
    """A TAESD decode; TAESD takes the UNet's latents as they are (its scaling_factor is 1.0)."""
    with torch.no_grad():
        z = latents[:1].to(device=taesd.device, dtype=taesd.dtype) / taesd.config.scaling_factor
        image = taesd.decode(z, return_dict=False)[0]
    return _shrink(_to_image(image[0]), max_side)


def _to_image(rgb: torch.Tensor) -> Image.Image:
    """(3, h, w) in [-1, 1] -> RGB, rounded as the pipelines' image processor does (non-finite -> grey)."""
    pixels = torch.nan_to_num(rgb.float(), nan=0.0, posinf=1.0, neginf=-1.0)
    pixels = ((pixels + 1) / 2).clamp(0, 1).mul(255).round().to(torch.uint8)
    return Image.fromarray(pixels.permute(1, 2, 0).cpu().numpy())


def _shrink(image: Image.Image, max_side: int) -> Image.Image:
    scale = max_side / max(image.size)
    if scale >= 1:
        return image
    size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    return image.resize(size, Image.Resampling.BILINEAR)
