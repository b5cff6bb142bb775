"""Dynamic int8 quantization of a UNet's Linear layers (torch.ao; fbgemm/x86 kernels, AVX2 is enough).

Every nn.Linear's weights are quantized to int8 per output channel when the view is made;
activations are quantized on each call from their own range ("dynamic"), so the output is a pure
function of the input: deterministic and replayable. Convolutions stay float32: torch's dynamic
int8 convolution (torch.ao.nn.quantized.dynamic.Conv2d, torch 2.13, every engine) is wrong for inputs
that are not centred on zero, as after a SiLU: 50-75% relative error measured on darkroom-mini's and
SD1.5-sized layers, against 0.2-0.4% for the same int8 arithmetic done by hand. Layers narrower
than MIN_FEATURES stay float32 too: for those, quantizing the activations costs more than the int8
product saves (darkroom-mini, 32-128 wide, ran 1.3x slower).
Runs on a CPU in float32 only.

`int8_unet(unet)` returns a view: a copy of the module tree that shares every float weight with
`unet`, with its Linear layers swapped for quantized ones; `unet` itself is not changed.
"""

from __future__ import annotations

import warnings

import torch
from torch import nn

from darkroom.develop.featurecache import module_view
from darkroom.errors import InvalidParameter

MIN_FEATURES = 256  # SD's layers are 320-1280 wide


def _tree_view(module: nn.Module) -> nn.Module:
    view = module_view(module)
    for name, child in module._modules.items():
        if child is not None:
            view._modules[name] = _tree_view(child)
    return view


def int8_unet(unet):
    """A view of `unet` whose Linear layers compute in int8."""
    if unet.device.type != "cpu" or unet.dtype != torch.float32:
        raise InvalidParameter(f"int8 quantization runs on a CPU in float32; this model runs on {unet.device.type} "
                               f"in {str(unet.dtype).removeprefix('torch.')}: set quantize to off "
                               "(or --precision float32 on a CPU)")
    from torch.ao.quantization import per_channel_dynamic_qconfig, quantize_dynamic

    view = _tree_view(unet)
    wide = {name for name, m in view.named_modules()
            if type(m) is nn.Linear and min(m.in_features, m.out_features) >= MIN_FEATURES}
    with warnings.catch_warnings():  # torch.ao's eager quantization is deprecated in favour of torchao
        warnings.simplefilter("ignore")
        quantize_dynamic(view, dict.fromkeys(wide, per_channel_dynamic_qconfig), dtype=torch.qint8, inplace=True)
    return view
