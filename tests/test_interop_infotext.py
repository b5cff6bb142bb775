"""The infotext of every picture describes that picture, read with A1111's own parsing logic; prompts
cannot forge infotext lines; A1111 infotext imports as a recipe."""

from __future__ import annotations

import types

import pytest

from a1111_facts import parse_generation_parameters
from darkroom.develop.infotext import infotext, safe_prompt
from darkroom.develop.recipe import Recipe
from darkroom.develop.runner import describe
from darkroom.interop import a1111

ENGINE = types.SimpleNamespace(entry=types.SimpleNamespace(sha256="ab" * 32, name="tiny"))
BOX = {"kind": "box", "x": 8, "y": 8, "width": 24, "height": 24}
CHAIN = [
    {"op": "generate", "prompt": "a red circle", "negative_prompt": "blue", "seed": 7, "steps": 4, "width": 32,
     "height": 32, "sampler": "Euler", "cfg": 7.0},
    {"op": "hires", "scale": 2.0, "steps": 2, "denoise": 0.5, "seed": 777, "negative_prompt": "green"},
    {"op": "inpaint", "prompt": "a yellow square", "seed": 99, "steps": 5, "denoise": 0.6, "zone": BOX,
     "mask_blur": 2, "inpaint_area": "masked", "padding": 16, "width": 32, "height": 32},
    {"op": "img2img", "seed": 5, "steps": 4, "denoise": 0.5},
    {"op": "outpaint", "right": 16, "seed": 11, "steps": 2, "denoise": 0.9},
]


def check(picture) -> None:
    """Every A1111 field of the picture's infotext against the step of its recipe that made it."""
    parsed = parse_generation_parameters(picture.infotext)
    steps = picture.recipe.steps
    base = [s for s in steps if s.op != "hires"][-1]
    assert parsed["Prompt"] == base.prompt and parsed["Negative prompt"] == (base.negative_prompt or "")
    assert int(parsed["Seed"]) == base.seed and int(parsed["Steps"]) == base.steps
    assert parsed["Sampler"] == base.sampler and float(parsed["CFG scale"]) == base.cfg
    if base.op == "generate":
        assert (int(parsed["Size-1"]), int(parsed["Size-2"])) == (base.width, base.height)
    elif base.op == "inpaint" and base.inpaint_area == "masked":
        assert (int(parsed["Size-1"]), int(parsed["Size-2"])) == (base.width, base.height)
        assert parsed["Inpaint area"] == "Only masked" and int(parsed["Masked area padding"]) == base.padding
    else:
        assert (int(parsed["Size-1"]), int(parsed["Size-2"])) == (picture.width, picture.height)
    if base.op != "generate":
        assert float(parsed["Denoising strength"]) == base.denoise
    if base.op in ("inpaint", "outpaint"):
        assert int(parsed["Mask blur"]) == base.mask_blur
    if steps[-1].op == "hires":
        hires = steps[-1]
        assert float(parsed["Denoising strength"]) == hires.denoise and int(parsed["Hires steps"]) == hires.steps
        assert float(parsed["Hires upscale"]) == hires.scale and parsed["Hires upscaler"] == hires.upscaler
        assert parsed["Hires negative prompt"] == hires.negative_prompt and int(parsed["Hires seed"]) == hires.seed
    assert parsed["Model"] == picture.recipe.model.name


def test_every_step_type_output_is_described_as_a1111_would(tiny_model, tmp_path):
    from darkroom.studio import Studio

    with Studio() as studio:
        pictures = studio.run({"model": {"name": tiny_model}, "steps": CHAIN}, out_dir=tmp_path)
    assert [p.op for p in pictures] == ["generate", "hires", "inpaint", "img2img", "outpaint"]
    for picture in pictures:
        check(picture)
    inpainted = parse_generation_parameters(pictures[2].infotext)
    assert (inpainted["Seed"], inpainted["Steps"], inpainted["Denoising strength"]) == ("99", "5", "0.6")
    assert "-777-hires" in pictures[1].path.name


def test_hires_after_an_img2img_pass_keeps_that_pass_denoising_strength():
    recipe = Recipe.parse({"model": {"name": "tiny"}, "steps": [
        {**CHAIN[3], "image": "sha256:" + "0" * 64, "prompt": "p", "sampler": "Euler", "cfg": 7.0, "clip_skip": 1,
         "negative_prompt": ""},
        {"op": "hires", "steps": 3, "denoise": 0.2, "seed": 5, "prompt": "p", "negative_prompt": "", "sampler": "Euler",
         "cfg": 7.0, "clip_skip": 1}]})
    parsed = parse_generation_parameters(describe(recipe, ENGINE, 0, 1, (128, 128)))
    assert parsed["Denoising strength"] == "0.5" and parsed["Hires denoising strength"] == "0.2"


FORGERIES = [
    "a cat\nNegative prompt: ugly",
    "a cat\nSteps: 99, Sampler: Euler a, CFG scale: 1, Seed: 1, Size: 8x8",
    "a cat\r\nnegative PROMPT: ugly",
    "a cat\u2028Negative prompt: ugly\u2029Steps: 99, Sampler: X, Seed: 1",
    "Negative prompt: ugly",
    "a cat, Negative prompt: in the middle",
]


