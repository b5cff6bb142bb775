"""Family and prediction-type detection from tensor names and shapes (header only)."""

from __future__ import annotations

import json
import shutil

import pytest
import torch
from safetensors.torch import save_file

from darkroom.errors import InvalidParameter, ModelError
from darkroom.models import detect
from darkroom.models.detect import detect_checkpoint, detect_folder, native_size_of
from darkroom.models.safety import check_checkpoint_file
from darkroom.models.safety import SafetensorsHeader, TensorInfo
from tinymodels import (
    CONFIGS,
    cached_diffusers,
    cached_single_file,
    full_size_components,
    ldm_keys_roundtrip,
    save_single_file,
    to_ldm,
)


def detect_file(path, prediction=None):
    return detect_checkpoint(check_checkpoint_file(path), prediction)


@pytest.mark.parametrize("family, context", [("sd1", 32), ("sd2", 48), ("sd2-v", 48), ("sdxl", 96)])
def test_family_from_tiny_ldm_file(family, context):
    path, _ = cached_single_file(family)
    found = detect_file(path)
    assert (found.family, found.unet_in_channels, found.context_dim) == (family, 4, context)
    assert found.prediction == ("v" if family == "sd2-v" else "epsilon")


def test_inpainting_unet_is_detected():
    path, _ = cached_single_file("sd1", in_channels=9)
    found = detect_file(path)
    assert found.family == "sd1" and found.unet_in_channels == 9


def test_bundled_configs_give_the_native_sizes():
    sizes = {family: native_size_of(CONFIGS / family) for family in detect.FAMILIES}
    assert sizes == {"sd1": 512, "sd2": 512, "sd2-v": 768, "sdxl": 1024}
    for family in detect.FAMILIES:
        index = json.loads((CONFIGS / family / "model_index.json").read_text())
        assert index["_class_name"] == ("StableDiffusionXLPipeline" if family == "sdxl" else "StableDiffusionPipeline")
    assert json.loads((CONFIGS / "sd2-v/scheduler/scheduler_config.json").read_text())["prediction_type"] == "v_prediction"


@pytest.mark.parametrize("family", detect.FAMILIES)
def test_full_size_layouts_match_the_bundled_configs(tmp_path, family):
    """The real-size LDM layout of each family (built on the meta device from the bundled configs):
    detection names the family, the architecture check accepts it, and diffusers' converters map
    every key back onto the bundled-config model with the same shape."""
    components = full_size_components(family)
    tensors = to_ldm(family, components)
    header = SafetensorsHeader(
        path=tmp_path / "full.safetensors", tensors={k: TensorInfo("F16", tuple(v.shape), 0, 0) for k, v in tensors.items()},
        metadata={"modelspec.prediction_type": "v" if family == "sd2-v" else "epsilon"})
    found = detect_checkpoint(header)
    assert (found.family, found.context_dim) == (family, {"sd1": 768, "sd2": 1024, "sd2-v": 1024, "sdxl": 2048}[family])
    detect.check_architecture(header, found, detect.config_dir_for(family))
    from diffusers.loaders.single_file_utils import infer_diffusers_model_type

    expected = {"sd1": "v1", "sd2": "v2", "sd2-v": "v2", "sdxl": "xl_base"}[family]
    assert infer_diffusers_model_type(tensors) == expected  # diffusers' own detector agrees
    if family.startswith("sd2"):
        assert detect.SD2_V_PROBE in header.keys()  # ComfyUI's v-prediction probe exists at full size
        assert "cond_stage_model.model.transformer.resblocks.23.ln_1.weight" in header.keys()  # 24 layers
    for name, converted in ldm_keys_roundtrip(family, components, tensors).items():
        model = {k: v.shape for k, v in components[name].state_dict().items() if "position_ids" not in k}
        converted = {k: v.shape for k, v in converted.items()
                     if "position_ids" not in k and not k.startswith("encoder.layers.23.")}
        assert converted == model, name


def test_tiny_file_does_not_fit_the_standard_config():
    path, _ = cached_single_file("sd1")
    header = check_checkpoint_file(path)
    with pytest.raises(ModelError, match="cross-attention width is 32, the config says 768.*--config DIR"):
        detect.check_architecture(header, detect_checkpoint(header), detect.config_dir_for("sd1"))


# ------------------------------------------------------------------ SD2: epsilon or v?
def sd2_copy(tmp_path, metadata, name="model.safetensors"):
    return save_single_file("sd2", tmp_path / name, metadata=metadata)


def test_sd2_without_evidence_defaults_to_v_like_diffusers(tmp_path):
    found = detect_file(sd2_copy(tmp_path, {}))
    assert (found.family, found.prediction, found.prediction_source) == ("sd2-v", "v", "default")


def test_sd2_prediction_evidence_in_order(tmp_path):
    assert detect_file(sd2_copy(tmp_path, {"modelspec.prediction_type": "epsilon"})).family == "sd2"
    assert detect_file(sd2_copy(tmp_path, {"ss_v_parameterization": "True"})).prediction_source == "metadata"
    plain = sd2_copy(tmp_path, {})
    found = detect_file(plain, prediction="epsilon")
    assert (found.family, found.prediction_source) == ("sd2", "override")
    plain.with_suffix(".yaml").write_text("model:\n  params:\n    parameterization: \"v\"\n")
    assert detect_file(plain).prediction_source == "yaml"
    plain.with_suffix(".yaml").write_text("model:\n  params:\n    linear_start: 0.00085\n")
    assert (detect_file(plain).prediction, detect_file(plain).prediction_source) == ("epsilon", "yaml")


