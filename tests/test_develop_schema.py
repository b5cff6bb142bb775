"""The recipe schema completes the one-declaration rule: enums, shared ranges, one step registry."""

from __future__ import annotations

import argparse
import subprocess
import sys
import typing
from dataclasses import replace
from types import SimpleNamespace

import pytest
from pydantic import TypeAdapter, ValidationError

from darkroom.develop import runner, steps
from darkroom.develop.fields import MAX_SIDE, PassStep, StepModel, param
from darkroom.develop.recipe import (
    STEP_TYPES,
    DetectZone,
    GenerateStep,
    HiresStep,
    Img2ImgStep,
    InpaintStep,
    Recipe,
    describe_errors,
)
from darkroom.develop.samplers import SAMPLERS
from darkroom.develop.upscalers import UPSCALERS
from darkroom.errors import InvalidParameter

GEN = {"op": "generate", "prompt": "a boat", "seed": 5, "steps": 3, "width": 16, "height": 16}
BOX = {"kind": "box", "x": 0, "y": 0, "width": 8, "height": 8}


def recipe(*more) -> dict:
    return {"darkroom_recipe": 1, "model": {"name": "tiny"}, "steps": [GEN, *more]}


def properties(model) -> dict:
    return Recipe.model_json_schema()["$defs"][model.__name__]["properties"]


def enum_of(prop: dict) -> list:
    """The enum of a property, also when it may be empty (anyOf [..., null])."""
    for option in [prop, *prop.get("anyOf", [])]:
        if "enum" in option:
            return option["enum"]
    raise AssertionError(f"no enum in {prop}")


def parse_error(*more) -> str:
    with pytest.raises(InvalidParameter) as err:
        Recipe.parse(recipe(*more))
    return str(err.value)


# ---------------------------------------------------------------------------- enums
def test_sampler_upscaler_detector_and_inpaint_choices_are_enums_in_the_schema():
    assert enum_of(properties(GenerateStep)["sampler"]) == list(SAMPLERS)
    for model in (HiresStep, Img2ImgStep, InpaintStep):  # PassStep's optional sampler
        assert enum_of(properties(model)["sampler"]) == list(SAMPLERS)
    assert enum_of(properties(HiresStep)["upscaler"]) == list(UPSCALERS)
    assert "face" in enum_of(properties(DetectZone)["detector"])
    assert enum_of(properties(InpaintStep)["masked_content"]) == ["original", "fill", "latent noise",
                                                                  "latent nothing"]
    assert enum_of(properties(InpaintStep)["inpaint_area"]) == ["whole", "masked"]


def test_the_detector_enum_follows_the_detector_registry():
    from darkroom.models.detectors import DETECTORS, detector

    detector("test-hands")(lambda image: [])
    try:
        assert "test-hands" in enum_of(properties(DetectZone)["detector"])
        assert DetectZone(detector=" Test-Hands ").detector == "test-hands"
    finally:
        DETECTORS.pop("test-hands")
    assert "test-hands" not in enum_of(properties(DetectZone)["detector"])
    message = parse_error({"op": "inpaint", "zone": {"kind": "detect", "detector": "hands"}})
    assert "steps[1].zone.detector: unknown detector 'hands'; choose one of: face" in message


def test_aliases_are_still_accepted_and_stored_canonically():
    assert GenerateStep(prompt="x", sampler="euler A").sampler == "Euler a"
    assert HiresStep(sampler="  dpm++ 2m   KARRAS ").sampler == "DPM++ 2M Karras"
    assert HiresStep(upscaler="latent (BICUBIC antialiased)").upscaler == "Latent (bicubic antialiased)"
    assert HiresStep().sampler is None  # empty still means: the previous step's
    parsed = Recipe.parse(recipe({"op": "img2img", "sampler": "euler A"}))
    assert parsed.steps[1].sampler == "Euler a"
    assert "steps[1].sampler: unknown sampler 'Nope'; choose one of: DPM++ 2M," in parse_error(
        {"op": "hires", "sampler": "Nope"})


# ---------------------------------------------------------------------------- shared ranges
@pytest.mark.parametrize("op, extra", [("hires", {}), ("img2img", {}), ("inpaint", {"zone": BOX}),
                                       ("outpaint", {"left": 8})])
def test_denoise_out_of_range_is_rejected_with_the_field_named(op, extra):
    message = parse_error({"op": op, "denoise": 1.5, **extra})
    assert "steps[1].denoise: Input should be less than or equal to 1" in message, message


def test_each_shared_field_has_one_range_in_every_step():
    """Same name, same declared type: the range comes from fields.py, written once."""
    ranges: dict[str, set] = {}
    for model in STEP_TYPES:
        for name, prop in properties(model).items():
            for option in [prop, *prop.get("anyOf", [])]:
                if "maximum" in option:
                    ranges.setdefault(name, set()).add((option.get("minimum"), option["maximum"],
                                                        option.get("multipleOf")))
    for name in ("seed", "cfg", "denoise", "clip_skip", "width", "height"):
        assert len(ranges[name]) == 1, (name, ranges[name])
    assert ranges["width"] == {(8, MAX_SIDE, 8)} and ranges["denoise"] == {(0.0, 1.0, None)}
    assert {r for r in ranges["steps"] if r[0] == 1} == {(1, 150, None)}  # hires alone also takes 0