@pytest.mark.parametrize("prompt", FORGERIES)
def test_a_prompt_cannot_forge_infotext_lines(prompt):
    import sd_parsers.parsers._automatic1111 as sdp

    text = infotext(prompt, "real negative", {"Steps": 20, "Sampler": "Euler", "CFG scale": 7, "Seed": 5,
                                              "Size": "64x64"})
    parsed = parse_generation_parameters(text)
    assert parsed["Negative prompt"] == "real negative"
    assert (parsed["Steps"], parsed["Seed"], parsed["Size-1"]) == ("20", "5", "64")
    # any line split (str.splitlines: \r, U+2028, ...) shows no forged line either
    lines = text.splitlines()
    assert sum(line.strip().lower().startswith("negative prompt:") for line in lines) == 1
    assert sum("Steps:" in line for line in lines) == 1
    read = sdp.AUTOMATIC1111Parser().parse({"parameters": text})  # sd-parsers
    assert read.samplers[0].parameters["seed"] == "5" and read.samplers[0].parameters["steps"] == "20"
    assert str(read.samplers[0].negative_prompts[0]) == "real negative"
    assert text.count("Negative prompt:") == 1 and "Steps: 99" not in text
    # sd-parsers' split at "Negative prompt:" gives the real negative prompt
    assert text.split("Negative prompt:")[1].split("\n")[0].strip() == "real negative"


@pytest.mark.parametrize("prompt", ['say "hi": now, ok', "two\nlines", "ünïcödé 灯台 (weight:1.2) [a:b:0.5]",
                                    "Steps are nice: really"])
def test_ordinary_prompts_round_trip_exactly(prompt):
    assert safe_prompt(prompt) == prompt
    text = infotext(prompt, prompt, {"Steps": 20, "Sampler": "Euler", "Seed": 5, "Hires prompt": prompt})
    parsed = parse_generation_parameters(text)
    assert parsed["Prompt"] == prompt and parsed["Negative prompt"] == prompt and parsed["Hires prompt"] == prompt


@pytest.mark.parametrize("prompt", FORGERIES)
def test_defused_prompts_encode_to_the_same_clip_tokens(prompt):
    from pathlib import Path

    import darkroom.models.clip as clip
    from transformers import CLIPTokenizer

    folder = Path(clip.__file__).parent
    tokenizer = CLIPTokenizer(str(folder / "vocab.json"), str(folder / "merges.txt"))
    assert safe_prompt(prompt) != prompt
    assert tokenizer(safe_prompt(prompt)).input_ids == tokenizer(prompt).input_ids


def test_a1111_txt2img_hires_infotext_imports_as_a_recipe():
    text = ("a castle, \"quoted\"\nNegative prompt: fog\nSteps: 25, Sampler: DPM++ 2M, Schedule type: Karras, "
            "CFG scale: 6.5, Seed: 1234, Size: 512x768, Model hash: abcdef1234, Model: sd15, Clip skip: 2, "
            "Denoising strength: 0.4, Hires upscale: 2, Hires steps: 10, Hires upscaler: Latent, "
            "ENSD: 31337, Version: v1.10.1")
    recipe, unmapped = a1111.to_recipe(text)
    parsed = Recipe.parse(recipe)
    generate, hires = parsed.steps
    assert (generate.prompt, generate.negative_prompt, generate.seed, generate.steps) == \
        ('a castle, "quoted"', "fog", 1234, 25)
    assert (generate.sampler, generate.cfg, generate.width, generate.height, generate.clip_skip) == \
        ("DPM++ 2M Karras", 6.5, 512, 768, 2)
    assert (hires.scale, hires.steps, hires.denoise, hires.upscaler) == (2.0, 10, 0.4, "Latent")
    assert parsed.model.name == "sd15" and unmapped == ["ENSD: 31337"]


def test_what_cannot_be_mapped_is_listed_not_guessed():
    recipe, unmapped = a1111.to_recipe("x\nSteps: 20, Sampler: Euler, Seed: 1, Denoising strength: 0.5, Mask blur: 4")
    assert recipe is None and "source picture" in unmapped[0]
    recipe, unmapped = a1111.to_recipe("x\nSteps: 20, Sampler: Euler, Seed: 1, Size: 64x64, Hires upscale: 2, "
                                       "Hires upscaler: R-ESRGAN 4x+, Denoising strength: 0.5")
    assert recipe is None and any("R-ESRGAN" in u for u in unmapped)
    recipe, unmapped = a1111.to_recipe("x\nSteps: 20, Sampler: Mystery, Seed: 1, Size: 64x64, Model: m")
    assert "Sampler: Mystery" in unmapped and "sampler" not in recipe["steps"][0]


def test_darkroom_infotext_imports_back_to_the_same_first_pass():
    recipe = Recipe.parse({"model": {"name": "tiny"}, "steps": CHAIN[:2]})
    from darkroom.develop.passes import inherit

    resolved = [recipe.steps[0], inherit(recipe.steps[1], [recipe.steps[0]], 1, 0)]
    text = describe(Recipe(model=recipe.model, steps=resolved), ENGINE, 0, 1, (256, 256))
    back, unmapped = a1111.to_recipe(text)
    steps = Recipe.parse(back).steps
    assert steps[0] == resolved[0].model_copy(update={"batch_size": 1})
    assert (steps[1].scale, steps[1].seed, steps[1].negative_prompt, steps[1].denoise) == (2.0, 777, "green", 0.5)
    assert unmapped == []
