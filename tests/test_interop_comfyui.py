"""ComfyUI API-format `prompt` graphs: their structure checked against ComfyUI's core node inputs
(facts from ComfyUI's nodes.py and comfy/samplers.py), export in the PNG, and import back."""

from __future__ import annotations

import json

import pytest

from darkroom.develop.recipe import Recipe
from darkroom.interop.comfyui import from_prompt, to_prompt

# ComfyUI nodes.py: required inputs of the core nodes (links are typed, widgets have their choices/ranges)
NODES = {
    "CheckpointLoaderSimple": ({"ckpt_name": "STRING"}, ("MODEL", "CLIP", "VAE")),
    "CLIPSetLastLayer": ({"clip": "CLIP", "stop_at_clip_layer": ("INT", -24, -1)}, ("CLIP",)),
    "CLIPTextEncode": ({"text": "STRING", "clip": "CLIP"}, ("CONDITIONING",)),
    "EmptyLatentImage": ({"width": ("INT", 16, 8192), "height": ("INT", 16, 8192), "batch_size": ("INT", 1, 64)},
                         ("LATENT",)),
    "KSampler": ({"model": "MODEL", "seed": ("INT", 0, 0xffffffffffffffff), "steps": ("INT", 1, 10000),
                  "cfg": ("FLOAT", 0.0, 100.0), "sampler_name": "SAMPLER", "scheduler": "SCHEDULER",
                  "positive": "CONDITIONING", "negative": "CONDITIONING", "latent_image": "LATENT",
                  "denoise": ("FLOAT", 0.0, 1.0)}, ("LATENT",)),
    "LatentUpscale": ({"samples": "LATENT", "upscale_method": ["nearest-exact", "bilinear", "area", "bicubic", "bislerp"],
                       "width": ("INT", 64, 8192), "height": ("INT", 64, 8192), "crop": ["disabled", "center"]},
                      ("LATENT",)),
    "VAEDecode": ({"samples": "LATENT", "vae": "VAE"}, ("IMAGE",)),
    "VAEEncode": ({"pixels": "IMAGE", "vae": "VAE"}, ("LATENT",)),
    "VAEEncodeForInpaint": ({"pixels": "IMAGE", "vae": "VAE", "mask": "MASK", "grow_mask_by": ("INT", 0, 64)},
                            ("LATENT",)),
    "SetLatentNoiseMask": ({"samples": "LATENT", "mask": "MASK"}, ("LATENT",)),
    "ImageScale": ({"image": "IMAGE", "upscale_method": ["nearest-exact", "bilinear", "area", "bicubic"],
                    "width": ("INT", 1, 8192), "height": ("INT", 1, 8192), "crop": ["disabled", "center"]}, ("IMAGE",)),
    "LoadImage": ({"image": "STRING"}, ("IMAGE", "MASK")),
    "LoadImageMask": ({"image": "STRING", "channel": ["alpha", "red", "green", "blue"]}, ("MASK",)),
    "ImagePadForOutpaint": ({"image": "IMAGE", "left": ("INT", 0, 8192), "top": ("INT", 0, 8192),
                             "right": ("INT", 0, 8192), "bottom": ("INT", 0, 8192), "feathering": ("INT", 0, 8192)},
                            ("IMAGE", "MASK")),
    "SaveImage": ({"images": "IMAGE", "filename_prefix": "STRING"}, ()),
}
# comfy/samplers.py
SAMPLER_NAMES = ["euler", "euler_ancestral", "heun", "heunpp2", "dpm_2", "dpm_2_ancestral", "lms", "dpm_fast",
                 "dpm_adaptive", "dpmpp_2s_ancestral", "dpmpp_sde", "dpmpp_sde_gpu", "dpmpp_2m", "dpmpp_2m_sde",
                 "dpmpp_2m_sde_gpu", "dpmpp_3m_sde", "dpmpp_3m_sde_gpu", "ddpm", "lcm", "ipndm", "ipndm_v", "deis",
                 "ddim", "uni_pc", "uni_pc_bh2"]
SCHEDULER_NAMES = ["normal", "karras", "exponential", "sgm_uniform", "simple", "ddim_uniform"]


def check_graph(graph: dict) -> None:
    """Every node is a core node with exactly its required inputs, each link points at an output of the
    right type, each widget value is in range or among the choices."""
    assert graph
    for node_id, node in graph.items():
        inputs, _ = NODES[node["class_type"]]
        assert set(node["inputs"]) == set(inputs), (node_id, node["class_type"])
        for name, spec in inputs.items():
            value = node["inputs"][name]
            if isinstance(spec, str) and spec.isupper() and spec not in ("STRING", "SAMPLER", "SCHEDULER"):
                source = graph[value[0]]
                assert NODES[source["class_type"]][1][value[1]] == spec, (node_id, name)
            elif spec == "STRING":
                assert isinstance(value, str)
            elif spec == "SAMPLER":
                assert value in SAMPLER_NAMES
            elif spec == "SCHEDULER":
                assert value in SCHEDULER_NAMES
            elif isinstance(spec, list):
                assert value in spec, (node_id, name, value)
            else:
                kind, low, high = spec
                assert isinstance(value, int if kind == "INT" else (int, float)) and low <= value <= high, (name, value)
    assert sum(n["class_type"] == "SaveImage" for n in graph.values()) == 1


