"""Token merging (ToMe for SD, Bolya & Hoffman 2023): fewer tokens in the largest self-attention.

At full latent resolution (4096 tokens at 512x512) the self-attention is the costliest part of
a UNet step that the feature cache cannot skip. Before it, the tokens are split into
destinations (one per 2x2 patch, which one drawn at random) and sources; the `ratio` share of all
tokens, the sources most similar (cosine) to some destination, are averaged into it. Attention
runs on what is left and its output is copied back to the merged tokens ("unmerge").

`merged_unet(unet, ratio)` returns a *view* of a diffusers UNet2DConditionModel whose
full-resolution self-attentions merge; it shares every weight and changes nothing of `unet`.
The random patches come from the view's own generator with a fixed seed, so a pass replays bit
for bit. Only the highest-resolution blocks merge (tomesd's default: max_downsample 1), and only
grids of at least MIN_TOKENS: on fewer (darkroom-mini's 256) the gathering costs more than the
smaller attention saves (measured), so small pictures are left as they are.
"""

from __future__ import annotations

import torch
from torch import nn

from darkroom.develop.featurecache import module_view

SEED = 0  # the patch draws; a fixed part of the method, so it is not a recipe value
MIN_TOKENS = 1024  # a 32x32 latent: SD1.5 at 256x256 pixels


class _State:
    def __init__(self, ratio: float):
        self.ratio, self.size = ratio, (0, 0)
        self.generator = torch.Generator("cpu").manual_seed(SEED)


class _Size(nn.Module):
    """conv_in: notes the latent's height and width (the token grid of the full-resolution blocks)."""

    def __init__(self, conv: nn.Module, state: _State):
        super().__init__()
        self.conv, self.state = conv, state

    def forward(self, sample: torch.Tensor) -> torch.Tensor:
        self.state.size = tuple(sample.shape[-2:])
        return self.conv(sample)


class _Merged(nn.Module):
    """A self-attention that runs on merged tokens when it sees the full-resolution grid."""

    def __init__(self, attn: nn.Module, state: _State):
        super().__init__()
        self.attn, self.state = attn, state

    def forward(self, hidden_states, encoder_hidden_states=None, *args, **kwargs):
        height, width = self.state.size
        tokens = hidden_states.shape[1]
        if encoder_hidden_states is not None or tokens != height * width or tokens < MIN_TOKENS:
            return self.attn(hidden_states, encoder_hidden_states, *args, **kwargs)
        merge, unmerge = match(hidden_states, height, width, int(height * width * self.state.ratio),
                               self.state.generator)
        return unmerge(self.attn(merge(hidden_states), None, *args, **kwargs))


def _destinations(height: int, width: int, generator: torch.Generator) -> torch.Tensor:
    """True for one token per 2x2 patch, drawn at random (odd edges keep their tokens as sources)."""
    rows, cols = height // 2, width // 2
    pick = torch.randint(4, (rows, cols), generator=generator)
    chosen = torch.zeros(rows, cols, 4, dtype=torch.bool).scatter_(2, pick[..., None], True)
    grid = torch.zeros(height, width, dtype=torch.bool)
    grid[:rows * 2, :cols * 2] = chosen.view(rows, cols, 2, 2).transpose(1, 2).reshape(rows * 2, cols * 2)
    return grid.flatten()


def match(x: torch.Tensor, height: int, width: int, r: int, generator: torch.Generator):
    """Bipartite soft matching of x's tokens (batch, height*width, channels): merge and unmerge functions."""
    batch, tokens, _ = x.shape
    is_dst = _destinations(height, width, generator).to(x.device)
    dst_idx, src_idx = is_dst.nonzero().flatten(), (~is_dst).nonzero().flatten()
    r = min(r, src_idx.numel())
    with torch.no_grad():
        unit = x / x.norm(dim=-1, keepdim=True).clamp_min(1e-6)
        scores = unit[:, src_idx] @ unit[:, dst_idx].transpose(1, 2)
        best, best_dst = scores.max(dim=-1)  # each source's most similar destination
        order = best.argsort(dim=-1, descending=True, stable=True)
        merged, kept = order[:, :r], order[:, r:]  # positions among the sources
        into = best_dst.gather(1, merged)  # positions among the destinations

    def pick(t: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
        return t.gather(1, index[..., None].expand(-1, -1, t.shape[-1]))

    def merge(t: torch.Tensor) -> torch.Tensor:
        src, dst = t[:, src_idx], t[:, dst_idx]
        dst = dst.scatter_reduce(1, into[..., None].expand(-1, -1, t.shape[-1]), pick(src, merged), reduce="mean")
        return torch.cat([pick(src, kept), dst], dim=1)

    def unmerge(t: torch.Tensor) -> torch.Tensor:
        kept_out, dst = t[:, :kept.shape[1]], t[:, kept.shape[1]:]
        out = t.new_empty(batch, tokens, t.shape[-1])
        out[:, dst_idx] = dst
        src = t.new_empty(batch, src_idx.numel(), t.shape[-1])
        src.scatter_(1, kept[..., None].expand_as(kept_out), kept_out)
        src.scatter_(1, merged[..., None].expand(-1, -1, t.shape[-1]), pick(dst, into))
        out[:, src_idx] = src
        return out

    return merge, unmerge


def _merged_block(block: nn.Module, state: _State) -> nn.Module:
    """A copy of an up/down block whose transformers' self-attentions merge."""
    block = module_view(block)
    transformers = []
    for transformer in block.attentions:
        transformer = module_view(transformer)
        inner = []
        for basic in transformer.transformer_blocks:
            basic = module_view(basic)
            basic.attn1 = _Merged(basic.attn1, state)
            inner.append(basic)
        transformer.transformer_blocks = nn.ModuleList(inner)
        transformers.append(transformer)
    block.attentions = nn.ModuleList(transformers)
    return block


def merged_unet(unet, ratio: float):
    """A view of `unet` that merges `ratio` of the tokens in its full-resolution self-attentions."""
    state = _State(ratio)
    view = module_view(unet)
    view.conv_in = _Size(unet.conv_in, state)
    down, up = list(unet.down_blocks), list(unet.up_blocks)
    if hasattr(down[0], "attentions"):
        view.down_blocks = nn.ModuleList([_merged_block(down[0], state), *down[1:]])
    if hasattr(up[-1], "attentions"):
        view.up_blocks = nn.ModuleList([*up[:-1], _merged_block(up[-1], state)])
    return view
