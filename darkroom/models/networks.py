"""LoRA networks and textual-inversion embeddings: the small files that steer a model.

`darkroom models add FILE` sends such a file here (`is_network_file`). It is checked as
strictly as a checkpoint (safetensors only, header validated, pickles refused), then read:

* a LoRA in kohya/A1111 form (``lora_unet_*``, ``lora_te*_*`` with ``lora_down``/``lora_up``/
  ``alpha``) or in diffusers/peft form (``unet.*.lora_A.weight``, ...). Its keys are converted
  with diffusers' own converter and every converted key must name a layer of the family's
  model; leftover keys are named in the refusal. LyCORIS LoHa/LoKr files are refused.
* an embedding in A1111 form (``emb_params``, or ``string_to_param.*``), diffusers form
  (``learned_embeds`` or ``<token>``), or SDXL form (``clip_l`` + ``clip_g``). It is used by
  its trigger word: its registered name, which defaults to the file name (as in A1111).

The family (sd1, sd2, sdxl, mini) comes from the widths of the tensors: the text encoder's
hidden size and the UNet's cross-attention width. Entries live beside the model registry in
``networks.json``. A LoRA's `short_hash` is A1111's "addnet" hash (sha256 of the file
without its header, 12 hex digits, what `Lora hashes:` carries); an embedding's is the first
12 hex digits of the file's sha256 (`TI hashes:`).
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import re
import threading
from collections import OrderedDict
from contextlib import contextmanager
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict

from darkroom import imports
from darkroom.errors import ModelError, UnknownModel
from darkroom.fsutil import write_atomic
from darkroom.models import detect
from darkroom.models.hashing import CHUNK, sha256_file
from darkroom.models.registry import MINI_DIR, NAME_RE, Registry, default_name, read_entries
from darkroom.models.safety import SafetensorsHeader, check_checkpoint_file
from darkroom.settings import Settings

MAX_NETWORK_BYTES = 4 * 2**30
MAX_RANK = 1024
MAX_VECTORS = 75  # an embedding must fit one 75-token chunk
# (text encoder hidden size, UNet cross-attention width) -> family
FAMILY_WIDTHS = {768: "sd1", 1024: "sd2", 2048: "sdxl", 64: "mini"}
TE_WIDTHS = {768: "sd1", 1024: "sd2", 64: "mini"}
KOHYA = re.compile(r"^lora_(unet|te|te1|te2)_[A-Za-z0-9_]+\.(lora_down\.weight|lora_up\.weight|alpha)$")
PEFT = re.compile(r"^(unet|text_encoder|text_encoder_2)\.[A-Za-z0-9_.]+\.(lora_A|lora_B)\.weight$|"
                  r"^(unet|text_encoder|text_encoder_2)\.[A-Za-z0-9_.]+\.alpha$")
LYCORIS = ("hada_w", "lokr_w", ".oft_", "lora_mid", "diff_b", ".diff", "dora_scale", ".w_norm", ".b_norm")


def base_family(family: str) -> str:
    return "sd2" if family in ("sd2", "sd2-v") else family


class NetworkEntry(BaseModel):
    """One registered LoRA or embedding."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    name: str
    path: str
    kind: Literal["lora", "embedding"]
    format: str  # kohya | peft | a1111 | diffusers | sdxl
    family: str  # sd1 | sd2 | sdxl | mini
    sha256: str
    short_hash: str  # A1111's: addnet hash for a LoRA, sha256[:12] for an embedding
    rank: int = 0  # LoRA: the largest rank
    layers: int = 0  # LoRA: layers it changes; embedding: vectors
    parts: tuple[str, ...] = ()  # LoRA: unet, text_encoder, text_encoder_2

    def exists(self) -> bool:
        return Path(self.path).is_file()


