"""Which Stable Diffusion family a checkpoint belongs to, from its tensor names and shapes.

Single files are recognised the way diffusers' ``infer_diffusers_model_type`` and ComfyUI's
model detection do it, by the text encoder each family ships with (only the header is read):

* ``sd1``  - ``cond_stage_model.transformer.*`` (OpenAI CLIP ViT-L in the Hugging Face layout)
* ``sd2``  - ``cond_stage_model.model.*`` (OpenCLIP ViT-H); epsilon prediction, 512 px
* ``sd2-v`` - the same weights layout, v-prediction, 768 px
* ``sdxl`` - ``conditioner.embedders.0.transformer.*`` + ``conditioner.embedders.1.model.*``
  (CLIP ViT-L + OpenCLIP bigG) and the size/crop embedding ``label_emb``

SD2 epsilon vs v cannot be read off the layout. The evidence, strongest first:

1. an explicit override (``darkroom models add --prediction v|epsilon``);
2. the file's own metadata: ``modelspec.prediction_type`` (Stability's model spec) or kohya's
   ``ss_v_parameterization``;
3. a ``v_pred`` marker tensor (ComfyUI writes one when it saves a v-prediction model);
4. an A1111-style ``<name>.yaml`` beside the file whose ``parameterization`` is ``"v"``;
5. ComfyUI's weight statistic: the std of
   ``output_blocks.11.1.transformer_blocks.0.norm1.bias`` is > 0.09 for the 768-v models
   (this reads that one 1280-value tensor);
6. otherwise diffusers' default for SD2 single files, v-prediction.

(AUTOMATIC1111 instead runs the UNet once on a constant input and checks the sign of the
output, which needs the whole UNet in memory; darkroom does not do that at registration.)
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from darkroom.errors import InvalidParameter, ModelError
from darkroom.models.safety import SafetensorsHeader

CONFIGS_DIR = Path(__file__).parent / "configs"
FAMILIES = ("sd1", "sd2", "sd2-v", "sdxl")
PREDICTIONS = ("epsilon", "v")

UNET = "model.diffusion_model."
SD1_TE = "cond_stage_model.transformer."
SD2_TE = "cond_stage_model.model."
XL_TE1 = "conditioner.embedders.0.transformer."
XL_TE2 = "conditioner.embedders.1.model."
XL_REFINER_TE = "conditioner.embedders.0.model."
VAE = "first_stage_model."
SD2_V_PROBE = UNET + "output_blocks.11.1.transformer_blocks.0.norm1.bias"
SUPPORTED_IN_CHANNELS = (4, 9)  # 9 = inpainting UNet (latents + mask + masked-image latents)


@dataclass(frozen=True)
class Detection:
    family: str  # sd1 | sd2 | sd2-v | sdxl
    prediction: str  # epsilon | v
    prediction_source: str  # override | metadata | marker | yaml | weights | default
    unet_in_channels: int
    context_dim: int

    @property
    def base_family(self) -> str:
        return "sd2" if self.family == "sd2-v" else self.family


def normalize_prediction(value: str | None) -> str | None:
    if value is None:
        return None
    aliases = {"v": "v", "v_prediction": "v", "v-prediction": "v", "vpred": "v", "v_pred": "v",
               "epsilon": "epsilon", "eps": "epsilon"}
    try:
        return aliases[str(value).strip().lower()]
    except KeyError:
        raise InvalidParameter(f"unknown prediction type {value!r}; use 'v' or 'epsilon'") from None


def config_dir_for(family: str) -> Path:
    """The bundled diffusers config folder of a family."""
    if family not in FAMILIES:
        raise ModelError(f"no bundled config for family {family!r}; known families: {', '.join(FAMILIES)}")
    return CONFIGS_DIR / family


MAX_CONFIG_BYTES = 4 * 1024 * 1024


def read_json(path: Path) -> dict:
    """A config file as a JSON object; anything else (missing, not a file, too large, not JSON,
    nested too deeply, not an object) is a ModelError that says so."""
    path = Path(path)
    if not path.exists():
        raise ModelError(f"missing config file {path}")
    if not path.is_file():
        raise ModelError(f"config file {path} is not a regular file")
    if path.stat().st_size > MAX_CONFIG_BYTES:
        raise ModelError(f"config file {path} is implausibly large for a config ({path.stat().st_size} bytes)")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except RecursionError:
        raise ModelError(f"config file {path} is not a valid config (JSON nested too deeply)") from None
    except (ValueError, OSError) as err:
        raise ModelError(f"config file {path} is not valid JSON ({err})"[:300]) from None
    if not isinstance(data, dict):
        raise ModelError(f"config file {path} is not a JSON object ({type(data).__name__}); it is not a "
                         "diffusers config")
    return data


def native_size_of(config_dir: str | Path) -> int:
    """unet.sample_size (in latents) times the VAE's downscale factor."""
    config_dir = Path(config_dir)
    unet = read_json(config_dir / "unet" / "config.json")
    vae = read_json(config_dir / "vae" / "config.json")
    size = unet.get("sample_size", 64)
    size = size[0] if isinstance(size, (list, tuple)) else size
    return int(size) * 2 ** (len(vae.get("block_out_channels", [0, 0, 0, 0])) - 1)


