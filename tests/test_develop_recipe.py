"""The recipe schema of the develop steps, and how a run chains them (batch, inheritance, sharing)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from developing import develop_recipe

from darkroom.cli import main
from darkroom.develop.recipe import GenerateStep, HiresStep, InpaintStep, ModelRef, Recipe
from darkroom.errors import InvalidParameter
from darkroom.settings import Settings



def recipe(*steps) -> dict:
    return {"darkroom_recipe": 1, "model": {"name": "tiny"}, "steps": list(steps)}


GEN = {"op": "generate", "prompt": "a boat", "seed": 5, "steps": 3, "width": 16, "height": 16}


def test_new_steps_round_trip_through_canonical_json():
    data = recipe(GEN, {"op": "hires", "upscaler": "latent (BICUBIC antialiased)", "resize_width": 64},
                  {"op": "img2img", "denoise": 0.3},
                  {"op": "inpaint", "zone": {"kind": "mask", "image": "sha256:" + "a" * 64},
                   "masked_content": "latent noise", "inpaint_area": "masked"},
                  {"op": "inpaint", "zone": {"kind": "detect", "detector": "face", "index": None}})
    parsed = Recipe.parse(json.dumps(data))
    assert parsed.steps[1].upscaler == "Latent (bicubic antialiased)"  # canonical spelling
    assert Recipe.parse(parsed.canonical_json()).sha256() == parsed.sha256()
    assert [s.op for s in parsed.steps] == ["generate", "hires", "img2img", "inpaint", "inpaint"]


@pytest.mark.parametrize("step, message", [
    ({"op": "hires", "denoise": -0.1}, "steps[1].denoise: Input should be greater than or equal to 0"),
    ({"op": "hires", "upscaler": "ESRGAN"}, "steps[1].upscaler: unknown upscaler 'ESRGAN'"),
    ({"op": "hires", "resize_width": 100}, "steps[1].resize_width: 100 is not a multiple of 8"),
    ({"op": "img2img", "resize_mode": "zoom"}, "steps[1].resize_mode"),
    ({"op": "img2img", "image": "sha256:xyz"}, "steps[1].image: 'sha256:xyz' is not sha256: followed by"),
    ({"op": "inpaint"}, "steps[1].zone: Field required"),
    ({"op": "inpaint", "zone": {"kind": "circle"}}, "steps[1].zone"),
    ({"op": "inpaint", "zone": {"kind": "box", "x": 1, "y": 1, "width": 4, "height": 4}, "mask_blur": 99},
     "steps[1].mask_blur: Input should be less than or equal to 64"),
    ({"op": "inpaint", "zone": {"kind": "ellipse", "x": -1, "y": 1, "width": 4, "height": 4}}, "steps[1].zone.x"),
    ({"op": "inpaint", "zone": {"kind": "box", "x": 1, "y": 1, "width": 4, "height": 4}, "sampler": "Nope"},
     "steps[1].sampler: unknown sampler 'Nope'"),
])
def test_errors_name_the_step_index_and_field(step, message):
    with pytest.raises(InvalidParameter) as err:
        Recipe.parse(recipe(GEN, step))
    assert message in str(err.value), str(err.value)


def test_every_field_is_described_in_english_and_german():
    for model in (HiresStep, InpaintStep):
        for name, info in model.model_fields.items():
            if name == "op":
                continue
            assert info.description, (model.__name__, name)
            assert info.json_schema_extra["description_de"], (model.__name__, name)
    schema = Recipe.model_json_schema()
    assert {"GenerateStep", "HiresStep", "Img2ImgStep", "InpaintStep", "BoxZone", "DetectZone"} <= set(schema["$defs"])


def test_batch_chains_inherit_seeds_and_share_one_model(tiny_model):
    batch = Recipe.parse(recipe({**GEN, "batch_size": 2}, {"op": "hires", "steps": 2},
                                {"op": "inpaint", "zone": {"kind": "box", "x": 2, "y": 2, "width": 8, "height": 8},
                                 "steps": 2, "seed": 100}))
    seen = []
    results = develop_recipe(batch, on_step=seen.append)
    assert seen == results  # each picture is announced as soon as its step is done
    assert [(d.batch_index, d.step_index) for d in results] == [(0, 0), (0, 1), (0, 2), (1, 0), (1, 1), (1, 2)]
    assert [d.final for d in results] == [False, False, True] * 2
    seeds = [[s.seed for s in d.recipe.steps] for d in results if d.final]
    assert seeds == [[5, 5, 100], [6, 6, 101]]  # hires follows its image's seed; explicit seeds + batch index
    assert results[2].parent is results[1] and results[1].parent is results[0] and results[0].parent is None
    # the second chain replays alone, bit for bit, from its own recipe
    alone = develop_recipe(results[5].recipe)
    assert np.array_equal(np.asarray(alone[-1].image), np.asarray(results[5].image))
    from darkroom.models.cache import cached_engines

    engine = cached_engines()[-1]
    unets = {id(engine.pipeline(kind).unet) for kind in ("txt2img", "img2img", "inpaint")}
    assert len(unets) == 1  # one copy of the model for every step


def test_prompt_encodings_are_computed_once_per_run(tiny_model, monkeypatch):
    import darkroom.prompt.encode as encode

    calls = []
    real = encode.encode_prompt
    monkeypatch.setattr(encode, "encode_prompt", lambda *a, **k: calls.append(a[1:3]) or real(*a, **k))
    develop_recipe(Recipe.parse(recipe(GEN, {"op": "hires", "steps": 1}, {"op": "img2img", "steps": 2, "denoise": 0.5},
                                {"op": "inpaint", "prompt": "a flag",
                                 "zone": {"kind": "box", "x": 0, "y": 0, "width": 8, "height": 8}, "steps": 2})))
    assert calls == [("a boat", ""), ("a flag", "")]


def test_a_recipe_may_start_from_a_picture_but_needs_a_prompt(tiny_model):
    box = {"kind": "box", "x": 0, "y": 0, "width": 4, "height": 4}
    with pytest.raises(InvalidParameter, match=r"steps\[0\].image: the first step needs an input image"):
        Recipe.parse({"model": {"name": "tiny"}, "steps": [{"op": "inpaint", "prompt": "x", "zone": box}]})
    with pytest.raises(InvalidParameter, match=r"steps\[0\]: a hires step needs a picture before it"):
        Recipe.parse({"model": {"name": "tiny"}, "steps": [{"op": "hires", "scale": 2}]})
    with pytest.raises(InvalidParameter, match=r"steps\[1\]: generate can only be the first step"):
        Recipe.parse({"model": {"name": "tiny"}, "steps": [GEN, {**GEN, "prompt": "again"}]})
    with pytest.raises(InvalidParameter, match=r"steps\[0\].prompt: no earlier step has a prompt"):
        develop_recipe(Recipe(model=ModelRef(name="tiny"), steps=[InpaintStep(image="x.png", zone=box)]),
                       load_input=lambda ref: None)


@pytest.mark.parametrize("family", ["sd2-v", "sdxl"])
def test_other_families_run_every_step_deterministically(family, tmp_path_factory):
    from tinymodels import save_diffusers, tiny_pipeline

    folder = save_diffusers(tiny_pipeline(family), tmp_path_factory.mktemp(family) / f"tiny-{family}")
    assert main(["models", "add", str(folder), "--name", f"tiny-{family}"]) == 0
    data = recipe({**GEN, "width": 16, "height": 16}, {"op": "hires", "steps": 1, "upscaler": "Lanczos"},
                  {"op": "inpaint", "zone": {"kind": "box", "x": 4, "y": 4, "width": 12, "height": 12}, "steps": 2,
                   "inpaint_area": "masked", "padding": 2})
    data["model"]["name"] = f"tiny-{family}"
    first, second = (develop_recipe(Recipe.parse(data)) for _ in range(2))
    assert [d.image.size for d in first] == [(16, 16), (32, 32), (32, 32)]
    assert np.array_equal(np.asarray(first[-1].image), np.asarray(second[-1].image))


def test_a_recipe_has_at_most_max_steps_steps():
    from darkroom.develop.recipe import MAX_STEPS

    chain = [{"op": "generate", "prompt": "a fox"}] + [{"op": "img2img", "prompt": "a fox", "denoise": 0.3}] * MAX_STEPS
    with pytest.raises(InvalidParameter, match="steps: List should have at most 64 items"):
        Recipe.parse(recipe(*chain))
    assert len(Recipe.parse(recipe(*chain[:MAX_STEPS])).steps) == MAX_STEPS