# ---------------------------------------------------------------------------- hashes
def addnet_hash(path: str | Path) -> str:
    """A1111's / kohya's LoRA hash: sha256 of a safetensors file's bytes after its header."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        header_len = int.from_bytes(handle.read(8), "little")
        handle.seek(8 + header_len)
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


# ---------------------------------------------------------------------------- detection
def _kind_of(keys: list[str]) -> str | None:
    if any(k.startswith(("lora_unet_", "lora_te")) or ".lora_A." in k or ".lora_down." in k
           or ".lora.down." in k for k in keys):
        return "lora"
    if any(k.startswith(LYCORIS[:2]) or any(m in k for m in LYCORIS[:3]) for k in keys):
        return "lora"
    if keys == ["emb_params"] or "learned_embeds" in keys or {"clip_l", "clip_g"} <= set(keys) or \
            (keys and all(k.startswith("string_to_param.") for k in keys)) or \
            (len(keys) == 1 and keys[0].startswith("<") and keys[0].endswith(">")):
        return "embedding"
    return None


def is_network_file(path: str | Path) -> bool:
    """True for a .safetensors file whose tensors are a LoRA or an embedding (header only)."""
    path = Path(path).expanduser()
    if not path.is_file() or path.suffix.lower() != ".safetensors":
        return False
    header = check_checkpoint_file(path)
    return _kind_of(sorted(header.keys())) is not None


def _refuse(path: Path, why: str) -> ModelError:
    return ModelError(f"{path.name}: {why}"[:900])


def _lycoris(path: Path, keys) -> None:
    found = sorted({m.strip("._") for k in keys for m in LYCORIS if m in k})
    if found:
        raise _refuse(path, f"a LyCORIS network ({', '.join(found)} tensors: LoHa, LoKr, DoRA or similar); "
                            "darkroom loads plain LoRA only. Convert it to a plain LoRA (e.g. kohya's "
                            "extract/resize scripts) or use a LoRA version of it")


def _lora_shapes(path: Path, header: SafetensorsHeader) -> tuple[int, str]:
    """(largest rank, family) from the shapes; refuses odd shapes, huge ranks and unknown keys."""
    keys = list(header.keys())
    leftover = [k for k in keys if not (KOHYA.match(k) or PEFT.match(k))]
    if leftover:
        raise _refuse(path, f"{len(leftover)} keys are not LoRA keys darkroom can convert: "
                            f"{', '.join(sorted(leftover)[:8])}{' ...' if len(leftover) > 8 else ''}")
    rank, te_widths, context = 0, set(), set()
    for key in keys:
        shape = header.shape(key)
        if key.endswith("alpha"):
            if math.prod(shape) != 1:
                raise _refuse(path, f"{key} should be one number, has shape {list(shape)}")
            continue
        if len(shape) not in (2, 4):
            raise _refuse(path, f"{key} has shape {list(shape)}; a LoRA matrix has 2 (or 4, conv) dimensions")
        down = ".lora_down." in key or ".lora_A." in key
        r = shape[0] if down else shape[1]
        if not 1 <= r <= MAX_RANK:
            raise _refuse(path, f"{key} has rank {r}; darkroom accepts ranks 1 to {MAX_RANK}")
        rank = max(rank, r)
        if down and ("attn2_to_k" in key or "attn2.to_k" in key):
            context.add(shape[1])
        if down and re.search(r"(lora_te1?_|text_encoder\.).*q_proj", key):
            te_widths.add(shape[1])
    if rank == 0:
        raise _refuse(path, "holds no LoRA matrices (lora_down/lora_up or lora_A/lora_B)")
    family = _family(path, context, te_widths)
    return rank, family


def _family(path: Path, context: set[int], te_widths: set[int]) -> str:
    families = {FAMILY_WIDTHS.get(w, f"width {w}") for w in context} | {TE_WIDTHS.get(w, f"width {w}")
                                                                        for w in te_widths}
    known = {f for f in families if not f.startswith("width")}
    if len(known) == 1 and len(families) == 1:
        return known.pop()
    if not families:
        raise _refuse(path, "changes no cross-attention or text-encoder layer, so its model family "
                            "(SD 1.x, SD 2.x, SDXL, darkroom-mini) cannot be told")
    raise _refuse(path, f"its layer widths ({', '.join(sorted(families))}) match no single model family "
                        "darkroom knows (SD 1.x, SD 2.x, SDXL, darkroom-mini)")


def _embedding_shapes(path: Path, header: SafetensorsHeader) -> tuple[int, str, str]:
    """(vectors, family, format) of an embedding file."""
    keys = sorted(header.keys())
    if {"clip_l", "clip_g"} <= set(keys):
        l, g = header.shape("clip_l"), header.shape("clip_g")
        if len(l) != 2 or len(g) != 2 or l[1] != 768 or g[1] != 1280 or l[0] != g[0]:
            raise _refuse(path, f"an SDXL embedding needs clip_l (n, 768) and clip_g (n, 1280), has "
                                f"{list(l)} and {list(g)}")
        return l[0], "sdxl", "sdxl"
    if len(keys) != 1:
        raise _refuse(path, f"an embedding holds one tensor; this one holds {len(keys)} ({', '.join(keys[:5])})")
    shape = header.shape(keys[0])
    if len(shape) == 1:
        shape = (1, shape[0])
    if len(shape) != 2:
        raise _refuse(path, f"embedding {keys[0]} has shape {list(shape)}; expected (vectors, width)")
    if shape[1] not in TE_WIDTHS:
        raise _refuse(path, f"embedding width {shape[1]} matches no model family darkroom knows "
                            "(768: SD 1.x, 1024: SD 2.x, 64: darkroom-mini)")
    fmt = "a1111" if keys[0] == "emb_params" or keys[0].startswith("string_to_param") else "diffusers"
    return shape[0], TE_WIDTHS[shape[1]], fmt


def _check_vectors(path: Path, n: int) -> None:
    if not 1 <= n <= MAX_VECTORS:
        raise _refuse(path, f"an embedding of {n} vectors; darkroom accepts 1 to {MAX_VECTORS}")


# ---------------------------------------------------------------------------- reading
def read_tensors(path: Path) -> dict:
    """All tensors of a (checked) network file, as float tensors; NaN or infinity is refused."""
    import torch
    from safetensors.torch import load_file

    try:
        tensors = load_file(str(path))
    except Exception as err:  # noqa: BLE001 - safetensors raises several types
        raise _refuse(path, f"cannot be read ({err.__class__.__name__}: {err})") from None
    for key, value in tensors.items():
        if not value.is_floating_point():
            raise _refuse(path, f"tensor {key} is {value.dtype}, not a float")
        if not torch.isfinite(value).all():
            raise _refuse(path, f"tensor {key} holds NaN or infinite values")
    return tensors


def pipeline_class(family: str):
    import diffusers

    return diffusers.StableDiffusionXLPipeline if family == "sdxl" else diffusers.StableDiffusionPipeline


def convert_lora(path: Path, family: str, tensors: dict | None = None) -> tuple[dict, dict | None]:
    """diffusers' conversion of a LoRA file: (state dict with unet./text_encoder. keys, alphas)."""
    tensors = read_tensors(path) if tensors is None else tensors
    try:
        state, alphas = pipeline_class(family).lora_state_dict(dict(tensors))
    except (ValueError, KeyError, RuntimeError) as err:
        raise _refuse(path, f"its keys do not convert to diffusers layers: {str(err).strip()}") from None
    return state, alphas


