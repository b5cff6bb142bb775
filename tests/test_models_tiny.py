"""The tiny test models: deterministic, and their LDM files have exactly the real key layout."""

from __future__ import annotations

import pytest
import torch

from tinymodels import FAMILIES, ldm_keys_roundtrip, tiny_components, to_ldm


@pytest.mark.parametrize("family", FAMILIES)
def test_ldm_layout_maps_back_exactly_with_diffusers_converters(family):
    """diffusers' own LDM -> diffusers conversion gives back every tensor of the tiny model, unchanged."""
    components = tiny_components(family)
    back = ldm_keys_roundtrip(family, components, to_ldm(family, components))
    for name, converted in back.items():
        original = {k: v for k, v in components[name].state_dict().items() if "position_ids" not in k}
        converted = {k: v for k, v in converted.items() if "position_ids" not in k}
        if family.startswith("sd2") and name == "text_encoder":
            # SD 2.x files hold one more OpenCLIP layer than the penultimate-layer text encoder uses
            converted = {k: v for k, v in converted.items() if not k.startswith("encoder.layers.2.")}
        assert converted.keys() == original.keys(), name
        assert all(torch.equal(converted[k], original[k]) for k in original), name


def test_real_prefixes_and_shapes():
    sd1 = to_ldm("sd1", tiny_components("sd1"))
    assert "model.diffusion_model.input_blocks.1.1.transformer_blocks.0.attn2.to_k.weight" in sd1
    assert "model.diffusion_model.output_blocks.2.1.conv.weight" in sd1  # upsampler after a plain block
    assert sd1["first_stage_model.encoder.mid.attn_1.q.weight"].ndim == 4  # 1x1 convs, as in LDM
    assert "cond_stage_model.transformer.text_model.embeddings.position_ids" in sd1
    sd2 = to_ldm("sd2", tiny_components("sd2"))
    assert sd2["cond_stage_model.model.transformer.resblocks.0.attn.in_proj_weight"].shape == (3 * 48, 48)
    assert "cond_stage_model.model.transformer.resblocks.2.ln_1.weight" in sd2  # the unused last layer
    xl = to_ldm("sdxl", tiny_components("sdxl"))
    assert xl["model.diffusion_model.label_emb.0.0.weight"].shape[1] == 64 + 6 * 8
    assert xl["conditioner.embedders.1.model.text_projection"].shape == (64, 64)
    assert "conditioner.embedders.0.transformer.text_model.final_layer_norm.weight" in xl
    assert "model.diffusion_model.input_blocks.4.1.transformer_blocks.1.attn1.to_q.weight" in xl


def test_same_seed_same_weights_other_seed_other_weights():
    a, b, c = (tiny_components("sd1", seed=s)["unet"].state_dict() for s in (0, 0, 1))
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not all(torch.equal(a[k], c[k]) for k in a)