def _has_prefix(keys, prefix: str) -> bool:
    return any(k.startswith(prefix) for k in keys)


def _not_a_checkpoint(header: SafetensorsHeader) -> ModelError:
    keys = list(header.keys())
    name = header.path.name
    if any(k.startswith(("lora_unet_", "lora_te", "lora_transformer_")) or ".lora_down." in k or ".lora_A." in k
           for k in keys):
        what = "a LoRA, not a full checkpoint (LoRAs are applied on top of a model)"
    elif "encoder.down.0.block.0.norm1.weight" in keys or "encoder.down_blocks.0.resnets.0.norm1.weight" in keys:
        what = "a VAE on its own, not a full checkpoint"
    elif "conv_in.weight" in keys and "time_embedding.linear_1.weight" in keys:
        what = "one component (a UNet) of a diffusers folder; add the whole folder instead"
    elif any(k in keys for k in ("emb_params", "string_to_param.*", "clip_l", "clip_g")):
        what = "a textual-inversion embedding, not a checkpoint"
    elif _has_prefix(keys, "control_model.") or "controlnet_cond_embedding.conv_in.weight" in keys:
        what = "a ControlNet, not a checkpoint"
    elif any(k.startswith(("double_blocks.", "joint_blocks.", "model.diffusion_model.double_blocks.",
                           "model.diffusion_model.joint_blocks.")) for k in keys):
        what = "a Flux or SD3 model, which darkroom does not support"
    else:
        what = "not a Stable Diffusion checkpoint (it has no model.diffusion_model.* tensors)"
    return ModelError(f"{name} is {what}. darkroom accepts SD 1.x, SD 2.x and SDXL base checkpoints.")


def _unknown_family(name: str, why: str) -> ModelError:
    return ModelError(
        f"{name}: unknown model family ({why}). darkroom recognises SD 1.x, SD 2.x (512 and 768-v) "
        "and SDXL base single-file checkpoints; for other models use a diffusers folder."
    )


def context_dim_of(header: SafetensorsHeader) -> int:
    for key, info in header.tensors.items():
        if key.startswith(UNET) and key.endswith(".attn2.to_k.weight"):
            return int(info.shape[-1])
    raise _unknown_family(header.path.name, "its UNet has no cross-attention")


