"""Safe checkpoint files: pickles are refused, safetensors headers are validated.

A `.ckpt`, `.pt`, `.pth` or `.bin` file is a Python pickle (often inside a zip, as
`torch.save` writes it); unpickling runs whatever code the file's author put there. darkroom
refuses such files by name *and* by content, so a pickle renamed to `.safetensors` is caught
too. A safetensors file is an 8-byte little-endian header length, a JSON header naming each
tensor's dtype, shape and byte range, then the raw bytes. Everything here reads only the
first bytes and the header: no torch import, no tensor data.
"""

from __future__ import annotations

import json
import math
import struct
from dataclasses import dataclass, field
from pathlib import Path

from darkroom.errors import ModelError, UnsafeModelFile

PICKLE_SUFFIXES = {".ckpt", ".pt", ".pth", ".bin", ".pkl", ".pickle"}
MAX_HEADER_BYTES = 100 * 1024 * 1024  # the limit the safetensors library itself enforces
DTYPE_BYTES = {
    "BOOL": 1, "U8": 1, "I8": 1, "F8_E4M3": 1, "F8_E5M2": 1, "F8_E8M0": 1,
    "U16": 2, "I16": 2, "F16": 2, "BF16": 2,
    "U32": 4, "I32": 4, "F32": 4, "C64": 8,
    "U64": 8, "I64": 8, "F64": 8,
}  # dtypes not listed (packed 4/6-bit floats) are range-checked but not size-checked

CONVERT_HINT = (
    "Use the .safetensors download of this model if its publisher offers one, or convert it "
    "once on a machine you trust: python -c \"import torch, safetensors.torch as st; "
    "sd = torch.load('model.ckpt', map_location='cpu', weights_only=True); sd = sd.get('state_dict', sd); "
    "st.save_file({k: v.contiguous() for k, v in sd.items() if isinstance(v, torch.Tensor)}, "
    "'model.safetensors')\" (weights_only=True refuses to run code while unpickling)."
)


@dataclass(frozen=True)
class TensorInfo:
    dtype: str
    shape: tuple[int, ...]
    start: int  # byte offsets relative to the start of the data section
    end: int


@dataclass
class SafetensorsHeader:
    path: Path
    tensors: dict[str, TensorInfo]
    metadata: dict[str, str] = field(default_factory=dict)
    data_start: int = 0  # absolute file offset of the data section
    file_size: int = 0

    def keys(self):
        return self.tensors.keys()

    def shape(self, key: str) -> tuple[int, ...] | None:
        info = self.tensors.get(key)
        return info.shape if info else None

    def read_tensor(self, key: str):
        """One tensor as a float64 numpy array, read straight from the file (small tensors only)."""
        import numpy as np

        info = self.tensors[key]
        with open(self.path, "rb") as handle:
            handle.seek(self.data_start + info.start)
            raw = handle.read(info.end - info.start)
        if info.dtype == "BF16":
            values = (np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16).view(np.float32)
        else:
            numpy_dtype = {"F16": "<f2", "F32": "<f4", "F64": "<f8"}.get(info.dtype)
            if numpy_dtype is None:
                raise ModelError(f"{self.path.name}: tensor {key} has dtype {info.dtype}, expected a float")
            values = np.frombuffer(raw, dtype=numpy_dtype)
        return values.astype(np.float64).reshape(info.shape)


def _refuse_pickle(path: Path, what: str) -> UnsafeModelFile:
    return UnsafeModelFile(
        f"{path.name} is {what}. Loading a pickle can run arbitrary code on this computer, "
        f"so darkroom does not open it. {CONVERT_HINT}"
    )


