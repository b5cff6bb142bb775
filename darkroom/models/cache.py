"""The model cache: the most recently used models stay loaded (an LRU of Engines).

Keyed by what makes two loads interchangeable: the model's sha256 (plus its prediction type
and config folder, which an entry may override), the device and the dtype. When the cache is
full the least recently used engine is closed *before* the next one loads, so two large
models are never in memory at once on account of the cache. `settings.model_cache_size = 0`
keeps nothing: every call loads afresh.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

from darkroom.models.engine import Engine, load_engine, resolve_device, resolve_dtype
from darkroom.models.registry import ModelEntry
from darkroom.settings import Settings

_engines: "OrderedDict[tuple, Engine]" = OrderedDict()
_lock = threading.RLock()


def cache_key(entry: ModelEntry, settings: Settings) -> tuple:
    device = resolve_device(settings.device)
    dtype = resolve_dtype(settings.dtype, device)
    return (entry.sha256 or entry.path, entry.prediction, entry.config_dir, str(device), str(dtype))


def get_engine(entry: ModelEntry, settings: Settings | None = None) -> Engine:
    """The loaded Engine for `entry`, from the cache or freshly loaded (evicting the LRU one)."""
    settings = settings or Settings()
    key = cache_key(entry, settings)
    with _lock:
        engine = _engines.get(key)
        if engine is not None and not engine.closed:
            _engines.move_to_end(key)
            return engine
        _engines.pop(key, None)
        size = max(0, int(settings.model_cache_size))
        while _engines and len(_engines) >= max(size, 1):
            _evict_oldest()
        device = resolve_device(settings.device)
        engine = load_engine(entry, device, resolve_dtype(settings.dtype, device), settings)
        if size > 0:
            _engines[key] = engine
        return engine


def _evict_oldest() -> None:
    _, engine = _engines.popitem(last=False)
    engine.close()


def cached_engines() -> list[Engine]:
    """The cached engines, least recently used first."""
    with _lock:
        return list(_engines.values())


def clear_cache() -> None:
    """Close and drop every cached engine."""
    with _lock:
        while _engines:
            _evict_oldest()