@functools.lru_cache(maxsize=8)
def layer_names(family: str) -> dict[str, frozenset[str]]:
    """Names of every Linear/Conv layer of a family's UNet and text encoder(s), built on the meta
    device from the bundled configs (the built-in model's own for mini): no weights are read."""
    import torch
    from accelerate import init_empty_weights
    from diffusers import UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection

    folder = MINI_DIR if family == "mini" else detect.config_dir_for(family)
    parts = {"unet": (UNet2DConditionModel, None), "text_encoder": (CLIPTextModel, CLIPTextConfig)}
    if family == "sdxl":
        parts["text_encoder_2"] = (CLIPTextModelWithProjection, CLIPTextConfig)
    names = {}
    with init_empty_weights():
        for part, (cls, config_cls) in parts.items():
            config = detect.read_json(folder / part / "config.json")
            model = cls.from_config(config) if config_cls is None else cls(config_cls(**config))
            names[part] = frozenset(n for n, m in model.named_modules()
                                    if isinstance(m, (torch.nn.Linear, torch.nn.Conv2d)))
    return names


def peft_keys(state: dict) -> list[str]:
    """The converted keys as peft names them (``part.layer.lora_A.weight``), as diffusers does before
    it injects the layers."""
    from diffusers.utils import convert_state_dict_to_diffusers, convert_state_dict_to_peft, convert_unet_state_dict_to_peft

    keys = []
    for part in sorted({k.partition(".")[0] for k in state}):
        sub = {k.partition(".")[2]: v for k, v in state.items() if k.startswith(part + ".")}
        if not all(".lora_A." in k or ".lora_B." in k or k.endswith(".alpha") for k in sub):
            try:
                sub = convert_unet_state_dict_to_peft(sub) if part == "unet" else \
                    convert_state_dict_to_peft(convert_state_dict_to_diffusers(sub))
            except (ValueError, KeyError) as err:
                raise ModelError(f"the {part} keys do not convert to diffusers layers ({err})"[:600]) from None
        keys += [f"{part}.{k}" for k in sub]
    return keys


