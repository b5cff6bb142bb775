"""The model registry: named checkpoints and diffusers folders, stored in the data dir.

`settings.registry_file` is a small JSON file (``{"darkroom_models": 1, "models": [...]}``)
written atomically. The built-in `darkroom-mini` (the diffusers folder shipped in
``darkroom/models/mini/``) is always listed and is the default model.
"""

from __future__ import annotations

import json
import re
from contextlib import contextmanager
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from darkroom.errors import ModelError, UnknownModel
from darkroom.fsutil import private_file, write_atomic
from darkroom.models import detect
from darkroom.models.hashing import Progress, a1111_short_hash, sha256_file, sha256_folder
from darkroom.models.safety import check_checkpoint_file, check_diffusers_folder
from darkroom.settings import Settings

BUILTIN_NAME = "darkroom-mini"
MINI_DIR = Path(__file__).parent / "mini"
REGISTRY_VERSION = 1
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+\-]{0,99}$")


class ModelEntry(BaseModel):
    """One registered model. `sha256` identifies it; `name` is how people refer to it."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    name: str
    path: str
    format: Literal["single_file", "diffusers"]
    family: str  # sd1 | sd2 | sd2-v | sdxl | mini
    prediction: Literal["epsilon", "v"] = "epsilon"
    sha256: str
    native_size: int
    unet_in_channels: int = 4
    config_dir: str | None = None  # a diffusers config folder for a non-standard single file
    prediction_source: str = "default"
    builtin: bool = False

    @property
    def short_hash(self) -> str:
        return a1111_short_hash(self.sha256)

    @property
    def is_xl(self) -> bool:
        return self.family == "sdxl"

    @property
    def is_inpainting(self) -> bool:
        return self.unet_in_channels == 9

    def exists(self) -> bool:
        path = Path(self.path)
        return (path / "model_index.json").is_file() if self.format == "diffusers" else path.is_file()


def inspect_model(path: str | Path, name: str | None = None, prediction: str | None = None,
                  config_dir: str | Path | None = None, settings: Settings | None = None,
                  progress: Progress | None = None) -> ModelEntry:
    """Examine a checkpoint file or diffusers folder and describe it as an (unsaved) entry.

    Checks come before hashing, so a refused file is never read in full; `progress` follows the hashing.
    """
    settings = settings or Settings()
    path = Path(path).expanduser()
    if not path.exists():
        raise ModelError(f"no such file or folder: {path}")
    path = path.resolve()
    name = name or default_name(path)
    if path.is_dir():
        if config_dir is not None:
            raise ModelError("--config is for single-file checkpoints; a diffusers folder has its own configs")
        info = detect.detect_folder(path)
        check_diffusers_folder(path, detect.read_json(path / "model_index.json"))
        pred = detect.normalize_prediction(prediction) if prediction else info.prediction
        family = info.family
        if family.startswith("sd2"):
            family = "sd2-v" if pred == "v" else "sd2"
        return ModelEntry(
            name=name, path=str(path), format="diffusers", family=family, prediction=pred,
            sha256=sha256_folder(path, settings, progress), native_size=info.native_size,
            unet_in_channels=info.unet_in_channels,
            prediction_source="override" if prediction else "config",
        )
    header = check_checkpoint_file(path)
    found = detect.detect_checkpoint(header, prediction)
    if config_dir is not None:
        config_dir = Path(config_dir).expanduser().resolve()
        if not (config_dir / "model_index.json").is_file():
            raise ModelError(f"--config {config_dir} is not a diffusers config folder (no model_index.json)")
    cfg = config_dir or detect.config_dir_for(found.family)
    detect.check_architecture(header, found, cfg)
    return ModelEntry(
        name=name, path=str(path), format="single_file", family=found.family, prediction=found.prediction,
        sha256=sha256_file(path, settings, progress), native_size=detect.native_size_of(cfg),
        unet_in_channels=found.unet_in_channels, config_dir=str(config_dir) if config_dir else None,
        prediction_source=found.prediction_source,
    )


def default_name(path: Path) -> str:
    stem = path.name if path.is_dir() else path.stem
    name = re.sub(r"[^A-Za-z0-9._+\-]+", "-", stem).strip("-._") or "model"
    return name[:100]


def _check_name(name: str) -> str:
    if not NAME_RE.match(name):
        raise ModelError(f"invalid model name {name!r}: use letters, digits and . _ + - (at most 100 characters, "
                         "starting with a letter or digit)")
    return name


def read_entries(file: Path, key: str, entry_type, what: str) -> list:
    """The entries a registry file lists under `key` ([] when there is no file yet); a damaged
    or unreadable file is a ModelError that names it."""
    try:
        data = json.loads(file.read_text())
    except FileNotFoundError:
        return []
    except (OSError, ValueError) as err:
        raise ModelError(f"the {what} {file} is unreadable ({err}); fix or delete it") from None
    try:
        return [entry_type(**item) for item in data.get(key, [])]
    except (AttributeError, TypeError, ValidationError) as err:
        raise ModelError(f"the {what} {file} is damaged ({err.__class__.__name__}); fix or delete it") from None


class Registry:
    """Named models of one data dir. `darkroom-mini` is built in and is the default."""

    def __init__(self, settings: Settings | None = None):
        self.settings = settings or Settings()
        self.file = Path(self.settings.registry_file)

    # ---------------------------------------------------------------- storage
    def _load(self) -> list[ModelEntry]:
        return read_entries(self.file, "models", ModelEntry, "model registry")

    def _save(self, entries: list[ModelEntry]) -> None:
        data = {"darkroom_models": REGISTRY_VERSION,
                "models": [e.model_dump(exclude={"builtin"}) for e in entries]}
        write_atomic(self.file, (json.dumps(data, indent=2) + "\n").encode())

    @contextmanager
    def _locked(self):
        """Serialise read-modify-write of the registry between processes (POSIX advisory lock)."""
        self.settings.ensure_home()
        lock_path = private_file(self.file.with_name(self.file.name + ".lock"))
        with open(lock_path, "a+") as handle:
            try:
                import fcntl

                fcntl.flock(handle, fcntl.LOCK_EX)
            except ImportError:  # pragma: no cover - Windows: no lock, still atomic writes
                pass
            yield

    # ---------------------------------------------------------------- built-in
    def builtin(self) -> ModelEntry:
        """The darkroom-mini entry; `exists()` is False while the model is not installed."""
        installed = (MINI_DIR / "model_index.json").is_file()
        native, pred, in_ch = 64, "v", 4
        if installed:
            try:
                info = detect.detect_folder(MINI_DIR)
                native, pred, in_ch = info.native_size, info.prediction, info.unet_in_channels
            except ModelError:
                installed = False
        return ModelEntry(
            name=BUILTIN_NAME, path=str(MINI_DIR), format="diffusers", family="mini", prediction=pred,
            sha256=sha256_folder(MINI_DIR, self.settings) if installed else "", native_size=native,
            unet_in_channels=in_ch, prediction_source="config", builtin=True,
        )

    def _require_installed(self, entry: ModelEntry) -> ModelEntry:
        if entry.builtin and not entry.exists():
            raise ModelError(
                f"the built-in model {BUILTIN_NAME} is not installed (no model in {MINI_DIR}). "
                "Reinstall darkroom, or add a checkpoint with `darkroom models add PATH` and pick it "
                "with --model NAME."
            )
        return entry

    def default(self) -> ModelEntry:
        """The default model: the built-in darkroom-mini (a clear ModelError if it is missing)."""
        return self._require_installed(self.builtin())

    # ---------------------------------------------------------------- API
    def list(self) -> list[ModelEntry]:
        """All models, the built-in one first."""
        return [self.builtin(), *self._load()]

    def names(self) -> list[str]:
        return [BUILTIN_NAME, *(e.name for e in self._load())]

    def add(self, path: str | Path, name: str | None = None, prediction: str | None = None,
            config_dir: str | Path | None = None, progress: Progress | None = None) -> ModelEntry:
        """Inspect, hash and register a checkpoint or diffusers folder; returns its entry."""
        if name is not None:
            _check_name(name)
        if name == BUILTIN_NAME:
            raise ModelError(f"{BUILTIN_NAME} is the built-in model's name; choose another with --name")
        entry = inspect_model(path, name, prediction, config_dir, self.settings, progress)
        if name is None and entry.name == BUILTIN_NAME:
            raise ModelError(f"{BUILTIN_NAME} is the built-in model's name; choose another with --name")
        with self._locked():
            entries = self._load()
            clash = next((e for e in entries if e.name == entry.name), None)
            if clash is not None and clash.path != entry.path:
                raise ModelError(f"a model named {entry.name!r} already exists ({clash.path}); "
                                 "choose another name with --name, or remove it first")
            entries = [e for e in entries if e.name != entry.name] + [entry]
            self._save(entries)
        return entry

    def remove(self, name: str) -> ModelEntry:
        if name == BUILTIN_NAME:
            raise ModelError(f"{BUILTIN_NAME} is built in and cannot be removed")
        with self._locked():
            entries = self._load()
            found = next((e for e in entries if e.name == name), None)
            if found is None:
                raise self._unknown(name, entries)
            self._save([e for e in entries if e.name != name])
        return found

    def resolve(self, name_or_path: str | Path, *, allow_path: bool = True) -> ModelEntry:
        """A registered name, a sha256 (or its first 10+ hex digits), or a path to inspect on the fly.

        `allow_path=False` (a model named inside a recipe file or a picture): names and hashes only;
        a path is refused without being looked at, so a recipe cannot make darkroom open a file."""
        key = str(name_or_path).strip()
        entries = self._load()
        if key == BUILTIN_NAME:
            return self.default()
        for entry in entries:
            if entry.name == key:
                return entry
        if re.fullmatch(r"[0-9a-fA-F]{10,64}", key):
            matches = [e for e in entries if e.sha256.startswith(key.lower())]
            builtin = self.builtin()
            if builtin.sha256 and builtin.sha256.startswith(key.lower()):
                matches.insert(0, builtin)
            if len(matches) >= 1 and len({e.sha256 for e in matches}) == 1:
                return matches[0]
            if len(matches) > 1:
                raise ModelError(f"hash {key} matches several models ({', '.join(e.name for e in matches)}); "
                                 "give more digits or a name")
        if not allow_path:
            if "/" in key or "\\" in key or key.startswith("~") or key.endswith((".safetensors", ".ckpt")):
                raise UnknownModel(f"the recipe names its model by a path ({key[:120]!r}); a recipe may name a "
                                   "model only by its registered name or sha256. Register the file with "
                                   "`darkroom models add PATH --name NAME` and use that name, or pass the path "
                                   "yourself with --model")
            raise self._unknown(key, entries)
        path = Path(key).expanduser()
        if key and path.exists():
            resolved = str(path.resolve())
            for entry in entries:
                if entry.path == resolved:
                    return entry
            return inspect_model(path, settings=self.settings)
        raise self._unknown(key, entries)

    def _unknown(self, key: str, entries: list[ModelEntry]) -> UnknownModel:
        names = ", ".join([BUILTIN_NAME, *(e.name for e in entries)])
        return UnknownModel(f"unknown model {key!r}. Known models: {names}. "
                            "Add one with `darkroom models add PATH [--name NAME]`, or give a path to a file.")
