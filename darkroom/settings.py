"""One Settings object: where data lives and how the engine runs."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path


def _default_home() -> Path:
    if os.environ.get("DARKROOM_HOME"):
        return Path(os.environ["DARKROOM_HOME"]).expanduser()
    xdg = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(xdg) / "darkroom"


@dataclass
class Settings:
    home: Path = field(default_factory=_default_home)
    device: str = field(default_factory=lambda: os.environ.get("DARKROOM_DEVICE", "auto"))
    dtype: str = field(default_factory=lambda: os.environ.get("DARKROOM_DTYPE", "auto"))
    threads: int = field(default_factory=lambda: int(os.environ.get("DARKROOM_THREADS", "0")))
    model_cache_size: int = 2  # engines kept loaded (least recently used evicted; never one in use)
    model_cache_gb: float = 0.0  # and at most this many GB of weights; 0: no limit
    concurrent_jobs: int = field(default_factory=lambda: int(os.environ.get("DARKROOM_JOBS", "1")))
    preview_interval: float = 0.25  # seconds between two preview pictures of a job (at most)
    preview_every: int = 0  # or a preview every N denoising steps; 0: by time only
    # a diffusers AutoencoderTiny folder (TAESD; TAESDXL for SDXL) for previews of big pictures;
    # empty: A1111's linear "Approx cheap" map
    preview_decoder: str = field(default_factory=lambda: os.environ.get("DARKROOM_PREVIEW_DECODER", ""))
    preview_decoder_xl: str = field(default_factory=lambda: os.environ.get("DARKROOM_PREVIEW_DECODER_XL", ""))

    @property
    def registry_file(self) -> Path:
        return self.home / "models.json"

    @property
    def hash_cache_file(self) -> Path:
        return self.home / "hash-cache.json"

    @property
    def database_file(self) -> Path:
        return self.home / "library.sqlite"

    def ensure_home(self) -> Path:
        self.home.mkdir(parents=True, exist_ok=True)
        return self.home
