"""MultiDiffusion (Bar-Tal et al. 2023) for big pictures: every UNet call in overlapping latent tiles.

A UNet's first attention layers see every latent pixel at once: at 2048x2048 an SD1.5 call has
65536 tokens there, 256 times the attention work of 512x512 and, for the other layers,
activations 16 times as big. Tiled, each call runs the UNet on windows of the model's native
size (64x64 latents for SD1.5) that overlap by a quarter, one after the other, and blends their
noise predictions with weights that fall off towards a window's edges (MultiDiffusion's per-step
fusion: the result is the weighted average where windows overlap). Memory stays that of one window
whatever the size, and the work grows with the area. Every window is conditioned on the whole
prompt, so at a high denoise a window can grow its own copy of the subject: use it for hires
fixes at moderate denoise. The order and the weights are fixed, so a tiled pass replays bit for bit.

`tiled_unet(unet, tile)` returns a view of a diffusers UNet2DConditionModel (a shallow copy with its
own `forward`); the shared UNet is not changed. With feature caching each window keeps its own cache.
"""

from __future__ import annotations

import copy

import torch

OVERLAP = 4  # a window overlaps its neighbours by 1/OVERLAP of its side


def starts(size: int, tile: int, overlap: int) -> list[int]:
    """Window offsets that cover 0..size with windows of `tile` overlapping by at least `overlap`."""
    if size <= tile:
        return [0]
    stride = tile - overlap
    count = -(-(size - tile) // stride) + 1
    return [round(i * (size - tile) / (count - 1)) for i in range(count)]


def ramp(length: int, overlap: int, at_start: bool, at_end: bool, like: torch.Tensor) -> torch.Tensor:
    """1-D window weights: rising over `overlap` pixels at a side that has a neighbour, else 1."""
    weights = torch.ones(length, dtype=like.dtype, device=like.device)
    rise = torch.arange(1, overlap + 1, dtype=like.dtype, device=like.device) / (overlap + 1)
    if overlap and not at_start:
        weights[:overlap] = rise
    if overlap and not at_end:
        weights[-overlap:] = rise.flip(0)
    return weights


def windows(height: int, width: int, tile: int) -> list[tuple[int, int, int, int]]:
    """(top, left, h, w) of every window, row by row."""
    overlap = tile // OVERLAP
    return [(top, left, min(tile, height), min(tile, width))
            for top in starts(height, tile, overlap) for left in starts(width, tile, overlap)]


def tiled_unet(unet, tile: int, feature_cache: int = 0):
    """A view of `unet` whose calls on latents bigger than `tile` run window by window."""
    view = copy.copy(unet)
    inner: dict[int, object] = {}

    def model_for(index: int):
        if feature_cache <= 1:
            return unet
        if index not in inner:
            from darkroom.develop.featurecache import cached_unet

            inner[index] = cached_unet(unet, feature_cache)
        return inner[index]

    def forward(sample: torch.Tensor, timestep, encoder_hidden_states: torch.Tensor, *args, **kwargs):
        height, width = sample.shape[-2:]
        parts = windows(height, width, tile)
        if len(parts) == 1:
            return model_for(0)(sample, timestep, encoder_hidden_states, *args, **kwargs)
        kwargs["return_dict"] = False
        total = torch.zeros_like(sample[:, :unet.config.out_channels], dtype=torch.float32)
        weight_sum = torch.zeros_like(total[:1, :1])
        overlap = tile // OVERLAP
        for index, (top, left, h, w) in enumerate(parts):
            window = sample[..., top:top + h, left:left + w]
            out = model_for(index)(window, timestep, encoder_hidden_states, *args, **kwargs)[0]
            weights = (ramp(h, overlap, top == 0, top + h == height, total)[:, None]
                       * ramp(w, overlap, left == 0, left + w == width, total)[None, :])
            total[..., top:top + h, left:left + w] += out * weights
            weight_sum[..., top:top + h, left:left + w] += weights
        return ((total / weight_sum).to(sample.dtype),)

    view.forward = forward
    return view
