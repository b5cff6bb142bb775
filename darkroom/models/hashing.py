"""A model is identified by its sha256; A1111's "Model hash" is the first 10 hex digits.

Hashing a 2-7 GB checkpoint takes seconds to minutes, so hashes are cached in
`settings.hash_cache_file`, keyed by the file's absolute path, size and mtime (ns): a file
whose size and mtime are unchanged is not read again.

A diffusers folder has no single file; its hash is the sha256 of the lines
`<relative path>\\0<sha256 of that file>\\n` over its weight and config files (``*.safetensors``,
``*.json``, ``*.txt``), sorted by path. Model cards and hidden files do not count.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from pathlib import Path
from typing import Callable

Progress = Callable[[Path, int, int], None]  # (file, bytes hashed so far, file size)

from darkroom.fsutil import write_atomic
from darkroom.settings import Settings

CHUNK = 1 << 20
FOLDER_HASH_SUFFIXES = (".safetensors", ".json", ".txt")
_lock = threading.Lock()


def a1111_short_hash(sha256: str) -> str:
    """AUTOMATIC1111's "Model hash" (its "new" hash): the first 10 hex digits of the sha256."""
    return sha256[:10]


def _read_sha256(path: Path, progress: Progress | None = None) -> str:
    digest = hashlib.sha256()
    total, done = path.stat().st_size, 0
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
            done += len(chunk)
            if progress is not None:
                progress(path, done, total)
    return digest.hexdigest()


def _load_cache(cache_file: Path) -> dict:
    try:
        data = json.loads(cache_file.read_text())
        return data if isinstance(data, dict) and isinstance(data.get("files"), dict) else {"files": {}}
    except (OSError, ValueError):
        return {"files": {}}  # a missing or damaged cache only costs a re-hash


def sha256_file(path: str | Path, settings: Settings | None = None, progress: Progress | None = None) -> str:
    """sha256 of a file, streamed, cached by (path, size, mtime_ns); `progress` sees each chunk."""
    path = Path(path).expanduser().resolve()
    stat = path.stat()
    cache_file = (settings or Settings()).hash_cache_file
    key = str(path)
    with _lock:
        cached = _load_cache(cache_file)["files"].get(key)
    if cached and cached.get("size") == stat.st_size and cached.get("mtime_ns") == stat.st_mtime_ns:
        return cached["sha256"]
    sha = _read_sha256(path, progress)
    with _lock:
        cache = _load_cache(cache_file)  # re-read: another process may have added entries
        cache["files"][key] = {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "sha256": sha}
        cache["files"] = {k: v for k, v in cache["files"].items() if os.path.exists(k)}
        write_atomic(cache_file, json.dumps(cache, indent=0, sort_keys=True).encode())
    return sha


def folder_files(folder: str | Path) -> list[Path]:
    """The files of a diffusers folder that make up its identity, sorted by relative path."""
    folder = Path(folder)
    files = []
    for path in folder.rglob("*"):
        rel = path.relative_to(folder)
        if any(part.startswith(".") for part in rel.parts) or not path.is_file():
            continue
        if path.suffix.lower() in FOLDER_HASH_SUFFIXES:
            files.append(path)
    return sorted(files, key=lambda p: p.relative_to(folder).as_posix())


def sha256_folder(folder: str | Path, settings: Settings | None = None, progress: Progress | None = None) -> str:
    """A stable sha256 over a diffusers folder's weight and config files (see module doc)."""
    folder = Path(folder).expanduser().resolve()
    digest = hashlib.sha256()
    for path in folder_files(folder):
        rel = path.relative_to(folder).as_posix()
        digest.update(f"{rel}\0{sha256_file(path, settings, progress)}\n".encode())
    return digest.hexdigest()


def sha256_model(path: str | Path, settings: Settings | None = None, progress: Progress | None = None) -> str:
    """sha256 of a single-file checkpoint, or the folder hash of a diffusers folder."""
    path = Path(path)
    return sha256_folder(path, settings, progress) if path.is_dir() else sha256_file(path, settings, progress)
