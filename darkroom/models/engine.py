"""An Engine is one loaded model: its diffusers components on one device, in one dtype.

It hands out the txt2img, img2img and inpaint pipelines of its family; all of them share the
same UNet, VAE, text encoder(s) and tokenizer(s) objects (`Engine._build`), so a model is in
memory once however many kinds of step use it. Loading never touches the network:

* single files: ``from_single_file(path, config=<bundled config folder>)`` with tokenizers
  built from the CLIP vocabulary shipped in ``darkroom/models/clip`` (``local_files_only=True``
  alone is not enough: without a cached config diffusers silently downloads one);
* diffusers folders: ``from_pretrained(path, local_files_only=True, use_safetensors=True)``.
"""

from __future__ import annotations

import copy
import functools
import gc
import inspect
import logging
import os
import threading
import time
from contextlib import contextmanager
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # private by default: no hub look-ups, ever
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")

import torch  # noqa: E402

from darkroom import imports  # noqa: E402
from darkroom.errors import DarkroomError, InvalidParameter, ModelError  # noqa: E402
from darkroom.models import detect  # noqa: E402
from darkroom.models.hashing import sha256_model  # noqa: E402
from darkroom.models.registry import ModelEntry  # noqa: E402
from darkroom.models.safety import check_checkpoint_file, check_diffusers_folder  # noqa: E402
from darkroom.settings import Settings  # noqa: E402

CLIP_DIR = Path(__file__).parent / "clip"
KINDS = ("txt2img", "img2img", "inpaint")
PIPELINES = {
    False: {"txt2img": "StableDiffusionPipeline", "img2img": "StableDiffusionImg2ImgPipeline",
            "inpaint": "StableDiffusionInpaintPipeline"},
    True: {"txt2img": "StableDiffusionXLPipeline", "img2img": "StableDiffusionXLImg2ImgPipeline",
           "inpaint": "StableDiffusionXLInpaintPipeline"},
}
DTYPES = {
    "float32": torch.float32, "fp32": torch.float32, "float": torch.float32,
    "float16": torch.float16, "fp16": torch.float16, "half": torch.float16,
    "bfloat16": torch.bfloat16, "bf16": torch.bfloat16,
}


# ---------------------------------------------------------------------------- device, dtype
def resolve_device(name: str | torch.device | None = "auto") -> torch.device:
    """"auto" is CUDA when available, else CPU."""
    if isinstance(name, torch.device):
        return name
    name = (name or "auto").strip().lower()
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise InvalidParameter(f"unknown device {name!r}; use auto, cpu, cuda or cuda:N") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise InvalidParameter(f"device {name!r} requested but CUDA is not available; use --device cpu")
    return device


def cpu_has_bf16() -> bool:
    """Whether this CPU computes bfloat16 in hardware (AVX512-BF16 or AMX). Elsewhere torch emulates it:
    on an AVX2 EPYC a bf16 convolution measured 10-200x slower than float32."""
    cpu = torch.cpu
    probes = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
    return any(bool(getattr(cpu, name, lambda: False)()) for name in probes)


@functools.cache
def cpu_prefers_bf16() -> bool:
    """Whether bfloat16 is faster than float32 on this CPU, measured once per process. bf16 hardware
    alone does not say it: on a Zen 4 EPYC (AVX512-BF16) the SD1.5 UNet ran 2x faster in bf16, on an
    Emerald Rapids Xeon without AMX 1.4x slower (oneDNN's bf16 3x3 convolution 175 ms, float32 100 ms)."""
    if not cpu_has_bf16():
        return False
    times = {torch.float32: [], torch.bfloat16: []}
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(1, 320, 32, 32, generator=generator).to(memory_format=torch.channels_last)
    conv = torch.nn.Conv2d(320, 320, 3, padding=1).to(memory_format=torch.channels_last)
    with torch.no_grad():
        for _ in range(4):  # interleaved, the first round not counted (kernel creation)
            for dtype in times:
                layer, sample = conv.to(dtype), x.to(dtype)
                start = time.perf_counter()
                layer(sample)
                times[dtype].append(time.perf_counter() - start)
    return min(times[torch.bfloat16][1:]) < 0.9 * min(times[torch.float32][1:])


