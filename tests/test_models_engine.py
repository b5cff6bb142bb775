"""Loading offline into an Engine: shared components, every family, the LRU model cache."""

from __future__ import annotations

import gc
import os
import shutil
import subprocess
import sys
import weakref
from pathlib import Path

import numpy as np
import pytest
import torch

from darkroom.errors import InvalidParameter, ModelError, UnsafeModelFile
from darkroom.models import cache, registry
from darkroom.models.cache import get_engine
from darkroom.models.engine import (CLIP_DIR, cpu_prefers_bf16, load_engine, load_tokenizer, resolve_device,
                                    resolve_dtype)
from darkroom.models.registry import Registry
from darkroom.settings import Settings
from tinymodels import CONFIGS, REPO, cached_diffusers, cached_single_file, tiny_pipeline

SHARED = ("unet", "vae", "text_encoder", "tokenizer", "scheduler")


@pytest.fixture(autouse=True)
def empty_cache():
    cache.clear_cache()
    yield
    cache.clear_cache()


def add_single(family, in_channels=4, name=None, prediction=None):
    path, config = cached_single_file(family, in_channels)
    return Registry().add(path, name=name or f"{family}-{in_channels}", prediction=prediction, config_dir=config)


def image(pipe, **kwargs):
    generator = torch.Generator().manual_seed(0)
    return pipe(prompt="a red circle", num_inference_steps=2, height=32, width=32, generator=generator,
                output_type="np", **kwargs).images


def test_sockets_are_blocked_here():
    import socket

    with pytest.raises(Exception):
        socket.socket(socket.AF_INET, socket.SOCK_STREAM).connect(("huggingface.co", 443))


@pytest.mark.parametrize("family", ["sd1", "sd2", "sd2-v", "sdxl"])
def test_single_file_loads_offline_and_equals_the_original(family):
    engine = get_engine(add_single(family), Settings())
    xl = family == "sdxl"
    assert (engine.device.type, engine.dtype, engine.native_size, engine.is_xl) == ("cpu", torch.float32, 32, xl)
    assert engine.unet_in_channels == 4
    prediction = "v_prediction" if family == "sd2-v" else "epsilon"
    assert engine.scheduler_config["prediction_type"] == prediction
    pipes = {kind: engine.pipeline(kind) for kind in ("txt2img", "img2img", "inpaint")}
    assert [type(p).__name__ for p in pipes.values()] == (
        ["StableDiffusionXLPipeline", "StableDiffusionXLImg2ImgPipeline", "StableDiffusionXLInpaintPipeline"] if xl
        else ["StableDiffusionPipeline", "StableDiffusionImg2ImgPipeline", "StableDiffusionInpaintPipeline"])
    names = SHARED + (("text_encoder_2", "tokenizer_2") if xl else ())
    for pipe in pipes.values():
        for name in names:
            assert getattr(pipe, name) is engine.components[name], name
    assert engine.pipeline("img2img") is pipes["img2img"]  # created once
    # the LDM file, converted and loaded, is exactly the model it was written from
    assert np.array_equal(image(pipes["txt2img"]), image(tiny_pipeline(family)))


@pytest.mark.parametrize("family", ["sd1", "sdxl"])
def test_other_pipelines_keep_the_engines_dtype(family):
    # diffusers' from_pipe casts every shared module to float32: a bfloat16 engine became float32
    # while another job was denoising on it ("mat1 and mat2 must have the same dtype")
    engine = load_engine(add_single(family), "cpu", torch.bfloat16)
    base = engine.pipeline("txt2img")
    for kind in ("img2img", "inpaint"):
        pipe = engine.pipeline(kind)
        assert pipe.unet.dtype == pipe.vae.dtype == pipe.text_encoder.dtype == torch.bfloat16, kind
        if family == "sdxl":
            assert pipe.config.force_zeros_for_empty_prompt == base.config.force_zeros_for_empty_prompt
    assert all(p.dtype == torch.bfloat16 for p in engine.components["unet"].parameters())
    # bf16 convolutions on a CPU run faster on channels-last weights (engine._channels_last)
    for name in ("unet", "vae"):
        weight = engine.components[name].get_submodule("conv_in" if name == "unet" else "decoder.conv_in").weight
        assert weight.is_contiguous(memory_format=torch.channels_last), name


def test_tokenizers_pad_like_the_real_models():
    engine = get_engine(add_single("sdxl"), Settings())
    assert engine.components["tokenizer"].pad_token_id == 49407  # <|endoftext|>, as OpenAI CLIP
    assert engine.components["tokenizer_2"].pad_token_id == 0  # "!", as open_clip pads with zeros
    assert engine.components["tokenizer"].model_max_length == 77
    assert load_tokenizer(CONFIGS / "sd2" / "tokenizer").pad_token_id == 0


