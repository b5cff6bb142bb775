"""darkroom train lora: a few steps on darkroom-mini make a kohya LoRA that diffusers and darkroom load."""

import pytest
import torch
from PIL import Image
from safetensors import safe_open
from safetensors.torch import load_file

from darkroom.cli import main
from darkroom.errors import DarkroomError, ImageError, InvalidParameter
from darkroom.models import networks
from darkroom.train import train_lora

FAST = {"steps": 2, "batch": 2, "images": 6}


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    folder = tmp_path_factory.mktemp("train")
    seen = []
    first = train_lora("teal", folder / "teal.safetensors", seed=5, progress=lambda *a: seen.append(a), **FAST)
    again = train_lora("teal", folder / "again.safetensors", seed=5, **FAST)
    return first, again, seen


def test_training_writes_a_deterministic_kohya_lora_with_progress(trained):
    first, again, seen = trained
    assert [s[:2] for s in seen] == [(1, 2), (2, 2)] and all(s[2] > 0 for s in seen)
    tensors, repeat = load_file(str(first.path)), load_file(str(again.path))
    assert tensors.keys() == repeat.keys() and all(torch.equal(tensors[k], repeat[k]) for k in tensors)
    assert all(k.startswith("lora_unet_") and k.endswith((".lora_down.weight", ".lora_up.weight", ".alpha"))
               for k in tensors)
    assert any(k.endswith("attn2_to_k.lora_down.weight") for k in tensors)
    assert any(torch.count_nonzero(v) for k, v in tensors.items() if "lora_up" in k)  # it learned something
    with safe_open(str(first.path), "pt") as handle:
        meta = handle.metadata()
    assert meta["ss_network_dim"] == "4" and meta["ss_seed"] == "5" and meta["ss_max_train_steps"] == "2"
    assert first.examples == 6 and len(first.losses) == 2


def test_plain_diffusers_loads_the_trained_lora(trained):
    from diffusers import StableDiffusionPipeline

    from darkroom.models.registry import MINI_DIR

    pipe = StableDiffusionPipeline.from_pretrained(str(MINI_DIR), local_files_only=True, safety_checker=None,
                                                   requires_safety_checker=False, dtype=torch.float32)
    pipe.load_lora_weights(str(trained[0].path), adapter_name="teal")
    layers = [n for n, _ in pipe.unet.named_modules() if n.endswith(".lora_A.teal")]
    keys = load_file(str(trained[0].path))
    assert len(layers) == len([k for k in keys if k.endswith("lora_down.weight")]) > 0


def test_darkroom_registers_and_uses_the_trained_lora(trained, tmp_path, capsys):
    assert main(["models", "add", str(trained[0].path)]) == 0
    entry = networks.NetworkRegistry().list()[0]
    assert (entry.kind, entry.family, entry.format, entry.rank, entry.parts) == ("lora", "mini", "kohya", 4,
                                                                                  ("unet",))
    from darkroom.studio import Studio

    recipe = {"model": {"name": "darkroom-mini"}, "steps": [
        {"op": "generate", "prompt": "a large teal circle <lora:teal:1>", "seed": 1, "steps": 2, "width": 32,
         "height": 32, "sampler": "Euler"}]}
    with Studio() as studio:
        picture = studio.run(recipe, save=False)[-1]
    assert picture.recipe.networks[0].sha256 == entry.sha256


def test_the_cli_trains_from_a_folder_of_captioned_pictures_and_adds_it(tmp_path, capsys):
    pictures = tmp_path / "pictures"
    pictures.mkdir()
    for i, color in enumerate([(0, 128, 128), (10, 120, 130)]):
        Image.new("RGB", (80, 80), color).save(pictures / f"p{i}.png")
        (pictures / f"p{i}.txt").write_text("a teal background")
    out = tmp_path / "folder.safetensors"
    assert main(["train", "lora", str(pictures), "-o", str(out), "--steps", "1", "--batch", "2", "--add"]) == 0
    assert "added lora folder" in capsys.readouterr().out
    assert networks.NetworkRegistry().list()[0].name == "folder"


def test_bad_training_input_is_a_clear_error(tmp_path):
    with pytest.raises(InvalidParameter, match="unknown concept 'mauve'"):
        train_lora("mauve", tmp_path / "x.safetensors", **FAST)
    with pytest.raises(InvalidParameter, match="steps must be"):
        train_lora("teal", tmp_path / "x.safetensors", steps=0)
    with pytest.raises(InvalidParameter, match=".safetensors"):
        train_lora("teal", tmp_path / "x.ckpt", **FAST)
    with pytest.raises(InvalidParameter, match="learning rate"):
        train_lora("teal", tmp_path / "x.safetensors", lr=float("nan"), **FAST)
    folder = tmp_path / "uncaptioned"
    folder.mkdir()
    Image.new("RGB", (8, 8)).save(folder / "a.png")
    with pytest.raises(ImageError, match="has no caption"):
        train_lora(folder, tmp_path / "x.safetensors", **FAST)
    (folder / "a.png").write_bytes(b"not a picture")
    (folder / "a.txt").write_text("x")
    with pytest.raises(DarkroomError):
        train_lora(folder, tmp_path / "x.safetensors", **FAST)
    assert not (tmp_path / "x.safetensors").exists()
