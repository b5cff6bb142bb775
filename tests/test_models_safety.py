"""Pickles are refused by name and by content; broken safetensors files give one clear error."""

from __future__ import annotations

import json
import pickle
import struct

import pytest
import torch
from safetensors.torch import save_file

from darkroom.cli import main
from darkroom.errors import ModelError, UnsafeModelFile
from darkroom.models.safety import check_checkpoint_file, read_safetensors_header


def small_safetensors(path, **metadata):
    save_file({"a": torch.arange(6, dtype=torch.float32).reshape(2, 3), "b": torch.ones(4, dtype=torch.float16)},
              str(path), metadata=metadata or None)
    return path


def test_valid_safetensors_header(tmp_path):
    header = check_checkpoint_file(small_safetensors(tmp_path / "ok.safetensors", note="hi"))
    assert header.shape("a") == (2, 3) and header.tensors["b"].dtype == "F16"
    assert header.metadata == {"note": "hi"}
    assert header.read_tensor("a").tolist() == [[0, 1, 2], [3, 4, 5]]


@pytest.mark.parametrize("name", ["model.pkl", "model.ckpt", "model.safetensors"])
def test_plain_pickle_is_refused(tmp_path, name):
    path = tmp_path / name
    path.write_bytes(pickle.dumps({"state_dict": {"w": [1.0, 2.0]}}, protocol=4))
    with pytest.raises(UnsafeModelFile, match="arbitrary code") as err:
        check_checkpoint_file(path)
    assert "safetensors" in str(err.value) and "weights_only=True" in str(err.value)


def test_protocol_0_pickle_renamed_is_refused(tmp_path):
    path = tmp_path / "old.safetensors"
    path.write_bytes(pickle.dumps({"w": 1}, protocol=0))
    with pytest.raises(UnsafeModelFile, match="pickle"):
        check_checkpoint_file(path)


@pytest.mark.parametrize("name", ["model.pt", "model.ckpt", "renamed.safetensors"])
def test_torch_save_zip_pickle_is_refused(tmp_path, name):
    path = tmp_path / name
    torch.save({"state_dict": {"w": torch.zeros(2)}}, path)  # zip archive with data.pkl inside
    assert path.read_bytes()[:2] == b"PK"
    with pytest.raises(UnsafeModelFile, match="zip archive holding a pickle"):
        check_checkpoint_file(path)


@pytest.mark.parametrize("suffix", [".bin", ".pth", ".ckpt"])
def test_pickle_suffix_is_refused_even_with_safetensors_inside(tmp_path, suffix):
    path = small_safetensors(tmp_path / f"weights{suffix}")
    with pytest.raises(UnsafeModelFile, match=f"a \\{suffix} checkpoint"):
        check_checkpoint_file(path)


def test_truncated_safetensors(tmp_path):
    path = small_safetensors(tmp_path / "cut.safetensors")
    data = path.read_bytes()
    path.write_bytes(data[:-5])
    with pytest.raises(ModelError, match="truncated.*download it again"):
        check_checkpoint_file(path)
    path.write_bytes(data[:20])  # cut inside the header
    with pytest.raises(ModelError, match="truncated: its header needs"):
        check_checkpoint_file(path)
    path.write_bytes(data[:3])
    with pytest.raises(ModelError, match="empty or truncated"):
        check_checkpoint_file(path)


def _with_header(path, header: dict | bytes, data: bytes = b"") -> None:
    raw = header if isinstance(header, bytes) else json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(raw)) + raw + data)


def test_corrupt_headers(tmp_path):
    path = tmp_path / "bad.safetensors"
    _with_header(path, b'{"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]', b"\0" * 8)
    with pytest.raises(ModelError, match="corrupt safetensors header"):
        check_checkpoint_file(path)
    _with_header(path, {"a": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}}, b"\0" * 8)
    with pytest.raises(ModelError, match="8 bytes for shape \\[3\\]"):
        check_checkpoint_file(path)
    _with_header(path, {"a": {"dtype": "F32", "shape": [2], "data_offsets": [8, 0]}}, b"\0" * 8)
    with pytest.raises(ModelError, match="bad shape or offsets"):
        check_checkpoint_file(path)
    _with_header(path, {"a": {"shape": [2]}}, b"\0" * 8)
    with pytest.raises(ModelError, match="bad entry for 'a'"):
        check_checkpoint_file(path)
    _with_header(path, {"__metadata__": {"x": "y"}})
    with pytest.raises(ModelError, match="holds no tensors"):
        check_checkpoint_file(path)
    path.write_bytes(struct.pack("<Q", 2**40) + b"{}")
    with pytest.raises(ModelError, match="implausible"):
        read_safetensors_header(path)


def test_overlapping_tensors_are_caught_by_the_library_check(tmp_path):
    path = tmp_path / "overlap.safetensors"
    _with_header(path, {"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
                        "b": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}, b"\0" * 8)
    with pytest.raises(ModelError, match="not a valid safetensors file"):
        check_checkpoint_file(path)


def test_other_files(tmp_path):
    with pytest.raises(ModelError, match="no such file"):
        check_checkpoint_file(tmp_path / "missing.safetensors")
    with pytest.raises(ModelError, match="is a folder"):
        check_checkpoint_file(tmp_path)
    lfs = tmp_path / "lfs.safetensors"
    lfs.write_text("version https://git-lfs.github.com/spec/v1\noid sha256:abc\nsize 123\n")
    with pytest.raises(ModelError, match="git lfs pull"):
        check_checkpoint_file(lfs)
    other = small_safetensors(tmp_path / "model.sft")
    with pytest.raises(ModelError, match="rename it to end in .safetensors"):
        check_checkpoint_file(other)
    text = tmp_path / "notes.safetensors"
    text.write_text("hello, this is not a model at all")
    with pytest.raises(ModelError):
        check_checkpoint_file(text)


def test_cli_refuses_pickle_with_one_line(tmp_path, capsys):
    path = tmp_path / "evil.safetensors"
    path.write_bytes(pickle.dumps({"w": 1}))
    assert main(["models", "add", str(path)]) == UnsafeModelFile.exit_code
    err = capsys.readouterr().err.strip()
    assert err.startswith("darkroom: error: evil.safetensors is a Python pickle")
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert main(["models", "list"]) == 0
    assert "evil" not in capsys.readouterr().out


def test_cli_corrupt_file_one_line(tmp_path, capsys):
    path = small_safetensors(tmp_path / "cut.safetensors")
    path.write_bytes(path.read_bytes()[:-3])
    assert main(["models", "add", str(path)]) != 0
    err = capsys.readouterr().err.strip()
    assert "truncated" in err and len(err.splitlines()) == 1