def _layer_of(key: str) -> tuple[str, str]:
    part, _, rest = key.partition(".")
    return part, re.sub(r"\.(lora_A|lora_B)(\.[A-Za-z0-9_]+)?\.weight$|\.alpha$", "", rest).removeprefix("text_model.")


def unconverted_keys(state: dict, family: str) -> list[str]:
    """Converted keys that name no layer of the family's model (diffusers would fail on them)."""
    names = layer_names(family)
    leftover = []
    for key in peft_keys(state):
        part, layer = _layer_of(key)
        if layer not in names.get(part, frozenset()):
            leftover.append(key)
    return leftover


# ---------------------------------------------------------------------------- inspect
def inspect_network(path: str | Path, name: str | None = None, settings: Settings | None = None) -> NetworkEntry:
    """Check, read and describe a LoRA or embedding file as an (unsaved) entry."""
    settings = settings or Settings()
    path = Path(path).expanduser()
    header = check_checkpoint_file(path)
    path = path.resolve()
    if header.file_size > MAX_NETWORK_BYTES:
        raise _refuse(path, f"{header.file_size} bytes is too large for a LoRA or embedding")
    keys = sorted(header.keys())
    _lycoris(path, keys)
    kind = _kind_of(keys)
    if kind is None:
        raise _refuse(path, "is neither a LoRA nor a textual-inversion embedding")
    name = check_name(name or default_name(path))
    if kind == "embedding":
        vectors, family, fmt = _embedding_shapes(path, header)
        _check_vectors(path, vectors)
        read_tensors(path)
        sha = sha256_file(path, settings)
        return NetworkEntry(name=name, path=str(path), kind=kind, format=fmt, family=family, sha256=sha,
                            short_hash=sha[:12], layers=vectors)
    rank, family = _lora_shapes(path, header)
    state, _ = convert_lora(path, family)
    leftover = file_keys(keys, unconverted_keys(state, family))
    if leftover:
        raise _refuse(path, f"{len(leftover)} keys name no layer of a {family} model and cannot be applied: "
                            f"{', '.join(leftover[:8])}{' ...' if len(leftover) > 8 else ''}")
    parts = tuple(sorted({k.partition(".")[0] for k in state}))
    return NetworkEntry(name=name, path=str(path), kind=kind, format="kohya" if keys[0].startswith("lora_") else "peft",
                        family=family, sha256=sha256_file(path, settings), short_hash=addnet_hash(path)[:12],
                        rank=rank, layers=len({_layer_of(k) for k in peft_keys(state)}), parts=parts)


def _flat(layer: str) -> str:
    return re.sub(r"^lora_(unet|te\d?)_|^(unet|text_encoder(_2)?)\.|text_model[._]", "", layer).replace(".", "_")


def file_keys(keys: list[str], converted: list[str]) -> list[str]:
    """The file's own keys behind converted keys (a refusal names what is in the file)."""
    layers = {_flat(_layer_of(k)[1]) for k in converted}
    return sorted(k for k in keys if _flat(k.split(".lora_")[0].removesuffix(".alpha")) in layers) or sorted(converted)


def check_name(name: str) -> str:
    if not NAME_RE.match(name):
        raise ModelError(f"invalid name {name[:120]!r}: use letters, digits and . _ + - (at most 100 characters, "
                         "starting with a letter or digit)")
    return name