def sniff(path: Path) -> str:
    """What the first bytes say the file is: 'zip', 'pickle', 'lfs', 'gguf', 'safetensors' or 'unknown'."""
    with open(path, "rb") as handle:
        head = handle.read(64)
    if head[:4] in (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08"):
        return "zip"
    if len(head) >= 2 and head[0] == 0x80 and 1 <= head[1] <= 5:
        return "pickle"
    if head.startswith(b"version https://git-lfs"):
        return "lfs"
    if head.startswith(b"GGUF"):
        return "gguf"
    if len(head) >= 9 and head[8:9] == b"{":
        return "safetensors"
    # protocol 0/1 pickles start with an opcode such as '(' MARK, '}' EMPTY_DICT or 'c' GLOBAL
    if head[:1] in (b"(", b"}", b"]", b"c") and len(head) >= 2:
        return "pickle"
    return "unknown"


def read_safetensors_header(path: str | Path) -> SafetensorsHeader:
    """Parse and validate a safetensors header; any defect is a ModelError that says what is wrong."""
    path = Path(path)
    size = path.stat().st_size
    name = path.name
    if size < 8:
        raise ModelError(f"{name} is empty or truncated ({size} bytes); download it again")
    with open(path, "rb") as handle:
        (header_len,) = struct.unpack("<Q", handle.read(8))
        if header_len > MAX_HEADER_BYTES:
            raise ModelError(f"{name} is not a valid safetensors file (header length {header_len} is implausible); "
                             "the file is corrupt or not a safetensors file")
        if 8 + header_len > size:
            raise ModelError(f"{name} is truncated: its header needs {header_len} bytes but the file has "
                             f"{size - 8}; download it again")
        raw = handle.read(header_len)
    try:
        header = json.loads(raw.decode("utf-8"))
    except RecursionError:
        raise ModelError(f"{name} has a corrupt safetensors header (JSON nested too deeply); "
                         "it is not a safetensors file") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ModelError(f"{name} has a corrupt safetensors header ({err.__class__.__name__}); download it again") from None
    if not isinstance(header, dict):
        raise ModelError(f"{name} has a corrupt safetensors header (not a JSON object); download it again")

    metadata = header.pop("__metadata__", None) or {}
    if not isinstance(metadata, dict):
        raise ModelError(f"{name} has a corrupt safetensors header (__metadata__ is not an object)")
    data_len = size - 8 - header_len
    tensors: dict[str, TensorInfo] = {}
    end_max = 0
    for key, spec in header.items():
        try:
            dtype = spec["dtype"]
            shape = tuple(int(d) for d in spec["shape"])
            start, end = (int(x) for x in spec["data_offsets"])
        except (KeyError, TypeError, ValueError):
            raise ModelError(f"{name} has a corrupt safetensors header (bad entry for {key!r})") from None
        if any(d < 0 for d in shape) or not 0 <= start <= end:
            raise ModelError(f"{name} has a corrupt safetensors header (bad shape or offsets for {key!r})")
        if dtype in DTYPE_BYTES and end - start != math.prod(shape) * DTYPE_BYTES[dtype]:
            raise ModelError(f"{name} has a corrupt safetensors header ({key!r}: {end - start} bytes "
                             f"for shape {list(shape)} of {dtype})")
        if end > data_len:
            raise ModelError(f"{name} is truncated: tensor {key!r} ends at byte {end} of the data section, "
                             f"but the file holds only {data_len}; download it again")
        end_max = max(end_max, end)
        tensors[key] = TensorInfo(dtype, shape, start, end)
    if not tensors:
        raise ModelError(f"{name} holds no tensors")
    return SafetensorsHeader(path=path, tensors=tensors, metadata={str(k): str(v) for k, v in metadata.items()},
                             data_start=8 + header_len, file_size=size)


def check_checkpoint_file(path: str | Path) -> SafetensorsHeader:
    """Refuse pickles and anything that is not a sound `.safetensors` file; return its header.

    Raises UnsafeModelFile for pickles (by suffix or content), ModelError for missing, corrupt,
    truncated or unsupported files.
    """
    path = Path(path).expanduser()
    if not path.exists():
        raise ModelError(f"no such file: {path}")
    if path.is_dir():
        raise ModelError(f"{path} is a folder; a single-file checkpoint must be a .safetensors file")
    from darkroom.userfiles import FileRefused, check_file

    try:
        check_file(path, "checkpoint")  # no devices, pipes or sockets: sniffing one could hang
    except FileRefused as err:
        raise ModelError(str(err)) from None
    suffix = path.suffix.lower()
    kind = sniff(path)
    if kind == "zip":
        raise _refuse_pickle(path, "a zip archive holding a pickle (the format torch.save writes)")
    if kind == "pickle":
        raise _refuse_pickle(path, "a Python pickle")
    if suffix in PICKLE_SUFFIXES:
        raise _refuse_pickle(path, f"a {suffix} checkpoint, a format that is a pickle")
    if kind == "lfs":
        raise ModelError(f"{path.name} is a Git LFS pointer, not the model itself; run `git lfs pull` "
                         "or download the file directly")
    if kind == "gguf":
        raise ModelError(f"{path.name} is a GGUF file; darkroom loads .safetensors checkpoints only")
    if suffix != ".safetensors":
        if kind == "safetensors":
            raise ModelError(f"{path.name} looks like a safetensors file; rename it to end in .safetensors")
        raise ModelError(f"{path.name} is not a .safetensors checkpoint")
    header = read_safetensors_header(path)
    _check_with_library(path)
    return header


def _check_with_library(path: Path) -> None:
    """Let the safetensors library validate the header too (it is stricter about overlaps)."""
    try:
        from safetensors import SafetensorError, safe_open
    except ImportError:  # pragma: no cover - safetensors is a hard dependency
        return
    try:
        with safe_open(str(path), framework="numpy") as handle:
            handle.keys()
    except SafetensorError as err:
        raise ModelError(f"{path.name} is not a valid safetensors file ({err}); download it again") from None


WEIGHT_COMPONENTS = ("unet", "vae", "text_encoder", "text_encoder_2")  # what a pipeline cannot run without
LOADABLE_LIBRARIES = {"diffusers", "transformers", "stable_diffusion", None}  # no custom code modules


def check_diffusers_folder(folder: str | Path, index: dict | None = None) -> str | None:
    """Refuse a diffusers folder that could never load safely: weights that exist only as pickles
    (by suffix, or a pickle renamed to .safetensors), a component without any weights, or
    components of custom code (a module other than diffusers/transformers, which would run code
    from the folder). Return "fp16" when only fp16-variant safetensors exist (they then load with
    variant="fp16"). `index`: the parsed model_index.json, checked for custom code."""
    folder = Path(folder)
    variant = None
    if index is not None:
        _check_components(folder, index)
    for component in sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")):
        if component.name.startswith("tokenizer") or component.name in ("scheduler", "feature_extractor"):
            continue
        files = [p for p in component.iterdir() if p.is_file()]
        safe = [p for p in files if p.name.endswith(".safetensors")]
        pickles = [p for p in files if p.suffix.lower() in PICKLE_SUFFIXES]
        if pickles and not safe:
            raise UnsafeModelFile(
                f"{folder.name}/{component.name} has only pickle weights ({pickles[0].name}). Loading a pickle "
                "can run arbitrary code, so darkroom does not open it; use a copy of this model with "
                ".safetensors weights (diffusers' save_pretrained(..., safe_serialization=True) writes them)."
            )
        for weights in safe:
            kind = sniff(weights)
            if kind in ("zip", "pickle"):
                raise _refuse_pickle(weights, "a Python pickle renamed to .safetensors")
            if kind != "safetensors":
                raise ModelError(f"{folder.name}/{component.name}/{weights.name} is not a safetensors file "
                                 f"({kind}); download the model again")
        if component.name in WEIGHT_COMPONENTS and not safe and (index is None or index.get(component.name)):
            raise ModelError(f"{folder.name}/{component.name} has no .safetensors weights; the model cannot load. "
                             "Download the complete model (with its safetensors files)")
        if safe and all(".fp16." in p.name for p in safe):
            variant = "fp16"
    return variant


def _check_components(folder: Path, index: dict) -> None:
    for name, spec in index.items():
        if name.startswith("_") or not isinstance(spec, list):
            continue
        if len(spec) != 2 or not all(v is None or isinstance(v, str) for v in spec):
            raise ModelError(f"{folder.name}/model_index.json: component {name!r} is {spec!r}, expected "
                             "[library, class name]")
        library, cls = spec
        if library not in LOADABLE_LIBRARIES or (cls is not None and not cls.isidentifier()):
            raise UnsafeModelFile(
                f"{folder.name}: component {name!r} is custom code ({library}.{cls}); loading it would run Python "
                "code from the model folder, so darkroom does not register it. Use a model made only of "
                "diffusers and transformers components.")
        if name in WEIGHT_COMPONENTS and library is not None and not (folder / name).is_dir():
            raise ModelError(f"{folder.name} lists a {name} component but has no {name}/ folder; "
                             "it is not a complete diffusers model")
    for py in sorted(folder.glob("*.py"))[:1]:
        raise UnsafeModelFile(f"{folder.name} ships Python code ({py.name}), a custom pipeline; darkroom loads "
                              "only standard diffusers pipelines and does not run code from model folders")