def detect_family(header: SafetensorsHeader) -> tuple[str, int, int]:
    """(base family, UNet input channels, cross-attention width) from the tensor names and shapes."""
    keys = header.keys()
    name = header.path.name
    conv_in = header.shape(UNET + "input_blocks.0.0.weight")
    if conv_in is None:
        raise _not_a_checkpoint(header)
    in_channels = int(conv_in[1]) if len(conv_in) == 4 else -1
    if in_channels not in SUPPORTED_IN_CHANNELS:
        raise ModelError(f"{name}: its UNet takes {in_channels} input channels; darkroom supports "
                         "ordinary (4) and inpainting (9) models, not instruct-pix2pix or depth models")
    if not _has_prefix(keys, VAE):
        raise ModelError(f"{name} has no VAE (first_stage_model.*); it is not a complete checkpoint")
    has_label_emb = UNET + "label_emb.0.0.weight" in keys
    if _has_prefix(keys, XL_TE2):
        if not _has_prefix(keys, XL_TE1) or not has_label_emb:
            raise _unknown_family(name, "an SDXL text encoder without the rest of SDXL base")
        family = "sdxl"
    elif _has_prefix(keys, XL_REFINER_TE):
        if has_label_emb:
            raise ModelError(f"{name} is an SDXL refiner; darkroom generates with SDXL base models "
                             "(use the refiner's base model instead)")
        raise _unknown_family(name, "an SD2 model saved in the SGM layout")
    elif _has_prefix(keys, SD2_TE):
        family = "sd2"
    elif _has_prefix(keys, SD1_TE):
        if SD1_TE + "text_model.embeddings.position_embedding.weight" not in keys:
            raise ModelError(f"{name} stores its CLIP text encoder in an old layout (no text_model.*); "
                             "re-save it with a current tool, or use a diffusers folder")
        family = "sd1"
    elif _has_prefix(keys, "cond_stage_model.") or _has_prefix(keys, "conditioner."):
        raise _unknown_family(name, "its text encoder is not CLIP ViT-L, OpenCLIP ViT-H or SDXL's pair")
    else:
        raise ModelError(f"{name} has no text encoder (cond_stage_model.* / conditioner.*); "
                         "it is not a complete checkpoint")
    return family, in_channels, context_dim_of(header)


def _prediction_from_yaml(path: Path) -> str | None:
    yaml = path.with_suffix(".yaml")
    if not yaml.is_file() or yaml.stat().st_size > 1_000_000:
        return None
    text = yaml.read_text(errors="replace")
    match = re.search(r"^\s*parameterization:\s*[\"']?(\w+)[\"']?", text, re.MULTILINE)
    if match:
        return "v" if match.group(1).lower() == "v" else "epsilon"
    return "epsilon" if re.search(r"^\s*model:", text, re.MULTILINE) else None


def detect_prediction(header: SafetensorsHeader, base_family: str, in_channels: int,
                      override: str | None = None) -> tuple[str, str]:
    """(prediction, source) for a single-file checkpoint; see the module doc for the order."""
    if override is not None:
        return normalize_prediction(override), "override"
    meta = header.metadata
    spec = meta.get("modelspec.prediction_type")
    if spec:
        try:
            return normalize_prediction(spec), "metadata"
        except InvalidParameter:
            pass
    if str(meta.get("ss_v_parameterization", "")).lower() in ("true", "1"):
        return "v", "metadata"
    if "v_pred" in header.keys():
        return "v", "marker"
    from_yaml = _prediction_from_yaml(header.path)
    if from_yaml:
        return from_yaml, "yaml"
    if base_family == "sd2" and in_channels == 4:  # SD2 inpainting models are epsilon
        if SD2_V_PROBE in header.keys():
            std = float(header.read_tensor(SD2_V_PROBE).std())
            return ("v" if std > 0.09 else "epsilon"), "weights"
        return "v", "default"
    return "epsilon", "default"


def detect_checkpoint(header: SafetensorsHeader, prediction: str | None = None) -> Detection:
    """Family, prediction type and UNet input channels of a (validated) single-file checkpoint."""
    family, in_channels, context_dim = detect_family(header)
    pred, source = detect_prediction(header, family, in_channels, prediction)
    if family == "sd2" and pred == "v":
        family = "sd2-v"
    return Detection(family, pred, source, in_channels, context_dim)