def resolve_dtype(name: str | torch.dtype | None, device: torch.device) -> torch.dtype:
    """"auto" is float16 on CUDA, bfloat16 on a CPU where it is faster than float32, else float32."""
    if isinstance(name, torch.dtype):
        return name
    name = (name or "auto").strip().lower()
    if name == "auto":
        if device.type == "cuda":
            return torch.float16
        return torch.bfloat16 if cpu_prefers_bf16() else torch.float32
    try:
        return DTYPES[name.removeprefix("torch.")]
    except KeyError:
        raise InvalidParameter(f"unknown dtype {name!r}; use auto, float32, float16 or bfloat16") from None


def dtype_for_recipe(settings: Settings, runtime) -> str:
    """The dtype setting for a recipe's run. An explicit setting wins; with "auto", the dtype its
    runtime records, if it was made on this kind of device: a replay is bit-identical only in the
    same dtype (bfloat16 on a CPU without bf16 hardware is emulated: exact, but slow)."""
    recorded = getattr(runtime, "dtype", None)
    if (settings.dtype or "auto").strip().lower() != "auto" or recorded not in DTYPES:
        return settings.dtype
    try:
        made_on = torch.device(runtime.device).type
    except RuntimeError:
        return settings.dtype
    return recorded if made_on == resolve_device(settings.device).type else settings.dtype


# ---------------------------------------------------------------------------- pieces
def load_tokenizer(folder: str | Path):
    """A CLIPTokenizer for a tokenizer folder.

    A complete folder (with vocab.json) loads as it is. A bundled config folder holds only the
    special-token files; the vocabulary then comes from darkroom/models/clip, so the 1.5 MB BPE
    files are not copied per family. As in transformers, special_tokens_map.json wins over
    tokenizer_config.json (SD 2.x and SDXL's second tokenizer pad with "!", id 0, as open_clip does).
    """
    from transformers import CLIPTokenizer

    folder = Path(folder)
    if (folder / "vocab.json").is_file():
        return CLIPTokenizer.from_pretrained(str(folder))
    settings: dict = {}
    for name in ("tokenizer_config.json", "special_tokens_map.json"):
        if (folder / name).is_file():
            settings.update(detect.read_json(folder / name))
    kwargs = {"model_max_length": int(settings.get("model_max_length", 77))}
    for token in ("bos_token", "eos_token", "unk_token", "pad_token"):
        value = settings.get(token)
        if isinstance(value, dict):
            value = value.get("content")
        if value:
            kwargs[token] = value
    return CLIPTokenizer.from_pretrained(str(CLIP_DIR), **kwargs)


def make_scheduler(config: dict | str | Path, prediction: str | None = None):
    """The scheduler a config names, with prediction_type set ("v" -> "v_prediction")."""
    import diffusers

    if not isinstance(config, dict):
        config = detect.read_json(Path(config) / "scheduler" / "scheduler_config.json")
    cls = getattr(diffusers, str(config.get("_class_name")), None)
    if not (isinstance(cls, type) and issubclass(cls, diffusers.SchedulerMixin)):
        raise ModelError(f"unknown scheduler class {config.get('_class_name')!r} in the model's config")
    overrides = {}
    if prediction is not None:
        overrides["prediction_type"] = "v_prediction" if detect.normalize_prediction(prediction) == "v" else "epsilon"
    return cls.from_config(dict(config), **overrides)


_QUIET_LOCK = threading.Lock()
_quiet_depth = 0