# ---------------------------------------------------------------------------- registry
class NetworkRegistry:
    """The registered LoRAs and embeddings of one data dir (``networks.json`` beside the models)."""

    def __init__(self, settings: Settings | None = None):
        self.settings = settings or Settings()
        self.models = Registry(self.settings)
        self.file = Path(self.settings.registry_file).with_name("networks.json")

    def list(self) -> list[NetworkEntry]:
        return read_entries(self.file, "networks", NetworkEntry, "network registry")

    def _save(self, entries: list[NetworkEntry]) -> None:
        data = {"darkroom_networks": 1, "networks": [e.model_dump(mode="json") for e in entries]}
        write_atomic(self.file, (json.dumps(data, indent=2) + "\n").encode())

    def add(self, path: str | Path, name: str | None = None) -> NetworkEntry:
        """Inspect, hash and register a LoRA or embedding; nothing is written when a check fails."""
        entry = inspect_network(path, name, self.settings)
        with self.models._locked():
            entries = self.list()
            clash = next((e for e in entries if e.name == entry.name), None)
            if clash is not None and clash.path != entry.path:
                raise ModelError(f"a {clash.kind} named {entry.name!r} already exists ({clash.path}); "
                                 "choose another name with --name, or remove it first")
            self._save([e for e in entries if e.name != entry.name] + [entry])
        return entry

    def remove(self, name: str) -> NetworkEntry:
        with self.models._locked():
            entries = self.list()
            found = next((e for e in entries if e.name == name), None)
            if found is None:
                raise UnknownModel(f"no LoRA or embedding named {name!r}")
            self._save([e for e in entries if e.name != name])
        return found

    def find(self, name: str, kind: str, sha256: str | None = None, short_hash: str | None = None) -> NetworkEntry:
        """The entry a prompt or recipe names: by sha256 when given (a recipe), else by name (and
        A1111's short hash, when an imported infotext has one)."""
        entries = [e for e in self.list() if e.kind == kind]
        what = "LoRA" if kind == "lora" else "embedding"
        if sha256:
            found = next((e for e in entries if e.sha256 == sha256), None)
            if found is None:
                raise UnknownModel(f"the {what} {name!r} (sha256 {sha256[:12]}...) is not registered; register "
                                   f"the file it was made with: `darkroom models add {name}.safetensors`")
            return found
        found = next((e for e in entries if e.name == name), None)
        if found is None:
            names = ", ".join(e.name for e in entries) or "none"
            raise UnknownModel(f"unknown {what} {name[:100]!r} (registered: {names}); add it with "
                               f"`darkroom models add FILE.safetensors`")
        if short_hash and found.short_hash != short_hash:
            raise UnknownModel(f"the {what} {name!r} is registered with hash {found.short_hash}, but the picture "
                               f"was made with {short_hash}; register the original file")
        return found

    def embeddings(self, family: str) -> list[NetworkEntry]:
        return [e for e in self.list() if e.kind == "embedding" and e.family == base_family(family)]


# ---------------------------------------------------------------------------- applying
NO_ADAPTERS: tuple = ((), ())


def adapter_key(loras: list[tuple[NetworkEntry, float]], embeddings: list[NetworkEntry]) -> tuple:
    """What a run's conditioning depends on besides the model: LoRAs by (sha256, weight), embeddings by sha256."""
    return tuple(sorted((e.sha256, float(w)) for e, w in loras)), tuple(sorted(e.sha256 for e in embeddings))


