"""The develop steps on a CUDA GPU in float16 and bfloat16, against the CPU in float32.

Skipped where no GPU is present (CI); run on a GPU machine with `pytest tests/test_cuda.py`.
"""

from __future__ import annotations

import functools

import numpy as np
import pytest
import torch

from darkroom.develop.context import RunContext
from darkroom.develop.generate import run_generate
from darkroom.develop.hires import run_hires
from darkroom.develop.inpaint import run_inpaint
from darkroom.develop.passes import inherit
from darkroom.develop.recipe import BoxZone, GenerateStep, HiresStep, InpaintStep
from darkroom.models.engine import load_engine
from darkroom.models.registry import Registry

PROMPT = "a large red circle on the left, blue background"


@functools.cache
def develop_chain(device: str, dtype: str) -> tuple[np.ndarray, ...]:
    """generate -> hires 2x -> inpaint a box, on darkroom-mini; the pictures as arrays.

    The steps are called directly (not through `develop`), so no policy model or audit log is
    needed on a bare GPU machine."""
    engine = load_engine(Registry().builtin(), device=device, dtype=dtype)
    try:
        ctx = RunContext(engine=engine)
        gen = GenerateStep(prompt=PROMPT, seed=7, steps=12, cfg=5.0, width=64, height=64)
        raw = run_generate(ctx, gen)
        hires = inherit(HiresStep(denoise=0.45, steps=12), [gen], 1, 0)
        big = run_hires(ctx, raw, hires, 1)
        inpaint = inherit(InpaintStep(prompt="a small yellow star on the right, blue background",
                                      zone=BoxZone(x=64, y=0, width=64, height=128)), [gen, hires], 2, 0)
        fixed = run_inpaint(ctx, big, inpaint, 2)
    finally:
        engine.close()
    return tuple(np.asarray(f.image, dtype=np.float32) for f in (raw, big, fixed))


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_develop_chain_on_cuda_matches_the_cpu(dtype):
    cpu = develop_chain("cpu", "float32")
    gpu = develop_chain("cuda", dtype)
    for name, a, b in zip(("generate", "hires", "inpaint"), cpu, gpu):
        assert a.shape == b.shape, name
        assert np.isfinite(b).all() and b.std() > 5, name  # not blank, not NaN
        # same seed, same noise (drawn on the CPU): the same picture up to rounding
        assert np.abs(a - b).mean() < 4.0, (name, float(np.abs(a - b).mean()))


def test_develop_chain_runs_on_the_cpu_in_bfloat16():
    """The reduced-precision path without a GPU (what the CUDA test compares against, in small)."""
    ref = develop_chain("cpu", "float32")
    low = develop_chain("cpu", "bfloat16")
    assert [a.shape for a in ref] == [(64, 64, 3), (128, 128, 3), (128, 128, 3)]
    for a, b in zip(ref, low):
        assert np.isfinite(b).all() and b.std() > 5
        assert np.abs(a - b).mean() < 4.0  # measured 1.15, 0.16, 0.38; unrelated pictures: ~50