@contextmanager
def _quiet():
    """No progress bars or INFO chatter from diffusers and transformers while loading; loads in
    several threads at once (a warm-up beside a job) count, so the last one out restores them."""
    from diffusers.utils import logging as dlog
    from transformers.utils import logging as tlog

    global _quiet_depth
    libraries = (dlog, tlog)
    with _QUIET_LOCK:
        if _quiet_depth == 0:
            _quiet.saved = [(lib.is_progress_bar_enabled(), lib.get_verbosity()) for lib in libraries]
            for lib in libraries:
                lib.disable_progress_bar()
                lib.set_verbosity(logging.ERROR)
        _quiet_depth += 1
    try:
        yield
    finally:
        with _QUIET_LOCK:
            _quiet_depth -= 1
            if _quiet_depth == 0:
                for lib, (bars, level) in zip(libraries, _quiet.saved):
                    lib.set_verbosity(level)
                    if bars:
                        lib.enable_progress_bar()


def _pipeline_class(xl: bool, kind: str):
    with imports.LOCK:
        import diffusers

        return getattr(diffusers, PIPELINES[xl][kind])


def _import_classes() -> None:
    """What a load imports lazily (the text encoders' classes, on first use), imported under
    imports.LOCK: a load on one thread and the policy's sentence model on another at once."""
    with imports.LOCK:
        import transformers

        transformers.CLIPTextModel, transformers.CLIPTextModelWithProjection  # noqa: B018


def _load_single_file(entry: ModelEntry, dtype: torch.dtype, config_dir: Path | None = None):
    from diffusers import UNet2DConditionModel

    path = Path(entry.path)
    header = check_checkpoint_file(path)  # again: the file may have been swapped since `models add`
    found = detect.detect_checkpoint(header, entry.prediction)
    cfg = Path(config_dir or entry.config_dir or detect.config_dir_for(found.family))
    detect.check_architecture(header, found, cfg)
    xl = found.base_family == "sdxl"
    kind = "inpaint" if found.unet_in_channels == 9 else "txt2img"
    kwargs = dict(config=str(cfg), local_files_only=True, torch_dtype=dtype,
                  tokenizer=load_tokenizer(cfg / "tokenizer"), scheduler=make_scheduler(cfg, found.prediction))
    if xl:
        kwargs["tokenizer_2"] = load_tokenizer(cfg / "tokenizer_2")
    else:
        kwargs.update(safety_checker=None, feature_extractor=None, requires_safety_checker=False)
    unet_config = detect.read_json(cfg / "unet" / "config.json")
    if unet_config.get("in_channels", 4) != found.unet_in_channels:  # e.g. an inpainting checkpoint
        kwargs["unet"] = UNet2DConditionModel.from_single_file(
            str(path), config=str(cfg), subfolder="unet", in_channels=found.unet_in_channels,
            torch_dtype=dtype, local_files_only=True)
    return _pipeline_class(xl, kind).from_single_file(str(path), **kwargs)


def _load_folder(entry: ModelEntry, dtype: torch.dtype):
    folder = Path(entry.path)
    info = detect.detect_folder(folder)
    variant = check_diffusers_folder(folder)
    xl = info.family == "sdxl"
    kind = "inpaint" if info.unet_in_channels == 9 else "txt2img"
    index = detect.read_json(folder / "model_index.json")
    kwargs = dict(local_files_only=True, use_safetensors=True, dtype=dtype,
                  tokenizer=load_tokenizer(folder / "tokenizer"))
    if variant:
        kwargs["variant"] = variant
    if xl:
        kwargs["tokenizer_2"] = load_tokenizer(folder / "tokenizer_2")
    else:
        kwargs.update(safety_checker=None, feature_extractor=None, requires_safety_checker=False)
    if index.get("image_encoder"):
        kwargs["image_encoder"] = None
    pipe = _pipeline_class(xl, kind).from_pretrained(str(folder), **kwargs)
    if entry.prediction != info.prediction:  # an explicit --prediction override
        pipe.scheduler = make_scheduler(dict(pipe.scheduler.config), entry.prediction)
    return pipe