class Adapters:
    """The LoRAs and embeddings applied to one engine's shared UNet and text encoder(s).

    Every run on the engine holds `using(...)` while it makes pixels. Runs that need the same set
    run together; a run that needs another set waits until those end, so a job never sees another
    job's adapters. When the last run ends, every LoRA is disabled and every embedding unloaded:
    between jobs the engine is the plain model. LoRA weights stay loaded (unfused, as peft adapters
    named by sha256, at most `MAX_LOADED`), so the next job with the same LoRA does not read it again."""

    MAX_LOADED = 8

    def __init__(self, engine):
        self.engine = engine
        self.settings: Settings | None = None
        self._cond = threading.Condition()
        self._active = NO_ADAPTERS
        self._users = 0
        self._loaded: OrderedDict[str, NetworkEntry] = OrderedDict()  # adapter name -> entry
        self._tokens: list[str] = []  # embedding tokens in the tokenizer(s) now

    @contextmanager
    def using(self, loras: list[tuple[NetworkEntry, float]] = (), embeddings: list[NetworkEntry] = (),
              settings: Settings | None = None):
        self.settings = settings or self.settings
        loras, embeddings = list(loras), list(embeddings)
        key = adapter_key(loras, embeddings)
        with self._cond:
            while self._users and self._active != key:
                self._cond.wait()
            if self._active != key:
                try:
                    self._apply(loras, embeddings, key)
                finally:
                    self._cond.notify_all()  # a failed switch leaves the plain model for the next run
            self._users += 1
        try:
            yield key
        finally:
            with self._cond:
                self._users -= 1
                if self._users == 0 and self._active != NO_ADAPTERS:
                    self._apply([], [], NO_ADAPTERS)
                self._cond.notify_all()

    @property
    def active(self) -> tuple:
        return self._active

    def loaded(self) -> list[str]:
        return [entry.name for entry in self._loaded.values()]

    # called with the condition held and no run in progress
    def _apply(self, loras, embeddings, key) -> None:
        family = base_family(self.engine.entry.family)
        for entry in [e for e, _ in loras] + embeddings:
            if entry.family != family:
                what = "LoRA" if entry.kind == "lora" else "embedding"
                raise ModelError(f"the {what} {entry.name!r} is for {entry.family} models; "
                                 f"{self.engine.entry.name!r} is a {family} model")
        from darkroom.models.engine import _quiet as quiet

        pipe = self.engine.pipeline(self.engine.base_kind)
        self._active = NO_ADAPTERS  # if anything below fails, the plain model is what remains
        try:
            with quiet():
                self._set_loras(pipe, loras)
                self._set_embeddings(pipe, embeddings)
        except Exception:
            self._reset(pipe)
            raise
        self._active = key

    def _reset(self, pipe) -> None:
        from darkroom.models.engine import _quiet as quiet

        with quiet():
            if self._loaded:
                pipe.disable_lora()
            if self._tokens:
                self._unload_tokens(pipe)

    def _set_loras(self, pipe, loras) -> None:
        for entry, _ in loras:
            self._load_lora(pipe, entry)
        if not self._loaded:
            return
        if not loras:
            pipe.disable_lora()
            return
        names = [adapter_name(e) for e, _ in loras]
        pipe.enable_lora()
        pipe.set_adapters(names, [float(w) for _, w in loras])

    def _load_lora(self, pipe, entry: NetworkEntry) -> None:
        name = adapter_name(entry)
        if name in self._loaded:
            self._loaded.move_to_end(name)
            return
        tensors = read_checked(entry, self.settings)
        while len(self._loaded) >= self.MAX_LOADED:
            old, _ = self._loaded.popitem(last=False)
            pipe.delete_adapters(old)
        with imports.LOCK:  # diffusers imports peft (and peft transformers) on first use
            import peft  # noqa: F401
        try:
            pipe.load_lora_weights(tensors, adapter_name=name)
        except Exception as err:  # noqa: BLE001 - diffusers/peft raise many kinds
            try:
                pipe.delete_adapters(name)
            except Exception:  # noqa: BLE001 - nothing was injected
                pass
            raise ModelError(f"the LoRA {entry.name!r} could not be applied: {err.__class__.__name__}: "
                             f"{str(err).strip()[:400]}") from None
        self._loaded[name] = entry

    def _set_embeddings(self, pipe, embeddings) -> None:
        if self._tokens:
            self._unload_tokens(pipe)
        for entry in embeddings:
            tensors = read_checked(entry, self.settings)
            self._tokens.append(entry.name)
            if entry.format == "sdxl":
                pipe.load_textual_inversion(tensors["clip_l"], token=entry.name, text_encoder=pipe.text_encoder,
                                            tokenizer=pipe.tokenizer)
                pipe.load_textual_inversion(tensors["clip_g"], token=entry.name, text_encoder=pipe.text_encoder_2,
                                            tokenizer=pipe.tokenizer_2)
            else:
                pipe.load_textual_inversion(tensors, token=entry.name)

    def _unload_tokens(self, pipe) -> None:
        tokens = added_tokens(pipe.tokenizer, self._tokens)
        self._tokens = []
        pipe.unload_textual_inversion(tokens)
        if getattr(pipe, "tokenizer_2", None) is not None:
            pipe.unload_textual_inversion(tokens, tokenizer=pipe.tokenizer_2, text_encoder=pipe.text_encoder_2)


def adapter_name(entry: NetworkEntry) -> str:
    return f"lora_{entry.sha256[:16]}"


def added_tokens(tokenizer, names: list[str]) -> list[str]:
    """The tokens an embedding added: its name and, for several vectors, name_1, name_2, ..."""
    added = set(tokenizer.get_added_vocab())
    return [t for t in added if t in names or any(re.fullmatch(re.escape(n) + r"_\d+", t) for n in names)]


def read_checked(entry: NetworkEntry, settings: Settings | None = None) -> dict:
    """A registered file's tensors, after checking that it is still the file that was registered."""
    path = Path(entry.path)
    what = "LoRA" if entry.kind == "lora" else "embedding"
    if not path.is_file():
        raise ModelError(f"the {what} {entry.name!r}: {path} is gone; put it back, or "
                         f"`darkroom models remove {entry.name}` and add it again")
    check_checkpoint_file(path)
    if sha256_file(path, settings) != entry.sha256:
        raise ModelError(f"the {what} {entry.name!r} changed since it was added; add it again with "
                         "`darkroom models add`")
    return read_tensors(path)
