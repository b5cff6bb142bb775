"""Tiny Stable Diffusion models, built in code from fixed seeds, with the real key layouts.

Every family darkroom loads has a tiny twin here: the same component classes, block types,
attention layout, text encoders (OpenAI CLIP / OpenCLIP style), tokenizer (the real CLIP BPE
vocabulary from darkroom/models/clip, so ids are real) and scheduler config as the real
model, just a few channels wide. A whole pipeline builds in well under a second.

    tiny_components("sd1")            # dict of pipeline components (kwargs for the pipeline class)
    tiny_pipeline("sdxl")             # a StableDiffusionXLPipeline
    save_diffusers(pipe, dir)         # a diffusers folder (safetensors)
    save_single_file("sd2", path)     # an original LDM/CompVis-layout .safetensors checkpoint
    save_config_dir("sd2", dir)       # the diffusers config folder that fits the tiny checkpoint
    tiny_single_file("sd1", dir)      # both at once: (checkpoint path, config folder)

A tiny single file goes through exactly the loader a real checkpoint does
(`from_single_file(path, config=...)`); only the config folder differs, because the bundled
full-size configs do not fit tiny shapes. Register it with
``Registry.add(path, config_dir=config_folder)`` or ``darkroom models add PATH --config DIR``.

Families: "sd1", "sd2" (epsilon), "sd2-v" (v-prediction), "sdxl". `in_channels=9` gives an
inpainting UNet. The diffusers -> LDM key conversion below is the inverse of diffusers'
`convert_ldm_unet_checkpoint` / `convert_ldm_vae_checkpoint` / CLIP conversions, written for
any number of levels; test_models_tiny.py checks that diffusers maps the keys back exactly.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
CONFIGS = REPO / "darkroom" / "models" / "configs"
FAMILIES = ("sd1", "sd2", "sd2-v", "sdxl")
TINY_NATIVE_SIZE = 32  # unet.sample_size 16 x VAE downscale 2

SD1_TE = "cond_stage_model.transformer.text_model."
SD2_TE = "cond_stage_model.model."
XL_TE1 = "conditioner.embedders.0.transformer.text_model."
XL_TE2 = "conditioner.embedders.1.model."


def _check_family(family: str) -> None:
    if family not in FAMILIES:
        raise ValueError(f"unknown tiny family {family!r}; use one of {FAMILIES}")


def _clip_config(hidden: int, act: str, projection: int | None = None):
    from transformers import CLIPTextConfig

    # the real SD text encoders' ids: bos 0, eos 2 (legacy: pooled = argmax of input ids), pad 1
    return CLIPTextConfig(
        vocab_size=49408, hidden_size=hidden, intermediate_size=hidden * 2, projection_dim=projection or hidden,
        num_hidden_layers=2, num_attention_heads=4, max_position_embeddings=77, hidden_act=act,
        bos_token_id=0, eos_token_id=2, pad_token_id=1,
    )


def _unet(family: str, in_channels: int):
    from diffusers import UNet2DConditionModel

    common = dict(sample_size=16, in_channels=in_channels, out_channels=4, layers_per_block=2,
                  block_out_channels=(32, 64), norm_num_groups=8)
    if family == "sd1":
        return UNet2DConditionModel(
            **common, down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"),
            up_block_types=("UpBlock2D", "CrossAttnUpBlock2D"), cross_attention_dim=32, attention_head_dim=4)
    if family in ("sd2", "sd2-v"):
        return UNet2DConditionModel(
            **common, down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"),
            up_block_types=("UpBlock2D", "CrossAttnUpBlock2D"), cross_attention_dim=48,
            attention_head_dim=(2, 4), use_linear_projection=True, upcast_attention=family == "sd2-v")
    return UNet2DConditionModel(  # sdxl: no attention at the top level, deeper transformers below
        **common, down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"), transformer_layers_per_block=(1, 2),
        cross_attention_dim=32 + 64, attention_head_dim=(2, 4), use_linear_projection=True,
        addition_embed_type="text_time", addition_time_embed_dim=8,
        projection_class_embeddings_input_dim=64 + 6 * 8)


def _vae(family: str):
    from diffusers import AutoencoderKL

    return AutoencoderKL(
        in_channels=3, out_channels=3, latent_channels=4, layers_per_block=1, norm_num_groups=8,
        block_out_channels=(8, 16), down_block_types=("DownEncoderBlock2D",) * 2,
        up_block_types=("UpDecoderBlock2D",) * 2, sample_size=TINY_NATIVE_SIZE,
        scaling_factor=0.13025 if family == "sdxl" else 0.18215, force_upcast=family == "sdxl")


def tiny_components(family: str = "sd1", seed: int = 0, in_channels: int = 4) -> dict:
    """The components of a tiny pipeline of `family`, as keyword arguments for its pipeline class."""
    from transformers import CLIPTextModel, CLIPTextModelWithProjection

    from darkroom.models.engine import load_tokenizer, make_scheduler

    _check_family(family)
    torch.manual_seed(seed)
    unet = _unet(family, in_channels).eval()
    torch.manual_seed(seed + 1)
    vae = _vae(family).eval()
    torch.manual_seed(seed + 2)
    prediction = "v" if family == "sd2-v" else "epsilon"
    components = dict(unet=unet, vae=vae, scheduler=make_scheduler(CONFIGS / family, prediction),
                      tokenizer=load_tokenizer(CONFIGS / family / "tokenizer"))
    if family == "sdxl":
        components["text_encoder"] = CLIPTextModel(_clip_config(32, "quick_gelu")).eval()
        torch.manual_seed(seed + 3)
        components["text_encoder_2"] = CLIPTextModelWithProjection(_clip_config(64, "gelu", 64)).eval()
        components["tokenizer_2"] = load_tokenizer(CONFIGS / family / "tokenizer_2")
    else:
        width, act = (32, "quick_gelu") if family == "sd1" else (48, "gelu")
        components["text_encoder"] = CLIPTextModel(_clip_config(width, act)).eval()
        components.update(safety_checker=None, feature_extractor=None, requires_safety_checker=False)
    return components


def pipeline_class(family: str, kind: str = "txt2img"):
    import diffusers

    from darkroom.models.engine import PIPELINES

    return getattr(diffusers, PIPELINES[family == "sdxl"][kind])


def tiny_pipeline(family: str = "sd1", seed: int = 0, in_channels: int = 4):
    """A tiny txt2img pipeline (the inpaint class when `in_channels` is 9)."""
    kind = "inpaint" if in_channels == 9 else "txt2img"
    pipe = pipeline_class(family, kind)(**tiny_components(family, seed, in_channels))
    pipe.set_progress_bar_config(disable=True)
    return pipe


def save_diffusers(pipe, directory: str | Path) -> Path:
    """Save a pipeline as a diffusers folder with safetensors weights."""
    from transformers.utils import logging as transformers_logging

    directory = Path(directory)
    transformers_logging.disable_progress_bar()
    try:
        pipe.save_pretrained(str(directory), safe_serialization=True)
    finally:
        transformers_logging.enable_progress_bar()
    return directory


def save_config_dir(family: str = "sd1", directory: str | Path = "tiny-config", seed: int = 0,
                    in_channels: int = 4) -> Path:
    """The diffusers config folder (no weights) that fits `save_single_file(family, ...)`.

    Laid out like the bundled configs: model_index.json, one config per component, and the
    tokenizer folders with only their special-token files.
    """
    from accelerate import init_empty_weights

    directory = Path(directory)
    with init_empty_weights():  # only the configs are written: no need to make weights
        pipe = tiny_pipeline(family, seed, in_channels)
    directory.mkdir(parents=True, exist_ok=True)
    pipe.save_config(str(directory))  # model_index.json
    for name, component in pipe.components.items():
        if component is None:
            continue
        target = directory / name
        if name.startswith("tokenizer"):
            shutil.copytree(CONFIGS / family / name, target, dirs_exist_ok=True)
        elif name.startswith("text_encoder"):
            component.config.save_pretrained(str(target))
        else:
            component.save_config(str(target))
    return directory


# --------------------------------------------------------------------------- diffusers -> LDM
_RESNET = {"norm1": "in_layers.0", "conv1": "in_layers.2", "time_emb_proj": "emb_layers.1",
           "norm2": "out_layers.0", "conv2": "out_layers.3", "conv_shortcut": "skip_connection"}


class _Converter:
    """Moves keys from a diffusers state dict to LDM names; `left` is what has not been moved."""

    def __init__(self, state: dict, prefix: str):
        self.left = dict(state)
        self.out: dict = {}
        self.prefix = prefix

    def take(self, old: str, new: str) -> bool:
        moved = False
        for key in [k for k in self.left if k == old or k.startswith(old + ".")]:
            self.out[self.prefix + new + key[len(old):]] = self.left.pop(key)
            moved = True
        return moved

    def resnet(self, old: str, new: str, names: dict = _RESNET) -> None:
        for d, ldm in names.items():
            self.take(f"{old}.{d}", f"{new}.{ldm}")

    def done(self) -> dict:
        if self.left:
            raise AssertionError(f"unconverted keys: {sorted(self.left)[:8]}")
        return self.out


def unet_to_ldm(state: dict, config) -> dict:
    """A diffusers UNet2DConditionModel state dict in the LDM layout (model.diffusion_model.*)."""
    c = _Converter(state, "model.diffusion_model.")
    levels, per = len(config["block_out_channels"]), config["layers_per_block"]
    c.take("time_embedding.linear_1", "time_embed.0")
    c.take("time_embedding.linear_2", "time_embed.2")
    c.take("add_embedding.linear_1", "label_emb.0.0")
    c.take("add_embedding.linear_2", "label_emb.0.2")
    c.take("conv_in", "input_blocks.0.0")
    c.take("conv_norm_out", "out.0")
    c.take("conv_out", "out.2")
    for i in range(levels):
        for j in range(per):
            index = 1 + i * (per + 1) + j
            c.resnet(f"down_blocks.{i}.resnets.{j}", f"input_blocks.{index}.0")
            c.take(f"down_blocks.{i}.attentions.{j}", f"input_blocks.{index}.1")
        c.take(f"down_blocks.{i}.downsamplers.0.conv", f"input_blocks.{1 + i * (per + 1) + per}.0.op")
    c.resnet("mid_block.resnets.0", "middle_block.0")
    c.take("mid_block.attentions.0", "middle_block.1")
    c.resnet("mid_block.resnets.1", "middle_block.2")
    for i in range(levels):
        has_attention = False
        for j in range(per + 1):
            index = i * (per + 1) + j
            c.resnet(f"up_blocks.{i}.resnets.{j}", f"output_blocks.{index}.0")
            has_attention |= c.take(f"up_blocks.{i}.attentions.{j}", f"output_blocks.{index}.1")
        c.take(f"up_blocks.{i}.upsamplers.0.conv", f"output_blocks.{i * (per + 1) + per}.{2 if has_attention else 1}.conv")
    return c.done()


def vae_to_ldm(state: dict, config) -> dict:
    """A diffusers AutoencoderKL state dict in the LDM layout (first_stage_model.*)."""
    c = _Converter(state, "first_stage_model.")
    vae_resnet = {"norm1": "norm1", "conv1": "conv1", "norm2": "norm2", "conv2": "conv2",
                  "conv_shortcut": "nin_shortcut"}
    levels = len(config["block_out_channels"])
    for part in ("encoder", "decoder"):
        c.take(f"{part}.conv_in", f"{part}.conv_in")
        c.take(f"{part}.conv_out", f"{part}.conv_out")
        c.take(f"{part}.conv_norm_out", f"{part}.norm_out")
        c.resnet(f"{part}.mid_block.resnets.0", f"{part}.mid.block_1", vae_resnet)
        c.resnet(f"{part}.mid_block.resnets.1", f"{part}.mid.block_2", vae_resnet)
        attn = f"{part}.mid_block.attentions.0"
        for d, ldm in (("group_norm", "norm"), ("to_q", "q"), ("to_k", "k"), ("to_v", "v"), ("to_out.0", "proj_out")):
            for kind in ("weight", "bias"):
                key = f"{attn}.{d}.{kind}"
                if key in c.left:
                    value = c.left.pop(key)
                    if kind == "weight" and d != "group_norm":
                        value = value[:, :, None, None]  # the original attention is made of 1x1 convs
                    c.out[f"first_stage_model.{part}.mid.attn_1.{ldm}.{kind}"] = value
    for i in range(levels):
        for j in range(config["layers_per_block"]):
            c.resnet(f"encoder.down_blocks.{i}.resnets.{j}", f"encoder.down.{i}.block.{j}", vae_resnet)
        c.take(f"encoder.down_blocks.{i}.downsamplers.0.conv", f"encoder.down.{i}.downsample.conv")
        block = levels - 1 - i  # the decoder's up blocks are numbered from the bottom in LDM
        for j in range(config["layers_per_block"] + 1):
            c.resnet(f"decoder.up_blocks.{i}.resnets.{j}", f"decoder.up.{block}.block.{j}", vae_resnet)
        c.take(f"decoder.up_blocks.{i}.upsamplers.0.conv", f"decoder.up.{block}.upsample.conv")
    c.take("quant_conv", "quant_conv")
    c.take("post_quant_conv", "post_quant_conv")
    return c.done()


def clip_to_ldm(state: dict, prefix: str) -> dict:
    """A Hugging Face CLIPTextModel as SD1 / SDXL store it (`<prefix>` ends in text_model.)."""
    out = {prefix + k.removeprefix("text_model."): v for k, v in state.items()}
    out[prefix + "embeddings.position_ids"] = torch.arange(77, dtype=torch.int64)[None]  # as real files have
    return out


def openclip_to_ldm(state: dict, prefix: str, extra_layer: bool = False, seed: int = 0) -> dict:
    """A CLIPTextModel(WithProjection) in open_clip's layout (SD2 cond_stage_model.model.*, SDXL embedders.1).

    `extra_layer` appends one more resblock, unused at load: SD 2.x checkpoints hold all 24
    OpenCLIP layers while SD 2.x uses the penultimate one (diffusers' config has 23).
    """
    state = {k.removeprefix("text_model."): v for k, v in state.items()}
    out = {
        prefix + "token_embedding.weight": state.pop("embeddings.token_embedding.weight"),
        prefix + "positional_embedding": state.pop("embeddings.position_embedding.weight"),
        prefix + "ln_final.weight": state.pop("final_layer_norm.weight"),
        prefix + "ln_final.bias": state.pop("final_layer_norm.bias"),
    }
    width = out[prefix + "token_embedding.weight"].shape[1]
    generator = torch.Generator().manual_seed(seed)
    projection = state.pop("text_projection.weight", None)
    out[prefix + "text_projection"] = (projection.T.contiguous() if projection is not None
                                       else torch.randn(width, width, generator=generator) * width ** -0.5)
    out[prefix + "logit_scale"] = torch.tensor(4.6052)
    layers = sorted({int(k.split(".")[2]) for k in state if k.startswith("encoder.layers.")})
    for i in layers:
        d, o = f"encoder.layers.{i}.", f"{prefix}transformer.resblocks.{i}."
        for kind in ("weight", "bias"):
            out[o + f"attn.in_proj_{kind}"] = torch.cat(
                [state.pop(d + f"self_attn.{p}_proj.{kind}") for p in ("q", "k", "v")])
            out[o + f"attn.out_proj.{kind}"] = state.pop(d + f"self_attn.out_proj.{kind}")
            out[o + f"ln_1.{kind}"] = state.pop(d + f"layer_norm1.{kind}")
            out[o + f"ln_2.{kind}"] = state.pop(d + f"layer_norm2.{kind}")
            out[o + f"mlp.c_fc.{kind}"] = state.pop(d + f"mlp.fc1.{kind}")
            out[o + f"mlp.c_proj.{kind}"] = state.pop(d + f"mlp.fc2.{kind}")
    state.pop("embeddings.position_ids", None)
    if state:
        raise AssertionError(f"unconverted text-encoder keys: {sorted(state)[:8]}")
    if extra_layer:
        last = f"{prefix}transformer.resblocks.{layers[-1]}."
        extra = f"{prefix}transformer.resblocks.{layers[-1] + 1}."
        for key in [k for k in out if k.startswith(last)]:
            out[extra + key[len(last):]] = torch.randn(out[key].shape, generator=generator) * 0.02
    return out


def to_ldm(family: str, components: dict, seed: int = 0) -> dict:
    """All of a tiny pipeline's weights in the original single-file layout of `family`."""
    tensors = {}
    tensors.update(unet_to_ldm(components["unet"].state_dict(), components["unet"].config))
    tensors.update(vae_to_ldm(components["vae"].state_dict(), components["vae"].config))
    text = components["text_encoder"].state_dict()
    if family == "sd1":
        tensors.update(clip_to_ldm(text, SD1_TE))
    elif family in ("sd2", "sd2-v"):
        tensors.update(openclip_to_ldm(text, SD2_TE, extra_layer=True, seed=seed))
    else:
        tensors.update(clip_to_ldm(text, XL_TE1))
        tensors.update(openclip_to_ldm(components["text_encoder_2"].state_dict(), XL_TE2, seed=seed))
    return {k: v.detach().contiguous() for k, v in tensors.items()}


def save_single_file(family: str = "sd1", path: str | Path = "tiny.safetensors", seed: int = 0,
                     in_channels: int = 4, metadata: dict | None = None, dtype: torch.dtype | None = None) -> Path:
    """Write a tiny checkpoint in the original LDM/CompVis layout; its weights equal tiny_pipeline(family, seed)'s.

    SD2 files carry Stability's ``modelspec.prediction_type`` metadata ("epsilon" for "sd2",
    "v" for "sd2-v") unless `metadata` says otherwise (pass {} for none, as most real SD2 files).
    """
    from safetensors.torch import save_file

    _check_family(family)
    tensors = to_ldm(family, tiny_components(family, seed, in_channels), seed)
    if dtype is not None:
        tensors = {k: v.to(dtype) if v.is_floating_point() else v for k, v in tensors.items()}
    if metadata is None:
        metadata = {"modelspec.prediction_type": "v" if family == "sd2-v" else "epsilon"} \
            if family.startswith("sd2") else {}
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file(tensors, str(path), metadata={"format": "pt", **metadata})
    return path


def tiny_single_file(family: str, directory: str | Path, seed: int = 0, in_channels: int = 4) -> tuple[Path, Path]:
    """(checkpoint, config folder) for a tiny single file of `family` under `directory`."""
    directory = Path(directory)
    tag = family + ("-inpaint" if in_channels == 9 else "")
    path = save_single_file(family, directory / f"tiny-{tag}.safetensors", seed, in_channels)
    config = save_config_dir(family, directory / f"tiny-{tag}-config", seed, in_channels)
    return path, config


def ldm_keys_roundtrip(family: str, components: dict, tensors: dict) -> dict:
    """Convert LDM tensors back with diffusers' own converters: {component: converted state dict}."""
    from diffusers.loaders.single_file_utils import (
        convert_ldm_clip_checkpoint,
        convert_ldm_unet_checkpoint,
        convert_ldm_vae_checkpoint,
        convert_open_clip_checkpoint,
    )

    back = {
        "unet": convert_ldm_unet_checkpoint(tensors, dict(components["unet"].config)),
        "vae": convert_ldm_vae_checkpoint(tensors, dict(components["vae"].config)),
    }
    if family == "sd1" or family == "sdxl":
        back["text_encoder"] = {k.removeprefix("text_model."): v for k, v in convert_ldm_clip_checkpoint(
            {k: v for k, v in tensors.items() if k.startswith((SD1_TE, XL_TE1))}).items()}
    if family in ("sd2", "sd2-v"):
        te = components["text_encoder"]
        back["text_encoder"] = {k.removeprefix("text_model."): v
                                for k, v in convert_open_clip_checkpoint(te, tensors, SD2_TE).items()}
    if family == "sdxl":
        back["text_encoder_2"] = convert_open_clip_checkpoint(components["text_encoder_2"], tensors, XL_TE2)
    return back


def write_json(path: Path, data) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2))
    return path