@pytest.mark.parametrize("family", ["sd1", "sd2", "sdxl"])
def test_bundled_tokenizer_equals_a_complete_tokenizer_folder(tmp_path, family):
    from transformers import CLIPTokenizer

    for sub in ("tokenizer", "tokenizer_2") if family == "sdxl" else ("tokenizer",):
        full = tmp_path / sub
        shutil.copytree(CONFIGS / family / sub, full)
        for name in ("vocab.json", "merges.txt"):
            shutil.copy(CLIP_DIR / name, full / name)
        ours, reference = load_tokenizer(CONFIGS / family / sub), CLIPTokenizer.from_pretrained(str(full))
        assert (ours.pad_token, ours.model_max_length) == (reference.pad_token, reference.model_max_length)
        for text in ["a photo of a cat", "Café, naïve — 東京 🌸!", "word " * 100]:
            kwargs = dict(padding="max_length", max_length=77, truncation=True)
            assert ours(text, **kwargs).input_ids == reference(text, **kwargs).input_ids


def test_diffusers_folders_load():
    reg = Registry()
    for family in ("sd1", "sdxl"):
        entry = reg.add(cached_diffusers(family), name=f"folder-{family}")
        engine = get_engine(entry, Settings())
        assert engine.entry.format == "diffusers" and engine.native_size == 32
        assert engine.pipeline("inpaint").unet is engine.components["unet"]
        assert np.array_equal(image(engine.pipeline("txt2img")), image(tiny_pipeline(family)))


def test_inpainting_checkpoint():
    engine = get_engine(add_single("sd1", in_channels=9), Settings())
    assert engine.unet_in_channels == 9 and engine.entry.is_inpainting
    pipe = engine.pipeline("inpaint")
    assert type(pipe).__name__ == "StableDiffusionInpaintPipeline"
    with pytest.raises(ModelError, match="inpainting model"):
        engine.pipeline("txt2img")
    with pytest.raises(InvalidParameter, match="unknown pipeline kind"):
        engine.pipeline("outpaint")


def test_prediction_override_reaches_the_scheduler():
    engine = get_engine(add_single("sd2", name="forced-v", prediction="v"), Settings())
    assert engine.entry.family == "sd2-v"
    assert engine.scheduler_config["prediction_type"] == "v_prediction"
    folder = Registry().add(cached_diffusers("sd1"), name="folder-v", prediction="v")
    assert get_engine(folder, Settings()).scheduler_config["prediction_type"] == "v_prediction"


def test_lru_evicts_and_frees():
    settings = Settings()
    settings.model_cache_size = 2
    first = get_engine(add_single("sd1"), settings)
    unet = weakref.ref(first.components["unet"])
    second = get_engine(add_single("sd2"), settings)
    assert get_engine(Registry().resolve("sd1-4"), settings) is first  # a hit refreshes sd1
    third = get_engine(add_single("sd2-v"), settings)  # evicts the least recently used: sd2
    assert cache.cached_engines() == [first, third]
    assert second.closed and not first.closed
    with pytest.raises(ModelError, match="unloaded"):
        second.pipeline("txt2img")
    bf16 = Settings()
    bf16.model_cache_size, bf16.dtype = 2, "bfloat16"
    other = get_engine(Registry().resolve("sd1-4"), bf16)  # same model, other dtype: another entry
    assert other is not first and other.dtype == torch.bfloat16 and first.closed
    del first
    cache.clear_cache()
    gc.collect()
    assert unet() is None  # the evicted model's weights are gone


def test_cache_size_zero_keeps_nothing():
    settings = Settings()
    settings.model_cache_size = 0
    entry = add_single("sd1")
    assert get_engine(entry, settings) is not get_engine(entry, settings)
    assert cache.cached_engines() == []


def test_changed_or_missing_file(tmp_path):
    path, config = cached_single_file("sd1")
    copy = tmp_path / "copy.safetensors"
    shutil.copy(path, copy)
    entry = Registry().add(copy, name="copy", config_dir=config)
    with open(copy, "r+b") as handle:  # flip one byte of tensor data
        handle.seek(-1, os.SEEK_END)
        last = handle.read(1)
        handle.seek(-1, os.SEEK_END)
        handle.write(bytes([last[0] ^ 1]))
    os.utime(copy, ns=(0, copy.stat().st_mtime_ns + 10**9))
    with pytest.raises(ModelError, match="changed since it was added"):
        load_engine(entry)
    copy.unlink()
    with pytest.raises(ModelError, match="is gone"):
        load_engine(entry)