def check_architecture(header: SafetensorsHeader, detection: Detection, config_dir: str | Path) -> None:
    """Fail early, with a clear message, when the tensors do not fit the config folder's shapes."""
    config_dir = Path(config_dir)
    unet = read_json(config_dir / "unet" / "config.json")
    vae = read_json(config_dir / "vae" / "config.json")
    checks = [
        ("UNet cross-attention width", detection.context_dim, unet.get("cross_attention_dim")),
        ("UNet base channels", header.shape(UNET + "input_blocks.0.0.weight")[0], unet["block_out_channels"][0]),
        ("VAE base channels", (header.shape(VAE + "encoder.conv_in.weight") or [None])[0],
         vae["block_out_channels"][0]),
    ]
    te_keys = {
        "sd1": [("text_encoder", SD1_TE + "text_model.embeddings.token_embedding.weight")],
        "sd2": [("text_encoder", SD2_TE + "token_embedding.weight")],
        "sdxl": [("text_encoder", XL_TE1 + "text_model.embeddings.token_embedding.weight"),
                 ("text_encoder_2", XL_TE2 + "token_embedding.weight")],
    }[detection.base_family]
    for folder, key in te_keys:
        te = read_json(config_dir / folder / "config.json")
        shape = header.shape(key)
        checks.append((f"{folder} width", shape[-1] if shape else None, te.get("hidden_size")))
    wrong = [f"{what} is {got}, the config says {want}" for what, got, want in checks if got != want]
    if wrong:
        standard = config_dir.parent == CONFIGS_DIR
        hint = (f"it does not have the standard {detection.family} architecture; register it with "
                "--config DIR, a diffusers folder whose config files match it") if standard else \
            f"it does not match the config folder {config_dir}"
        raise ModelError(f"{header.path.name}: {'; '.join(wrong)}: {hint}")


# ------------------------------------------------------------------ diffusers folders

SD_PIPELINES = {"StableDiffusionPipeline", "StableDiffusionImg2ImgPipeline", "StableDiffusionInpaintPipeline"}
XL_PIPELINES = {"StableDiffusionXLPipeline", "StableDiffusionXLImg2ImgPipeline", "StableDiffusionXLInpaintPipeline"}


@dataclass(frozen=True)
class FolderInfo:
    family: str
    prediction: str
    unet_in_channels: int
    native_size: int


def detect_folder(folder: str | Path) -> FolderInfo:
    """Family, prediction and native size of a diffusers-format folder, from its config files."""
    try:
        return _detect_folder(Path(folder))
    except (TypeError, ValueError, KeyError, IndexError, AttributeError) as err:  # a config with odd values
        raise ModelError(f"{Path(folder).name}: its config files hold values of the wrong type "
                         f"({type(err).__name__}: {str(err)[:120]}); it is not a diffusers model darkroom can "
                         "load") from None


def _detect_folder(folder: Path) -> FolderInfo:
    index_file = folder / "model_index.json"
    if not index_file.is_file():
        raise ModelError(f"{folder} is a folder but not a diffusers model (no model_index.json)")
    index = read_json(index_file)
    cls = index.get("_class_name")
    if not isinstance(cls, str):
        raise ModelError(f"{folder.name}/model_index.json: _class_name is {str(cls)[:60]!r}, not a pipeline name; "
                         "it is not a diffusers model darkroom can load")
    if cls in XL_PIPELINES:
        te = index.get("text_encoder")
        if not isinstance(te, list) or not te or te[0] is None:
            raise ModelError(f"{folder.name} is an SDXL refiner; darkroom generates with SDXL base models")
        family = "sdxl"
    elif cls in SD_PIPELINES:
        te = read_json(folder / "text_encoder" / "config.json")
        family = "sd2" if te.get("hidden_act") == "gelu" else "sd1"  # OpenCLIP uses gelu, OpenAI CLIP quick_gelu
    else:
        raise ModelError(f"{folder.name} is a {cls or 'unknown'} folder; darkroom loads Stable Diffusion "
                         "and SDXL pipelines")
    for component in ("unet", "vae", "scheduler"):
        if not (folder / component).is_dir():
            raise ModelError(f"{folder.name} has no {component}/ folder; it is not a complete diffusers model")
    scheduler = read_json(folder / "scheduler" / "scheduler_config.json")
    prediction = normalize_prediction(scheduler.get("prediction_type", "epsilon"))
    if family == "sd2" and prediction == "v":
        family = "sd2-v"
    unet = read_json(folder / "unet" / "config.json")
    return FolderInfo(family, prediction, int(unet.get("in_channels", 4)), native_size_of(folder))