@pytest.mark.parametrize("step, field", [
    ({"op": "hires", "resize_height": 60}, "resize_height"),
    ({"op": "img2img", "width": 100}, "width"),
    ({"op": "inpaint", "zone": BOX, "height": 12}, "height"),
    ({"op": "outpaint", "top": 12}, "top"),
])
def test_the_multiple_of_8_check_is_the_same_everywhere(step, field):
    message = parse_error(step)
    assert f"steps[1].{field}: {step[field]} is not a multiple of 8; try " in message, message
    with pytest.raises(InvalidParameter, match=r"steps\[0\]\.width: 21 is not a multiple of 8; try 24"):
        Recipe.parse({"model": {"name": "tiny"}, "steps": [{**GEN, "width": 21}]})


def test_img2img_inpaint_and_outpaint_share_one_image_base():
    from darkroom.develop.fields import ImageStep

    for model in (Img2ImgStep, InpaintStep, steps.step_type("outpaint").model):
        assert issubclass(model, ImageStep)
        for name in ("image", "denoise", "steps"):
            assert model.model_fields[name].annotation == ImageStep.model_fields[name].annotation
    assert Img2ImgStep.model_fields["image"].description == InpaintStep.model_fields["image"].description
    assert "steps[1].image: 'sha256:xyz' is not sha256:" in parse_error({"op": "inpaint", "zone": BOX,
                                                                          "image": "sha256:xyz"})


# ---------------------------------------------------------------------------- one registry
def test_union_runner_and_infotext_all_come_from_the_registry(monkeypatch):
    models = tuple(t.model for t in steps.REGISTRY)
    assert STEP_TYPES == models
    union = typing.get_args(typing.get_args(steps.Step)[0])
    assert union == models
    mapping = Recipe.model_json_schema()["properties"]["steps"]["items"]["discriminator"]["mapping"]
    assert set(mapping) == {t.op for t in steps.REGISTRY}
    assert runner.STEPS == {t.op: t.run for t in steps.REGISTRY}
    # describe() asks each step's type for its own infotext fields
    img2img = steps.step_type("img2img")
    monkeypatch.setitem(steps.BY_OP, "img2img", replace(img2img, infotext=lambda step, first: {"Probe": "yes"}))
    parsed = Recipe.parse(recipe({"op": "img2img", "denoise": 0.3, "prompt": "a ship", "steps": 4}))
    engine = SimpleNamespace(entry=SimpleNamespace(sha256="ab" * 32, name="tiny"))
    text = runner.describe(parsed, engine, 0, 1)
    assert "Probe: yes" in text and "Denoising strength" not in text
    assert text.startswith("a ship\n")


def test_a_new_step_type_is_one_model_and_one_registry_line():
    class WaveStep(PassStep):
        op: typing.Literal["wave"] = "wave"
        amplitude: float = param(0.5, ge=0.0, le=1.0, en="How strong.", de="Wie stark.")

    wave = steps.StepType(model=WaveStep, run=lambda ctx, frame, step, index: frame,
                          infotext=lambda step, first: {"Wave": step.amplitude})
    types = (*steps.REGISTRY, wave)
    adapter = TypeAdapter(list[steps.step_union(types)])
    parsed = adapter.validate_python([{"op": "wave", "amplitude": 0.2}, {"op": "img2img"}])
    assert isinstance(parsed[0], WaveStep) and isinstance(parsed[1], Img2ImgStep)
    assert steps.by_op(types)["wave"].run is wave.run
    assert steps.by_op(types)["wave"].infotext(parsed[0], None) == {"Wave": 0.2}
    schema = adapter.json_schema()
    assert schema["$defs"]["WaveStep"]["properties"]["amplitude"]["maximum"] == 1.0
    with pytest.raises(ValidationError):
        adapter.validate_python([{"op": "wave", "amplitude": 2}])


def test_error_locations_leave_out_every_union_tag():
    message = parse_error({"op": "outpaint", "left": 12},
                          {"op": "inpaint", "zone": {"kind": "ellipse", "x": -1, "y": 0, "width": 4, "height": 4}})
    assert "steps[1].left: 12 is not a multiple of 8" in message
    assert "steps[2].zone.x: Input should be greater than or equal to 0" in message
    with pytest.raises(ValidationError) as err:
        InpaintStep(zone={"kind": "mask", "image": " "})
    assert describe_errors(err.value).startswith("zone.image: the image reference is empty")


def test_every_step_field_is_described_and_becomes_a_cli_flag():
    from darkroom.cli.fields import add_step_arguments, step_values

    required = {"generate": {"prompt": "x"}, "inpaint": {"zone": BOX}, "outpaint": {"left": 8}}
    for step_type in steps.REGISTRY:
        model = step_type.model
        for name, info in model.model_fields.items():
            if name != "op":
                assert info.description and info.json_schema_extra["description_de"], (model.__name__, name)
        parser = argparse.ArgumentParser()
        add_step_arguments(parser, model)
        values = step_values(parser.parse_args(["--seed", "7", "--sampler", "euler A"]), model)
        step = model(**values, **required.get(step_type.op, {}))
        assert (step.seed, step.sampler) == (7, "Euler a")


def test_steps_are_step_models():
    assert all(issubclass(t.model, StepModel) for t in steps.REGISTRY)
    assert len({t.op for t in steps.REGISTRY}) == len(steps.REGISTRY)


def test_the_schema_loads_without_torch_numpy_or_pil():
    code = ("import sys, darkroom.develop.recipe; "
            "print(sorted(m for m in ('torch', 'numpy', 'PIL', 'diffusers', 'cv2') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
