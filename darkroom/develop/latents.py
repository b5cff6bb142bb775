"""Between pixels and latents: VAE encode and decode, tiled for large pictures.

Encoding takes the mean of the VAE's latent distribution (no random draw), so an encode
is a pure function of the picture and every random number of a step comes from its seed.
Decoding is exactly what the diffusers pipelines do (`vae.decode`, then the pipeline's
image processor rounds to 8 bits). Big pictures go through the VAE in overlapping tiles
(diffusers' own tiling), which keeps memory flat whatever the size.
"""

from __future__ import annotations

from contextlib import contextmanager

import torch
from PIL import Image

TILE_ABOVE = 1536 * 1536  # "auto" tiles pictures with more pixels than this


def wants_tiling(mode: str, width: int, height: int) -> bool:
    return mode == "on" or (mode == "auto" and width * height > TILE_ABOVE)


def any_pipeline(engine):
    """A pipeline of the engine that exists for every model (inpaint models have only inpaint)."""
    return engine.pipeline("inpaint" if engine.unet_in_channels == 9 else "txt2img")


@contextmanager
def _vae_ready(vae, tiled: bool):
    """Tiling on for this call only; fp16 VAEs that ask for it (SDXL) run in float32, as the pipelines do."""
    dtype = vae.dtype
    upcast = dtype == torch.float16 and bool(getattr(vae.config, "force_upcast", False))
    if upcast:
        vae.to(torch.float32)
    if tiled:
        vae.enable_tiling()
    try:
        with torch.no_grad():
            yield vae.dtype
    finally:
        if tiled:
            vae.disable_tiling()
        if upcast:
            vae.to(dtype)


def decode(engine, latents: torch.Tensor, tiled: bool = False) -> Image.Image:
    pipe = any_pipeline(engine)
    vae = pipe.vae
    with _vae_ready(vae, tiled) as dtype:
        image = vae.decode(latents.to(dtype) / vae.config.scaling_factor, return_dict=False)[0]
    return pipe.image_processor.postprocess(image, output_type="pil")[0]


def pixels_to_tensor(engine, image: Image.Image) -> torch.Tensor:
    """(1, 3, H, W) in [-1, 1], as the pipelines preprocess a picture."""
    return any_pipeline(engine).image_processor.preprocess(image.convert("RGB"))


def encode_tensor(engine, pixels: torch.Tensor, tiled: bool = False) -> torch.Tensor:
    vae = any_pipeline(engine).vae
    with _vae_ready(vae, tiled) as dtype:
        dist = vae.encode(pixels.to(engine.device, dtype)).latent_dist
        latents = dist.mode() * vae.config.scaling_factor
    return latents.to(engine.dtype)


def encode(engine, image: Image.Image, tiled: bool = False) -> torch.Tensor:
    return encode_tensor(engine, pixels_to_tensor(engine, image), tiled)