STEPS = [
    {"op": "generate", "prompt": "a lighthouse", "negative_prompt": "fog", "seed": 5, "steps": 12, "cfg": 6.0,
     "sampler": "DPM++ 2M Karras", "width": 512, "height": 384, "clip_skip": 2},
    {"op": "hires", "prompt": "a lighthouse", "negative_prompt": "fog", "seed": 5, "steps": 6, "cfg": 6.0,
     "sampler": "DPM++ 2M Karras", "clip_skip": 2, "scale": 2.0, "denoise": 0.45, "upscaler": "Latent"},
]


def test_txt2img_with_hires_is_a_graph_of_core_nodes_and_imports_back():
    recipe = Recipe.parse({"model": {"name": "sd15"}, "steps": STEPS})
    graph, notes = to_prompt(recipe)
    check_graph(graph)
    assert notes == []
    kinds = sorted(n["class_type"] for n in graph.values())
    assert kinds.count("KSampler") == 2 and "LatentUpscale" in kinds and "CLIPSetLastLayer" in kinds
    sampler = next(n for n in graph.values() if n["class_type"] == "KSampler" and n["inputs"]["denoise"] == 1.0)
    assert (sampler["inputs"]["sampler_name"], sampler["inputs"]["scheduler"]) == ("dpmpp_2m", "karras")
    back, unmapped = from_prompt(json.loads(json.dumps(graph)))
    assert unmapped == []
    assert Recipe.parse(back).steps == recipe.steps


@pytest.mark.parametrize("upscaler", ["Bicubic", "Lanczos"])
def test_pixel_hires_and_img2img_inpaint_outpaint_map_onto_core_nodes(upscaler):
    steps = [STEPS[0], {**STEPS[1], "upscaler": upscaler},
             {"op": "inpaint", "prompt": "p", "negative_prompt": "", "seed": 1, "steps": 10, "cfg": 7, "sampler": "Euler",
              "clip_skip": 1, "denoise": 1.0, "zone": {"kind": "mask", "image": "sha256:" + "a" * 64}},
             {"op": "img2img", "prompt": "p", "negative_prompt": "", "seed": 2, "steps": 10, "cfg": 7,
              "sampler": "Euler a", "clip_skip": 1, "denoise": 0.5, "width": 512, "height": 512},
             {"op": "outpaint", "prompt": "p", "negative_prompt": "", "seed": 3, "steps": 10, "cfg": 7,
              "sampler": "Euler", "clip_skip": 1, "denoise": 0.9, "left": 64}]
    graph, notes = to_prompt(Recipe.parse({"model": {"name": "sd15.safetensors"}, "steps": steps}))
    check_graph(graph)
    kinds = [n["class_type"] for n in graph.values()]
    assert {"ImageScale", "VAEEncodeForInpaint", "LoadImageMask", "ImagePadForOutpaint"} <= set(kinds)
    mask = next(n for n in graph.values() if n["class_type"] == "LoadImageMask")
    assert mask["inputs"]["image"] == "a" * 64 + ".png"
    assert any("grey" in n for n in notes) and (upscaler != "Lanczos" or any("Lanczos" in n for n in notes))


def test_a_box_zone_has_no_core_node_and_makes_no_graph():
    steps = [STEPS[0], {"op": "inpaint", "prompt": "p", "seed": 1, "steps": 10, "cfg": 7, "sampler": "Euler",
                        "negative_prompt": "", "clip_skip": 1,
                        "zone": {"kind": "box", "x": 0, "y": 0, "width": 8, "height": 8}}]
    graph, notes = to_prompt(Recipe.parse({"model": {"name": "m"}, "steps": steps}))
    assert graph is None and "box zone" in notes[-1]


def test_import_lists_what_it_cannot_map():
    graph, _ = to_prompt(Recipe.parse({"model": {"name": "m"}, "steps": STEPS[:1]}))
    ksampler = next(k for k, n in graph.items() if n["class_type"] == "KSampler")
    graph[ksampler]["inputs"]["sampler_name"] = "dpm_adaptive"
    graph["99"] = {"class_type": "LoraLoader", "inputs": {}}
    graph[ksampler]["inputs"]["model"] = ["99", 0]
    recipe, unmapped = from_prompt(graph)
    assert "sampler" not in recipe["steps"][0]
    assert any("dpm_adaptive" in u for u in unmapped) and any("LoraLoader" in u for u in unmapped)


def test_generated_png_carries_the_graph_and_darkroom_imports_it(tiny_model, tmp_path, capsys):
    from PIL import Image

    from darkroom.cli import main

    assert main(["generate", "a red circle", "--seed", "3", "--steps", "4", "--model", tiny_model, "-o", str(tmp_path), "--comfyui"]) == 0
    path = next(tmp_path.glob("*.png"))
    graph = json.loads(Image.open(path).info["prompt"])
    check_graph(graph)
    capsys.readouterr()
    assert main(["import", str(path), "-o", str(tmp_path / "recipe.json")]) == 0
    imported = Recipe.parse((tmp_path / "recipe.json").read_text())
    assert imported.steps[0].seed == 3 and imported.steps[0].steps == 4 and imported.model.name == tiny_model
    capsys.readouterr()
    assert main(["import", str(path), "--source", "a1111"]) == 0
    from_infotext = Recipe.parse(capsys.readouterr().out)
    assert from_infotext.steps[0] == imported.steps[0]