# --------------------------------------------------------------------------- real sizes, no memory
def full_size_components(family: str) -> dict:
    """The real-size UNet, VAE and text encoder(s) of `family`, built from the bundled configs on
    the meta device: real parameter names and shapes, no weights, no memory."""
    from accelerate import init_empty_weights
    from diffusers import AutoencoderKL, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection

    _check_family(family)
    folder = CONFIGS / family
    with init_empty_weights():
        components = {
            "unet": UNet2DConditionModel.from_config(UNet2DConditionModel.load_config(str(folder / "unet"))),
            "vae": AutoencoderKL.from_config(AutoencoderKL.load_config(str(folder / "vae"))),
            "text_encoder": CLIPTextModel(CLIPTextConfig.from_pretrained(str(folder / "text_encoder"))),
        }
        if family == "sdxl":
            components["text_encoder_2"] = CLIPTextModelWithProjection(
                CLIPTextConfig.from_pretrained(str(folder / "text_encoder_2")))
    return components


# --------------------------------------------------------------------------- built once per process
_built: dict = {}


def _cache_dir() -> Path:
    if "dir" not in _built:
        import atexit
        import tempfile

        _built["dir"] = Path(tempfile.mkdtemp(prefix="darkroom-tiny-"))
        atexit.register(shutil.rmtree, _built["dir"], True)
    return _built["dir"]


def cached_single_file(family: str = "sd1", in_channels: int = 4) -> tuple[Path, Path]:
    """tiny_single_file(family), written once per test process. Read-only: copy before changing it."""
    key = ("single", family, in_channels)
    if key not in _built:
        _built[key] = tiny_single_file(family, _cache_dir() / "single", in_channels=in_channels)
    return _built[key]


def cached_diffusers(family: str = "sd1", in_channels: int = 4) -> Path:
    """save_diffusers(tiny_pipeline(family)), written once per test process. Read-only."""
    key = ("diffusers", family, in_channels)
    if key not in _built:
        tag = family + ("-inpaint" if in_channels == 9 else "")
        _built[key] = save_diffusers(tiny_pipeline(family, in_channels=in_channels), _cache_dir() / f"tiny-{tag}")
    return _built[key]