def load_engine(entry: ModelEntry, device: str | torch.device | None = None, dtype: str | torch.dtype | None = None,
                settings: Settings | None = None, config_dir: str | Path | None = None,
                verify_hash: bool = True) -> "Engine":
    """Load a model, uncached (`darkroom.models.cache.get_engine` is the cached way).

    `device` / `dtype` default to the settings' ("auto": CUDA + float16 if available, else CPU +
    bfloat16 where it has bf16 hardware, float32 elsewhere; a bf16 VAE needs no upcast, its range is
    float32's). `config_dir` overrides the config folder of a single file (tests, unusual models).
    The file is checked again (pickle, header, family) and its hash compared with the entry's.
    """
    settings = settings or Settings()
    device = resolve_device(device if device is not None else settings.device)
    dtype = resolve_dtype(dtype if dtype is not None else settings.dtype, device)
    if not entry.exists():
        if entry.builtin:
            raise ModelError(f"the built-in model {entry.name} is not installed (no model in {entry.path}); "
                             "add a checkpoint with `darkroom models add PATH` and pick it with --model NAME")
        raise ModelError(f"model {entry.name!r}: {entry.path} is gone; put it back, or "
                         f"`darkroom models remove {entry.name}` and add it again")
    if verify_hash and entry.sha256:
        current = sha256_model(entry.path, settings)
        if current != entry.sha256:
            raise ModelError(f"model {entry.name!r} changed since it was added (sha256 {current[:10]}, "
                             f"registered {entry.sha256[:10]}); add it again with `darkroom models add`")
    try:
        _import_classes()
        with _quiet():
            if entry.format == "single_file":
                pipe = _load_single_file(entry, dtype, Path(config_dir) if config_dir else None)
            else:
                pipe = _load_folder(entry, dtype)
            pipe.to(device)
            _channels_last(pipe, device, dtype)
    except DarkroomError:
        raise
    except Exception as err:  # diffusers/transformers errors: one clear line, not a traceback
        message = str(err).strip().splitlines()[0] if str(err).strip() else ""
        raise ModelError(f"could not load model {entry.name!r} ({entry.path}): "
                         f"{err.__class__.__name__}: {message}"[:600]) from err
    return Engine(entry, pipe, device, dtype)


def _channels_last(pipe, device: torch.device, dtype: torch.dtype) -> None:
    """The UNet's and VAE's weights in channels-last layout where it pays: on a CPU in bfloat16, where
    oneDNN's bf16 convolutions want it (SD1.5 at 512x512, one thread: a UNet call 10.4 -> 8.4 s, a VAE
    decode 12.6 -> 9.0 s). In float32 the UNet gains nothing (18.8 vs 18.4 s), so float32 stays
    bit-identical to plain diffusers. Convolutions follow the weights' layout; nothing else changes."""
    if device.type == "cpu" and dtype == torch.bfloat16:
        for name in ("unet", "vae"):
            module = getattr(pipe, name, None)
            if module is not None:
                module.to(memory_format=torch.channels_last)