def test_v_pred_marker_tensor(tmp_path):
    path, _ = cached_single_file("sd1")
    tensors = {}
    from safetensors import safe_open

    with safe_open(str(path), "pt") as handle:
        tensors = {k: handle.get_tensor(k) for k in handle.keys()}
    tensors["v_pred"] = torch.tensor([])
    save_file(tensors, str(tmp_path / "vpred.safetensors"))
    found = detect_file(tmp_path / "vpred.safetensors")
    assert (found.family, found.prediction, found.prediction_source) == ("sd1", "v", "marker")


@pytest.mark.parametrize("std, expected", [(0.2, "v"), (0.01, "epsilon")])
def test_sd2_weight_statistic(tmp_path, std, expected):
    """ComfyUI's rule on the full-size SD2 key: std(norm1.bias) > 0.09 means v-prediction."""
    path = sd2_copy(tmp_path, {})
    header = check_checkpoint_file(path)
    with_probe = tmp_path / "probe.safetensors"
    bias = torch.randn(1280, generator=torch.Generator().manual_seed(0)) * std
    save_file({detect.SD2_V_PROBE: bias.half()}, str(with_probe))
    header.tensors[detect.SD2_V_PROBE] = check_checkpoint_file(with_probe).tensors[detect.SD2_V_PROBE]
    header.path, header.data_start = with_probe, check_checkpoint_file(with_probe).data_start
    assert detect.detect_prediction(header, "sd2", 4) == (expected, "weights")


def test_normalize_prediction():
    assert detect.normalize_prediction("v_prediction") == "v"
    assert detect.normalize_prediction("EPS") == "epsilon"
    with pytest.raises(InvalidParameter, match="use 'v' or 'epsilon'"):
        detect.normalize_prediction("sample")


# ------------------------------------------------------------------ not a checkpoint
@pytest.mark.parametrize("keys, message", [
    ({"lora_unet_down_blocks_0.lora_down.weight": (4, 4)}, "is a LoRA"),
    ({"encoder.down.0.block.0.norm1.weight": (4,)}, "VAE on its own"),
    ({"conv_in.weight": (4, 4, 3, 3), "time_embedding.linear_1.weight": (4, 4)}, "add the whole folder"),
    ({"double_blocks.0.img_attn.qkv.weight": (4, 4)}, "Flux or SD3"),
    ({"some.weight": (2,)}, "no model.diffusion_model"),
])
def test_not_a_checkpoint(tmp_path, keys, message):
    path = tmp_path / "thing.safetensors"
    save_file({k: torch.zeros(shape) for k, shape in keys.items()}, str(path))
    with pytest.raises(ModelError, match=message):
        detect_file(path)


def _strip(tmp_path, family, drop_prefixes=(), add=None):
    from safetensors import safe_open

    source, _ = cached_single_file(family)
    with safe_open(str(source), "pt") as handle:
        tensors = {k: handle.get_tensor(k) for k in handle.keys() if not k.startswith(tuple(drop_prefixes))}
    tensors.update(add or {})
    path = tmp_path / "edited.safetensors"
    save_file(tensors, str(path))
    return path


def test_unknown_family_and_incomplete_files(tmp_path):
    with pytest.raises(ModelError, match="unknown model family"):
        detect_file(_strip(tmp_path, "sd1", ["cond_stage_model."], {"cond_stage_model.t5.weight": torch.zeros(2)}))
    with pytest.raises(ModelError, match="has no text encoder"):
        detect_file(_strip(tmp_path, "sd1", ["cond_stage_model."]))
    with pytest.raises(ModelError, match="has no VAE"):
        detect_file(_strip(tmp_path, "sd1", ["first_stage_model."]))
    with pytest.raises(ModelError, match="SDXL refiner"):
        refiner = {k.replace("conditioner.embedders.1.", "conditioner.embedders.0."): v
                   for k, v in _load(cached_single_file("sdxl")[0]).items()
                   if not k.startswith("conditioner.embedders.0.")}
        save_file(refiner, str(tmp_path / "refiner.safetensors"))
        detect_file(tmp_path / "refiner.safetensors")


def test_unsupported_unet_input(tmp_path):
    tensors = _load(cached_single_file("sd1")[0])
    key = "model.diffusion_model.input_blocks.0.0.weight"
    tensors[key] = torch.zeros(tensors[key].shape[0], 8, 3, 3)
    save_file(tensors, str(tmp_path / "pix2pix.safetensors"))
    with pytest.raises(ModelError, match="8 input channels"):
        detect_file(tmp_path / "pix2pix.safetensors")


def _load(path):
    from safetensors import safe_open

    with safe_open(str(path), "pt") as handle:
        return {k: handle.get_tensor(k) for k in handle.keys()}


# ------------------------------------------------------------------ diffusers folders
@pytest.mark.parametrize("family", ["sd1", "sd2", "sdxl"])
def test_diffusers_folder(family):
    info = detect_folder(cached_diffusers(family))
    assert (info.family, info.prediction, info.native_size) == (family, "epsilon", 32)


def test_diffusers_folder_errors(tmp_path):
    with pytest.raises(ModelError, match="no model_index.json"):
        detect_folder(tmp_path)
    (tmp_path / "model_index.json").write_text(json.dumps({"_class_name": "FluxPipeline"}))
    with pytest.raises(ModelError, match="FluxPipeline"):
        detect_folder(tmp_path)
    folder = tmp_path / "copy"
    shutil.copytree(cached_diffusers("sd1"), folder)
    shutil.rmtree(folder / "vae")
    with pytest.raises(ModelError, match="no vae/ folder"):
        detect_folder(folder)
