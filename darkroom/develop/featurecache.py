"""Feature caching (DeepCache, Ma et al. 2023): reuse the UNet's deep features between steps.

Between two denoising steps the deep, low-resolution part of a UNet changes little; its
high-resolution ends (conv_in, the first down block, the last up block) change more. With
interval N, every N-th UNet evaluation runs in full and keeps what the second-to-last up
block puts out; the N-1 evaluations after it run only the shallow ends and take the deep
features from that cache. It is a pure function of the call sequence, so a run with a
cache replays bit for bit.

`cached_unet(unet, N)` returns a *view* of a diffusers UNet2DConditionModel: a shallow copy
with its own module containers whose deep blocks are wrapped; every weight is the shared
UNet's and nothing of the shared UNet changes, so other jobs on the same engine are untouched.
"""

from __future__ import annotations

import copy

import torch
from torch import nn

from darkroom.errors import ModelError


class _State:
    """One denoising pass: how many UNet calls so far, whether this one is a full one, the cache."""

    def __init__(self, interval: int):
        self.interval, self.calls, self.full, self.deep = interval, 0, True, None

    def begin(self, batch: int) -> None:
        if self.deep is not None and self.deep.shape[0] == 2 * batch:
            self.deep = self.deep.chunk(2)[1]  # guidance stopped (denoise.cfg_until): the conditional half
        stale = self.deep is None or self.deep.shape[0] != batch
        self.full = stale or self.calls % self.interval == 0
        self.calls += 1


class _Start(nn.Module):
    """conv_in, which every UNet call runs first: decides whether this call is a full one."""

    def __init__(self, conv: nn.Module, state: _State):
        super().__init__()
        self.conv, self.state = conv, state

    def forward(self, sample: torch.Tensor) -> torch.Tensor:
        self.state.begin(sample.shape[0])
        return self.conv(sample)


class _Deep(nn.Module):
    """A deep block: run on full calls; on cached calls passed over (its outputs are never used)."""

    def __init__(self, block: nn.Module, state: _State, kind: str):
        super().__init__()
        self.block, self.state, self.kind = block, state, kind
        self.has_cross_attention = getattr(block, "has_cross_attention", False)
        self.resnets = block.resnets
        self.outputs = len(block.resnets) + (1 if getattr(block, "downsamplers", None) else 0)

    def forward(self, *args, **kwargs):
        if self.state.full:
            out = self.block(*args, **kwargs)
            if self.kind == "last-deep":
                self.state.deep = out
            return out
        if self.kind == "last-deep":
            return self.state.deep
        hidden = kwargs["hidden_states"] if "hidden_states" in kwargs else args[0]
        return (hidden, (hidden,) * self.outputs) if self.kind == "down" else hidden


def module_view(module: nn.Module) -> nn.Module:
    """A shallow copy with its own container of children: assigning one leaves `module` alone."""
    view = copy.copy(module)
    view._modules = dict(module._modules)
    return view


def cached_unet(unet, interval: int):
    """A view of `unet` that runs in full every `interval`-th call and from the cache in between."""
    if len(unet.down_blocks) < 2 or len(unet.up_blocks) < 2:
        raise ModelError("feature caching needs a UNet with at least two down and up blocks")
    state = _State(interval)
    view = module_view(unet)
    view.conv_in = _Start(unet.conv_in, state)
    down, up = list(unet.down_blocks), list(unet.up_blocks)
    view.down_blocks = nn.ModuleList([down[0], *(_Deep(b, state, "down") for b in down[1:])])
    if unet.mid_block is not None:
        view.mid_block = _Deep(unet.mid_block, state, "mid")
    view.up_blocks = nn.ModuleList([*(_Deep(b, state, "up") for b in up[:-2]), _Deep(up[-2], state, "last-deep"),
                                    up[-1]])
    return view