# ---------------------------------------------------------------------------- the engine
class Engine:
    """One loaded model. `pipeline(kind)` gives pipelines that share its components."""

    def __init__(self, entry: ModelEntry, pipe, device: torch.device, dtype: torch.dtype):
        self.entry = entry
        self.device = device
        self.dtype = dtype
        self._base = pipe
        self._components = dict(pipe.components)
        self.scheduler_config = pipe.scheduler.config  # the model's own scheduler config (a FrozenDict)
        pipe.set_progress_bar_config(disable=True)
        base_kind = next(k for k, cls in PIPELINES[self.is_xl].items() if cls == type(pipe).__name__)
        self._pipelines = {base_kind: pipe}
        self.base_kind = base_kind
        self._lock = threading.Lock()
        self._vae32 = None
        self._adapters = None

    @property
    def adapters(self):
        """The LoRAs and embeddings applied to this engine (darkroom.models.networks.Adapters)."""
        from darkroom.models.networks import Adapters

        with self._lock:
            if self._adapters is None:
                self._adapters = Adapters(self)
        return self._adapters

    @property
    def native_size(self) -> int:
        return self.entry.native_size

    @property
    def is_xl(self) -> bool:
        return self.entry.family == "sdxl"

    @property
    def closed(self) -> bool:
        return self._base is None

    @property
    def unet_in_channels(self) -> int:
        return int(self._components["unet"].config.in_channels)

    @property
    def components(self) -> dict:
        """The shared components by name (unet, vae, text_encoder, tokenizer, scheduler, ...)."""
        return dict(self._components)

    def pipeline(self, kind: str = "txt2img"):
        """The diffusers pipeline for `kind` ("txt2img", "img2img" or "inpaint"), created once."""
        if kind not in KINDS:
            raise InvalidParameter(f"unknown pipeline kind {kind!r}; use one of {', '.join(KINDS)}")
        if self.closed:
            raise ModelError(f"model {self.entry.name!r} was unloaded from the model cache; load it again")
        if kind in self._pipelines:
            return self._pipelines[kind]
        if self.unet_in_channels != 4 and kind != "inpaint":
            raise ModelError(
                f"{self.entry.name} is an inpainting model ({self.unet_in_channels}-channel UNet); it only "
                "has an inpaint pipeline (for a plain image, inpaint a grey image under a full mask, as A1111 does)"
            )
        with self._lock, _quiet():
            if kind not in self._pipelines:
                self._pipelines[kind] = self._build(_pipeline_class(self.is_xl, kind), self._components["scheduler"])
        return self._pipelines[kind]

    def view(self, kind: str, scheduler):
        """A fresh pipeline of `kind` over the shared components, with its own `scheduler`
        (~2 ms). Nothing shared is changed, so concurrent calls are safe."""
        return self._build(type(self.pipeline(kind)), scheduler)

    def _build(self, cls, scheduler):
        """A `cls` pipeline over the shared components and the base pipeline's settings
        (force_zeros_for_empty_prompt, ...). Not diffusers' `from_pipe`: it casts every shared
        module to float32 (its default dtype), which turned a bfloat16 engine into float32 while
        another job was denoising on it."""
        params = inspect.signature(cls.__init__).parameters
        parts = {name: value for name, value in self._components.items() if name in params}
        options = {name: value for name, value in self._base.config.items()
                   if name in params and name not in parts and not name.startswith("_")}
        if "requires_safety_checker" in params:
            options["requires_safety_checker"] = False
        pipe = cls(**{**parts, **options, "scheduler": scheduler})
        pipe.set_progress_bar_config(disable=True)
        return pipe

    def vae_for_call(self):
        """The VAE to encode or decode with: the shared one, or, for an fp16 VAE that asks to be
        upcast (SDXL's), a float32 copy made once, so no call changes the shared module's dtype."""
        vae = self._components["vae"]
        if not (vae.dtype == torch.float16 and getattr(vae.config, "force_upcast", False)):
            return vae
        with self._lock:
            if self._vae32 is None:
                self._vae32 = copy.deepcopy(vae).to(torch.float32)
        return self._vae32

    def close(self) -> None:
        """Drop every reference this engine holds, so the weights can be freed."""
        if self.closed:
            return
        self._pipelines.clear()
        self._components.clear()
        self._base = self._vae32 = None
        gc.collect()
        if self.device.type == "cuda":
            torch.cuda.empty_cache()

    def __repr__(self) -> str:
        state = "closed" if self.closed else f"{self.device}, {str(self.dtype).removeprefix('torch.')}"
        return f"<Engine {self.entry.name} ({self.entry.family}, {state})>"
