"""The darkroom-mini training script in miniature: every stage runs, resumes and exports a
pipeline that plain diffusers loads (the real run takes hours; CI never trains for real)."""

from __future__ import annotations

import argparse

import numpy as np
import pytest
import torch

from darkroom.mini import world
from training import train

TINY = ["--vae-steps", "3", "--vae-batch", "4", "--n-scenes", "96", "--n-hires", "16", "--decoder-steps", "3",
        "--cycles", "4:2", "--batch", "4", "--warmup", "2", "--hires-share", "0.5", "--object-weight", "2",
        "--save-every", "0"]


def test_all_stages_run_resume_and_export(tmp_path):
    from diffusers import StableDiffusionPipeline

    run, out = tmp_path / "run", tmp_path / "model"
    train.main(["all", "--run", str(run), "--out", str(out), *TINY])
    ck = train.load(run / "unet_ckpt.pt")
    assert ck["step"] == 4 and ck["arch"] == {"channels": (32, 64, 128), "layers": 1}
    assert train.load(run / "vae.pt")["decoder_step"] == 3
    latents = train.load(run / "latents.pt")
    assert latents["latents"].shape == (96, 4, 16, 16) and latents["latents_hires"].shape == (16, 4, 32, 32)

    before = (run / "unet_ckpt.pt").stat().st_mtime_ns
    train.main(["unet", "--run", str(run), *TINY])  # finished: resuming trains nothing
    assert (run / "unet_ckpt.pt").stat().st_mtime_ns == before

    pipe = StableDiffusionPipeline.from_pretrained(str(out), local_files_only=True, safety_checker=None,
                                                   requires_safety_checker=False)
    pipe.set_progress_bar_config(disable=True)
    image = pipe("a red circle", num_inference_steps=2, height=64, width=64,
                 generator=torch.Generator().manual_seed(0)).images[0]
    assert image.size == (64, 64)


def test_learning_rate_warms_up_decays_and_restarts():
    args = argparse.Namespace(lr=1e-3, warmup=10, cycles="100:50,200:150")
    lrs = [train.learning_rate(args, s) for s in range(200)]
    assert lrs[0] == pytest.approx(1e-4) and lrs[9] == pytest.approx(1e-3)
    assert lrs[50] == pytest.approx(1e-3) and lrs[99] == pytest.approx(1e-4, rel=0.01)
    assert lrs[100] == pytest.approx(1e-3)  # warm restart
    assert lrs[199] == pytest.approx(1e-4, rel=0.01)
    with pytest.raises(SystemExit):
        train.parse_cycles("100:150")


def test_object_masks_cover_the_object_on_the_latent_grid():
    obj = world.Obj("square", "red", "large", "left")
    masks = train.object_masks([world.Scene("blue", (obj,))], 16)
    assert masks.shape == (1, 1, 16, 16)
    cols = np.nonzero(masks[0, 0].numpy().any(0))[0]
    assert cols.min() <= 1 and cols.max() <= 8  # the left half, grown by one latent pixel
    assert train.object_masks([world.Scene("blue", (obj,))], 32).sum() == 4 * masks.sum()
