"""Hi-Res Fix upscalers, named as A1111 users know them.

Latent upscalers interpolate the latents directly (torch `interpolate` mode and antialias);
pixel upscalers decode, resize the picture with PIL and encode again. Nothing is imported
here beyond the standard library, so the recipe schema can validate names cheaply.
"""

from __future__ import annotations

from dataclasses import dataclass

from darkroom.errors import InvalidParameter


@dataclass(frozen=True)
class Upscaler:
    name: str
    space: str  # "latent" or "pixel"
    mode: str  # torch interpolate mode (latent) or PIL resampling filter name (pixel)
    antialias: bool = False


UPSCALERS: dict[str, Upscaler] = {
    u.name: u
    for u in [
        Upscaler("Latent", "latent", "bilinear"),
        Upscaler("Latent (antialiased)", "latent", "bilinear", True),
        Upscaler("Latent (bicubic)", "latent", "bicubic"),
        Upscaler("Latent (bicubic antialiased)", "latent", "bicubic", True),
        Upscaler("Latent (nearest)", "latent", "nearest"),
        Upscaler("Latent (nearest-exact)", "latent", "nearest-exact"),
        Upscaler("Lanczos", "pixel", "LANCZOS"),
        Upscaler("Bicubic", "pixel", "BICUBIC"),
        Upscaler("Nearest", "pixel", "NEAREST"),
    ]
}
DEFAULT_UPSCALER = "Latent"
_BY_LOWER = {name.lower(): name for name in UPSCALERS}


def canonical_upscaler(name: str) -> str:
    found = _BY_LOWER.get(" ".join(name.split()).lower())
    if found is None:
        raise InvalidParameter(f"unknown upscaler {name!r}; choose one of: {', '.join(UPSCALERS)}")
    return found
