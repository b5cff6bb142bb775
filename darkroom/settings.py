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
    # precision: auto (float16 on CUDA, bfloat16 on a CPU with bf16 hardware, else float32), float32,
    # bfloat16 or float16; a replay with "auto" uses the dtype its recipe records
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
    # signing: days a new studio signing certificate is valid (renewed 30 days before it ends;
    # `darkroom keys rotate` makes a new one now), and an RFC 3161 time-stamp authority (an
    # organisation's own; empty: none, nothing is contacted) whose time-stamps keep signatures
    # valid after the certificate expires
    certificate_days: int = field(default_factory=lambda: int(os.environ.get("DARKROOM_CERTIFICATE_DAYS", "730")))
    tsa_url: str = field(default_factory=lambda: os.environ.get("DARKROOM_TSA_URL", ""))
    # pictures exported to a folder the user chose follow the umask; True: 0600 (the library is always private)
    private_exports: bool = field(default_factory=lambda: os.environ.get("DARKROOM_PRIVATE_EXPORTS", "").lower()
                                  in ("1", "true", "yes", "on"))

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
        """The data dir, private to this user (0700, whatever the umask): it holds every prompt and key.
        (What is written inside gets its mode from `darkroom.fsutil`.)"""
        self.home.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(self.home, 0o700)
        return self.home