def test_builtin_mini_loads_like_the_shipped_one(tmp_path, monkeypatch):
    """darkroom-mini ships as an fp16, v-prediction StableDiffusionPipeline folder."""
    from darkroom.models.engine import make_scheduler
    from tinymodels import save_diffusers

    pipe = tiny_pipeline("sd1")
    pipe.scheduler = make_scheduler(dict(pipe.scheduler.config), "v")
    save_diffusers(pipe.to(torch.float16), tmp_path / "mini")
    monkeypatch.setattr(registry, "MINI_DIR", tmp_path / "mini")
    engine = get_engine(Registry().default(), Settings())
    assert (engine.entry.name, engine.entry.family, engine.entry.prediction) == ("darkroom-mini", "mini", "v")
    assert engine.components["unet"].dtype == torch.float32  # fp16 on disk, float32 on the CPU
    assert engine.scheduler_config["prediction_type"] == "v_prediction"
    assert image(engine.pipeline("txt2img")).shape == (1, 32, 32, 3)


def test_missing_mini(tmp_path, monkeypatch):
    monkeypatch.setattr(registry, "MINI_DIR", tmp_path / "nothing")
    with pytest.raises(ModelError, match="not installed"):
        load_engine(Registry().builtin())


def test_pickle_only_diffusers_folder_is_refused(tmp_path):
    folder = tmp_path / "old-folder"
    shutil.copytree(cached_diffusers("sd1"), folder)
    weights = folder / "unet" / "diffusion_pytorch_model.safetensors"
    torch.save({"w": torch.zeros(1)}, folder / "unet" / "diffusion_pytorch_model.bin")
    entry = registry.inspect_model(folder)
    weights.unlink()  # swapped after registration: refused at load
    with pytest.raises(UnsafeModelFile, match="only pickle weights"):
        load_engine(entry, verify_hash=False)
    with pytest.raises(UnsafeModelFile, match="only pickle weights"):
        Registry().add(folder)


def test_device_and_dtype_resolution():
    cpu = torch.device("cpu")
    assert resolve_dtype("auto", cpu) == (torch.bfloat16 if cpu_prefers_bf16() else torch.float32)
    assert resolve_dtype("auto", torch.device("cuda")) == torch.float16
    assert resolve_dtype("bf16", cpu) == torch.bfloat16
    assert resolve_device("cpu") == cpu
    if not torch.cuda.is_available():
        assert resolve_device("auto") == cpu
        with pytest.raises(InvalidParameter, match="CUDA is not available"):
            resolve_device("cuda")
    with pytest.raises(InvalidParameter):
        resolve_dtype("int8", cpu)
    with pytest.raises(InvalidParameter):
        resolve_device("tpu9")


OFFLINE_CHILD = r"""
import socket, sys
def refuse(*args, **kwargs):
    raise OSError("network access attempted")
socket.socket.connect = refuse
socket.create_connection = refuse
socket.getaddrinfo = refuse
sys.path.insert(0, "tests")
from darkroom.models.registry import inspect_model
from darkroom.models.engine import load_engine
entry = inspect_model(sys.argv[1], config_dir=sys.argv[2])
engine = load_engine(entry)
print("loaded", type(engine.pipeline("img2img")).__name__)
"""


def test_load_asks_no_hub_even_without_offline_mode(monkeypatch):
    """Offline mode switched off in-process and name resolution recorded: a single file loads, no look-up."""
    import socket

    import huggingface_hub.constants

    import diffusers.utils.hub_utils

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(diffusers.utils.hub_utils, "HF_HUB_OFFLINE", False)
    asked = []

    def refuse(*args, **kwargs):
        asked.append(args)
        raise OSError("network access attempted")

    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    engine = load_engine(add_single("sdxl"))
    assert type(engine.pipeline("img2img")).__name__ == "StableDiffusionXLImg2ImgPipeline"
    assert asked == []


@pytest.mark.slow
def test_load_needs_no_network_even_without_offline_mode(tmp_path):
    """A fresh process, HF_HUB_OFFLINE=0 and the network cut: a single file still loads."""
    path, config = cached_single_file("sd1")
    env = {**os.environ, "HF_HUB_OFFLINE": "0", "TRANSFORMERS_OFFLINE": "0", "DARKROOM_HOME": str(tmp_path),
           "HF_HOME": str(tmp_path / "hf"), "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, "-c", OFFLINE_CHILD, str(path), str(config)], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "loaded StableDiffusionImg2ImgPipeline"
    assert not Path(tmp_path / "hf").exists() or not any(Path(tmp_path / "hf").rglob("*.json"))
