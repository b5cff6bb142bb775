"""The registry and `darkroom models add|list|remove`; hashes and their cache."""

from __future__ import annotations

import hashlib
import json
import os
import shutil

import pytest

from darkroom.cli import main
from darkroom.errors import ModelError, UnknownModel
from darkroom.models import hashing, registry
from darkroom.models.hashing import a1111_short_hash, sha256_file, sha256_folder
from darkroom.models.registry import BUILTIN_NAME, Registry
from darkroom.settings import Settings
from tinymodels import cached_diffusers, cached_single_file


@pytest.fixture
def no_mini(tmp_path, monkeypatch):
    """darkroom-mini not installed yet (it may still be training)."""
    monkeypatch.setattr(registry, "MINI_DIR", tmp_path / "mini-missing")


@pytest.fixture
def fake_mini(monkeypatch):
    monkeypatch.setattr(registry, "MINI_DIR", cached_diffusers("sd1"))


def test_cli_round_trip(no_mini, tmp_path, capsys):
    path, config = cached_single_file("sd1")
    assert main(["models", "add", str(path), "--name", "tiny-sd1", "--config", str(config)]) == 0
    out = capsys.readouterr().out
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    assert out.startswith("added tiny-sd1: sd1, epsilon prediction, native size 32x32, hash " + sha[:10])

    folder = cached_diffusers("sdxl")
    assert main(["models", "add", str(folder)]) == 0
    capsys.readouterr()

    assert main(["models", "list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["NAME", "KIND", "FAMILY", "SIZE", "HASH", "PATH"]
    assert lines[1].startswith("*") and BUILTIN_NAME in lines[1] and "(missing)" in lines[1]
    assert lines[2].split()[:5] == ["tiny-sd1", "checkpoint", "sd1", "32", sha[:10]]
    assert lines[3].split()[:4] == ["tiny-sdxl", "checkpoint", "sdxl", "32"]

    entry = Registry().resolve("tiny-sd1")
    assert (entry.format, entry.family, entry.sha256, entry.config_dir) == ("single_file", "sd1", sha, str(config))
    assert Registry().resolve(sha[:10]).name == "tiny-sd1"  # A1111's short hash finds it too
    assert Registry().resolve(str(path)).name == "tiny-sd1"  # and so does its path

    assert main(["models", "remove", "tiny-sd1"]) == 0
    assert "removed tiny-sd1" in capsys.readouterr().out
    assert [e.name for e in Registry().list()] == [BUILTIN_NAME, "tiny-sdxl"]
    assert main(["models", "remove", "tiny-sd1"]) == UnknownModel.exit_code
    err = capsys.readouterr().err
    assert "unknown model 'tiny-sd1'. Known models: darkroom-mini, tiny-sdxl" in err


def test_registry_file_is_json_written_atomically(no_mini):
    path, config = cached_single_file("sd2")
    settings = Settings()
    Registry(settings).add(path, name="a", config_dir=config)
    data = json.loads(settings.registry_file.read_text())
    assert data["darkroom_models"] == 1 and data["models"][0]["name"] == "a"
    assert data["models"][0]["family"] == "sd2" and data["models"][0]["prediction_source"] == "metadata"
    leftovers = [p.name for p in settings.home.iterdir() if p.name.endswith(".tmp")]
    assert leftovers == []


def test_add_prediction_override_and_readd(no_mini):
    path, config = cached_single_file("sd2")
    reg = Registry()
    assert reg.add(path, name="m", config_dir=config).family == "sd2"
    entry = reg.add(path, name="m", prediction="v", config_dir=config)  # same name and file: replaced
    assert (entry.family, entry.prediction, entry.prediction_source) == ("sd2-v", "v", "override")
    assert [e.family for e in reg.list()[1:]] == ["sd2-v"]


def test_add_errors(no_mini, tmp_path):
    reg = Registry()
    path, config = cached_single_file("sd1")
    reg.add(path, name="taken", config_dir=config)
    other, other_config = cached_single_file("sd2")
    with pytest.raises(ModelError, match="already exists"):
        reg.add(other, name="taken", config_dir=other_config)
    with pytest.raises(ModelError, match="built-in model's name"):
        reg.add(other, name=BUILTIN_NAME, config_dir=other_config)
    with pytest.raises(ModelError, match="invalid model name"):
        reg.add(other, name="has space", config_dir=other_config)
    with pytest.raises(ModelError, match="no such file"):
        reg.add(tmp_path / "nope.safetensors")
    with pytest.raises(ModelError, match="standard sd1 architecture"):
        reg.add(path, name="no-config")  # a tiny file cannot use the bundled full-size config
    with pytest.raises(ModelError, match="not a diffusers config folder"):
        reg.add(path, name="bad-config", config_dir=tmp_path)
    with pytest.raises(ModelError, match="built in and cannot be removed"):
        reg.remove(BUILTIN_NAME)


def test_unknown_model_lists_known_names(no_mini):
    with pytest.raises(UnknownModel, match="Known models: darkroom-mini.*models add PATH"):
        Registry().resolve("sd-xl-turbo")


def test_path_not_in_registry_is_inspected_on_the_fly(no_mini):
    folder = cached_diffusers("sd2")
    entry = Registry().resolve(str(folder))
    assert (entry.name, entry.format, entry.family) == ("tiny-sd2", "diffusers", "sd2")
    assert [e.name for e in Registry().list()] == [BUILTIN_NAME]  # not saved


def test_default_is_darkroom_mini(fake_mini):
    entry = Registry().default()
    assert (entry.name, entry.family, entry.format, entry.builtin) == (BUILTIN_NAME, "mini", "diffusers", True)
    assert entry.native_size == 32 and entry.sha256 == sha256_folder(registry.MINI_DIR)
    assert Registry().resolve(BUILTIN_NAME) == entry
    assert Registry().resolve(entry.sha256[:12]).name == BUILTIN_NAME


def test_missing_mini_gives_a_clear_error(no_mini, capsys):
    with pytest.raises(ModelError, match="darkroom-mini is not installed.*models add PATH"):
        Registry().default()
    assert main(["models", "list"]) == 0
    assert "(missing)" in capsys.readouterr().out


def test_damaged_registry(no_mini):
    settings = Settings()
    settings.ensure_home()
    settings.registry_file.write_text("{not json")
    with pytest.raises(ModelError, match="unreadable.*fix or delete it"):
        Registry(settings).list()
    settings.registry_file.write_text(json.dumps({"models": [{"name": 3}]}))
    with pytest.raises(ModelError, match="damaged"):
        Registry(settings).list()


# ------------------------------------------------------------------ hashes
def test_sha256_and_a1111_hash(tmp_path):
    path = tmp_path / "f.bin"
    path.write_bytes(b"darkroom" * 100_000)
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    assert sha256_file(path) == sha and a1111_short_hash(sha) == sha[:10]


def test_hash_cache_hit_does_not_reread(tmp_path, monkeypatch):
    path = tmp_path / "model.safetensors"
    path.write_bytes(b"a" * 4096)
    first = sha256_file(path)
    reads = []
    real = hashing._read_sha256
    monkeypatch.setattr(hashing, "_read_sha256", lambda p, progress=None: reads.append(p) or real(p))
    assert sha256_file(path) == first and reads == []  # same path, size, mtime: cached

    stat = path.stat()
    path.write_bytes(b"b" * 4096)  # same size; restore the mtime: the cache cannot tell
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert sha256_file(path) == first and reads == []

    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))  # touched: re-read
    assert sha256_file(path) == hashlib.sha256(b"b" * 4096).hexdigest() and len(reads) == 1
    cache = json.loads(Settings().hash_cache_file.read_text())
    assert cache["files"][str(path.resolve())]["size"] == 4096


def test_hash_progress(tmp_path):
    path = tmp_path / "big.bin"
    path.write_bytes(b"x" * (hashing.CHUNK * 2 + 5))
    seen = []
    sha256_file(path, progress=lambda p, done, total: seen.append((p.name, done, total)))
    assert seen[-1] == ("big.bin", hashing.CHUNK * 2 + 5, hashing.CHUNK * 2 + 5) and len(seen) == 3


def test_folder_hash_is_stable_and_ignores_model_cards(tmp_path):
    folder = tmp_path / "model"
    shutil.copytree(cached_diffusers("sd1"), folder)
    before = sha256_folder(folder)
    (folder / "README.md").write_text("# a model card")
    (folder / ".cache").mkdir()
    (folder / ".cache" / "x.json").write_text("{}")
    assert sha256_folder(folder) == before
    moved = tmp_path / "elsewhere"
    shutil.move(folder, moved)
    assert sha256_folder(moved) == before  # the hash depends on content, not location
    config = moved / "scheduler" / "scheduler_config.json"
    config.write_text(config.read_text().replace("epsilon", "v_prediction"))
    assert sha256_folder(moved) != before
