"""darkroom-mini: the shipped model loads offline with plain diffusers and still follows prompts.

The checker (training/checker.py) is tested on ground-truth renders first, then used to
score a short, fixed-seed evaluation of the shipped weights. The fuller sets (inpainting,
img2img, hires fix, samplers) are marked slow; `python -m training.evaluate` prints the
complete table.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
import torch

from darkroom.mini import checker, world

MINI = Path(__file__).resolve().parents[1] / "darkroom" / "models" / "mini"
ATTRS = ["background", "color", "position", "size", "shape"]


# ------------------------------------------------------------------ the checker itself
def test_checker_is_right_on_ground_truth_renders():
    rng = np.random.default_rng(123)
    scenes = [world.sample_scene(rng, p_two=0.0, heldout="any") for _ in range(400)]
    scores = [checker.score(checker.analyze(world.render(s)), s) for s in scenes]
    for k in ATTRS:
        acc = np.mean([s[k] for s in scores])
        assert acc >= 0.99, (k, acc)


def test_checker_reads_one_half_of_a_two_object_scene():
    rng = np.random.default_rng(7)
    ok = 0
    for _ in range(100):
        bg = world.COLOR_NAMES[rng.integers(8)]
        a, b = world.sample_object(rng, bg, "left", "any"), world.sample_object(rng, bg, "right", "any")
        img = world.render(world.Scene(bg, (a, b)))
        r = checker.analyze(img, region=(slice(None), slice(32, 64)), background_rgb=world.COLORS[bg])
        ok += r.color == b.color and r.position == "right"
    assert ok >= 99


def test_generator_is_deterministic_and_holds_out_pairs():
    s1 = [world.sample_scene(np.random.default_rng(5)) for _ in range(3)]
    s2 = [world.sample_scene(np.random.default_rng(5)) for _ in range(3)]
    assert s1 == s2
    rng = np.random.default_rng(9)
    for _ in range(500):
        for o in world.sample_scene(rng).objects:
            assert (o.color, o.shape) not in world.HELDOUT_PAIRS
    assert np.array_equal(np.asarray(world.render(s1[0])), np.asarray(world.render(s2[0])))


# ------------------------------------------------------------------ the shipped folder
def test_folder_is_a_standard_small_sd_pipeline():
    index = json.loads((MINI / "model_index.json").read_text())
    assert index["_class_name"] == "StableDiffusionPipeline"
    assert index["safety_checker"] == [None, None] and index["feature_extractor"] == [None, None]
    sched = json.loads((MINI / "scheduler" / "scheduler_config.json").read_text())
    assert sched["prediction_type"] == "v_prediction"
    assert sched["rescale_betas_zero_snr"] is True
    assert sched["timestep_spacing"] == "trailing"
    assert (MINI / "tokenizer" / "vocab.json").exists() and (MINI / "tokenizer" / "merges.txt").exists()
    size = sum(f.stat().st_size for f in MINI.rglob("*") if f.is_file())
    assert size <= 20e6
    assert (MINI / "MODEL_CARD.md").exists()


@pytest.fixture(scope="module")
def pipe():
    from diffusers import StableDiffusionPipeline
    assert os.environ.get("HF_HUB_OFFLINE") == "1"
    p = StableDiffusionPipeline.from_pretrained(str(MINI), local_files_only=True, safety_checker=None,
                                                requires_safety_checker=False, dtype=torch.float32)
    p.set_progress_bar_config(disable=True)
    return p


def test_loads_offline_as_float32_with_native_size_64(pipe):
    assert pipe.unet.dtype == torch.float32 and pipe.vae.dtype == torch.float32
    native = pipe.unet.config.sample_size * 2 ** (len(pipe.vae.config.block_out_channels) - 1)
    assert native == 64
    for w in world.VOCAB_WORDS:  # every caption word is one token
        assert len(pipe.tokenizer(w).input_ids) == 3, w


def test_plain_load_without_dtype_is_float32_everywhere():
    # transformers 5 loads with dtype="auto": the text encoder must be stored as float32
    from diffusers import StableDiffusionPipeline
    p = StableDiffusionPipeline.from_pretrained(str(MINI), local_files_only=True, safety_checker=None,
                                                requires_safety_checker=False)
    assert {p.unet.dtype, p.vae.dtype, p.text_encoder.dtype} == {torch.float32}


def _run(pipe, scenes, seed):
    from training.evaluate import txt2img
    imgs = txt2img(pipe, [world.full_caption(s) for s in scenes], seed, batch=20)
    return [checker.score(checker.analyze(im), s) for im, s in zip(imgs, scenes)]


def test_follows_prompts(pipe):
    from training.evaluate import eval_scenes
    scores = _run(pipe, eval_scenes(40, seed=101), seed=101)
    acc = {k: float(np.mean([s[k] for s in scores])) for k in ATTRS}
    # issue-3 targets: background/colour >= 0.9, position/size >= 0.8, shape >= 0.6; on 40
    # images a little slack for small-sample noise (the 200-image table is in MODEL_CARD.md:
    # shape 0.68 there, so 0.55 here is about two standard errors below it).
    assert acc["background"] >= 0.85, acc
    assert acc["color"] >= 0.85, acc
    assert acc["position"] >= 0.75, acc
    assert acc["size"] >= 0.75, acc
    assert acc["shape"] >= 0.55, acc


@pytest.mark.slow
def test_held_out_pairs_colour(pipe):
    from training.evaluate import eval_scenes
    scores = _run(pipe, eval_scenes(40, seed=102, heldout="only"), seed=102)
    assert np.mean([s["color"] for s in scores]) >= 0.75


@pytest.mark.slow
def test_inpaint_img2img_hires(pipe):
    from training import evaluate
    r = evaluate.eval_inpaint(pipe, n=20, batch=20)
    assert r["color"] >= 0.7 and r["unmasked MAD/255"] <= 8.0, r
    r = evaluate.eval_img2img(pipe, n=20, batch=20)
    assert r["color"] >= 0.65, r
    r = evaluate.eval_hires(pipe, n=20, batch=20)
    assert r["agreement"] >= 0.85, r  # 0.91 on 100 images; 20 here
