"""Every run passes the policy first, every step is audited, every file leaves marked."""

from __future__ import annotations

import json

import pytest
from PIL import Image

from darkroom.cli import main
from darkroom.trust.audit import AuditLog
from darkroom.settings import Settings



def generate(tmp_path, capsys, *args) -> tuple[int, list[str]]:
    code = main(["generate", *args, "--model", "tiny", "--steps", "2", "--size", "32x32", "-o", str(tmp_path)])
    return code, capsys.readouterr().out.split()


def kinds(log: AuditLog) -> list[str]:
    return [entry.kind for entry in log.entries(0, None)]


def test_generated_file_is_marked_and_verifies(tiny_model, tmp_path, capsys):
    code, paths = generate(tmp_path, capsys, "a red circle", "--seed", "3")
    assert code == 0 and len(paths) == 1
    image = Image.open(paths[0])
    assert "trainedAlgorithmicMedia" in image.text["XML:com.adobe.xmp"]
    assert json.loads(image.text["darkroom"])["steps"][0]["seed"] == 3
    assert main(["verify", paths[0]]) == 0
    report = capsys.readouterr().out
    assert "trainedAlgorithmicMedia" in report


def test_run_is_audited_step_by_step(tiny_model, tmp_path, capsys):
    code, _ = generate(tmp_path, capsys, "a blue square", "--seed", "4", "--hires-scale", "2", "--hires-denoise", "0.4")
    assert code == 0
    log = AuditLog(Settings())
    assert kinds(log) == ["policy", "model", "step", "step", "export", "export"]
    steps = [e for e in log.entries(0, None) if e.kind == "step"]
    assert [e.payload["op"] for e in steps] == ["generate", "hires"]
    assert steps[1].payload["input_pixels_sha256"] == steps[0].payload["output_pixels_sha256"]
    assert log.verify().ok
    assert main(["audit", "verify"]) == 0


def test_blocked_prompt_makes_no_pixels_and_is_logged(tiny_model, tmp_path, capsys):
    code = main(["generate", "n.u.d.e ch1ld", "--model", "tiny", "-o", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 3
    assert "blocked by policy" in err and "absolute" in err
    assert not (tmp_path / "out").exists()
    log = AuditLog(Settings())
    assert kinds(log) == ["policy"]
    assert log.last(1)[0].payload["action"] == "block"


def test_image_history_reaches_back_through_its_parent(tiny_model, tmp_path, capsys):
    code = main(["generate", "a blue square", "--model", "tiny", "--steps", "2", "--size", "32x32", "--seed", "4",
                 "--hires-scale", "2", "--hires-denoise", "0.4", "-o", str(tmp_path)])
    final = capsys.readouterr().out.split()[-1]
    assert code == 0
    from darkroom.trust.history import image_history

    history = image_history(AuditLog(Settings()), final)
    assert [e.kind for e in history] == ["policy", "model", "step", "step", "export", "export"]
