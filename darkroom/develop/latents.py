"""Between pixels and latents: VAE encode and decode, tiled for large pictures.

Encoding takes the mean of the VAE's latent distribution (no random draw), so an encode
is a pure function of the picture and every random number of a step comes from its seed.
Decoding is exactly what the diffusers pipelines do (`vae.decode`, then the pipeline's
image processor rounds to 8 bits). Big pictures go through the VAE in overlapping tiles
(diffusers' own tiling), which keeps memory flat whatever the size. Tiling and precision
are chosen per call; the shared VAE is never switched (no enable_tiling, no .to()).
"""

from __future__ import annotations

import torch
from PIL import Image

TILE_ABOVE = 1536 * 1536  # "auto" tiles pictures with more pixels than this


def wants_tiling(mode: str, width: int, height: int) -> bool:
    return mode == "on" or (mode == "auto" and width * height > TILE_ABOVE)


def any_pipeline(engine):
    """A pipeline of the engine that exists for every model (inpaint models have only inpaint)."""
    return engine.pipeline("inpaint" if engine.unet_in_channels == 9 else "txt2img")


def _fits_one_tile(vae, tensor: torch.Tensor, latent: bool) -> bool:
    limit = vae.tile_latent_min_size if latent else vae.tile_sample_min_size
    return tensor.shape[-1] <= limit and tensor.shape[-2] <= limit


def _auto(tiled: bool | None, tensor: torch.Tensor, factor: int) -> bool:
    """None: tile when the picture has more pixels than TILE_ABOVE."""
    if tiled is not None:
        return tiled
    return tensor.shape[-1] * tensor.shape[-2] * factor * factor > TILE_ABOVE


def decode(engine, latents: torch.Tensor, tiled: bool | None = None) -> Image.Image:
    """The picture of `latents`; `tiled` None: tiled when it is bigger than TILE_ABOVE."""
    vae = engine.vae_for_call()
    z = latents.to(vae.dtype) / vae.config.scaling_factor
    tiled = _auto(tiled, z, 2 ** (len(vae.config.block_out_channels) - 1))
    with torch.no_grad():
        if tiled and not _fits_one_tile(vae, z, latent=True):
            image = vae.tiled_decode(z, return_dict=False)[0]
        else:
            image = vae.decode(z, return_dict=False)[0]
    return any_pipeline(engine).image_processor.postprocess(image, output_type="pil")[0]


def pixels_to_tensor(engine, image: Image.Image) -> torch.Tensor:
    """(1, 3, H, W) in [-1, 1], as the pipelines preprocess a picture."""
    return any_pipeline(engine).image_processor.preprocess(image.convert("RGB"))


def encode_tensor(engine, pixels: torch.Tensor, tiled: bool | None = None) -> torch.Tensor:
    from diffusers.models.autoencoders.vae import DiagonalGaussianDistribution

    vae = engine.vae_for_call()
    x = pixels.to(engine.device, vae.dtype)
    tiled = _auto(tiled, x, 1)
    with torch.no_grad():
        if tiled and not _fits_one_tile(vae, x, latent=False):
            dist = DiagonalGaussianDistribution(vae._tiled_encode(x))
        else:
            dist = vae.encode(x).latent_dist
        latents = dist.mode() * vae.config.scaling_factor
    return latents.to(engine.dtype)


def encode(engine, image: Image.Image, tiled: bool | None = None) -> torch.Tensor:
    return encode_tensor(engine, pixels_to_tensor(engine, image), tiled)
