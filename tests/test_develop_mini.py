"""The issue's 'done means' on the default model (darkroom-mini): generate -> hires 2x -> inpaint from the
CLI, bit-identical replay, intermediates and lineage. Skipped until the mini model is installed."""

from __future__ import annotations

import json

import pytest
from PIL import Image

from darkroom.cli import main
from darkroom.models.registry import MINI_DIR

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not (MINI_DIR / "model_index.json").is_file(), reason="darkroom-mini is not installed"),
]


def test_generate_hires_inpaint_replay_and_lineage_on_the_default_model(tmp_path, capsys):
    import time

    from darkroom.develop import masks
    from darkroom.develop.recipe import EllipseZone

    recipe = {"darkroom_recipe": 1, "model": {"name": "darkroom-mini"}, "steps": [
        {"op": "generate", "prompt": "a red house by a lake", "seed": 42, "steps": 12},
        {"op": "hires", "scale": 2, "denoise": 0.45},
        {"op": "inpaint", "prompt": "a blue house", "zone": {"kind": "ellipse", "x": 40, "y": 40, "width": 48,
                                                              "height": 40},
         "inpaint_area": "masked", "denoise": 0.75},
    ]}
    path = tmp_path / "recipe.json"
    path.write_text(json.dumps(recipe))
    started = time.perf_counter()
    assert main(["develop", str(path), "-o", str(tmp_path / "out")]) == 0
    print(f"darkroom-mini generate -> hires 2x -> inpaint: {time.perf_counter() - started:.1f} s")
    out = capsys.readouterr().out
    paths = [line for line in out.splitlines() if line.endswith(".png")]
    assert [Image.open(p).size for p in paths] == [(64, 64), (128, 128), (128, 128)]
    assert main(["replay", paths[2]]) == 0
    assert capsys.readouterr().out.startswith("identical: ")
    assert main(["lineage", paths[2]]) == 0
    assert len(capsys.readouterr().out.strip().splitlines()) == 3
    hires, final = Image.open(paths[1]), Image.open(paths[2])
    hard = masks.zone_mask(EllipseZone(x=40, y=40, width=48, height=40), hires, None)
    errors = {}
    for correct in (False, True):
        recipe["steps"][2]["color_correction"] = correct
        path.write_text(json.dumps(recipe))
        assert main(["develop", str(path), "-o", str(tmp_path / f"cc{correct}"), "--final-only"]) == 0
        errors[correct] = masks.seam_error(hires, Image.open(capsys.readouterr().out.strip()), hard)
    print(f"darkroom-mini seam error: without colour correction {errors[False]:.2f}, with {errors[True]:.2f}")
    assert final.size == (128, 128)
