"""The model cache: loaded Engines, leased to the jobs that use them, the least recently used evicted.

Keyed by what makes two loads interchangeable: the model's sha256 (plus its prediction type
and config folder, which an entry may override), the device and the dtype. A job holds a
*lease* (`with cache.lease(entry, settings) as engine:`); an engine with a lease is never
closed. The budget (`settings.model_cache_size` engines, `settings.model_cache_gb` of
weights) is enforced before a load and whenever a lease ends; engines in use may push the
cache over it for as long as they are used. Size 0 keeps nothing: every lease loads afresh
and its engine is closed when the lease ends.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from contextlib import contextmanager
from dataclasses import dataclass

from darkroom.models.engine import Engine, load_engine, resolve_device, resolve_dtype
from darkroom.models.registry import ModelEntry
from darkroom.settings import Settings


def cache_key(entry: ModelEntry, settings: Settings) -> tuple:
    device = resolve_device(settings.device)
    dtype = resolve_dtype(settings.dtype, device)
    return (entry.sha256 or entry.path, entry.prediction, entry.config_dir, str(device), str(dtype))


def weight_bytes(engine: Engine) -> int:
    seen, total = set(), 0
    for module in engine.components.values():
        for tensor in getattr(module, "parameters", lambda: [])():
            if id(tensor) not in seen:
                seen.add(id(tensor))
                total += tensor.numel() * tensor.element_size()
    return total


@dataclass
class _Slot:
    engine: Engine
    leases: int = 0
    size: int = 0
    cached: bool = True


class EngineCache:
    def __init__(self):
        self._slots: "OrderedDict[tuple, _Slot]" = OrderedDict()
        self._lock = threading.RLock()
        self._loading: dict[tuple, threading.Lock] = {}

    @contextmanager
    def lease(self, entry: ModelEntry, settings: Settings | None = None):
        """The loaded Engine for `entry`, safe from eviction until the block ends."""
        settings = settings or Settings()
        slot = self._acquire(entry, settings)
        try:
            yield slot.engine
        finally:
            self._release(slot, settings)

    def _acquire(self, entry: ModelEntry, settings: Settings) -> _Slot:
        key = cache_key(entry, settings)
        with self._lock:
            loading = self._loading.setdefault(key, threading.Lock())
        with loading:  # one load per key at a time; other keys load in parallel
            with self._lock:
                slot = self._slots.get(key)
                if slot is not None and not slot.engine.closed:
                    slot.leases += 1
                    self._slots.move_to_end(key)
                    return slot
                self._slots.pop(key, None)
                self._trim(settings, room_for=1)
            device = resolve_device(settings.device)
            engine = load_engine(entry, device, resolve_dtype(settings.dtype, device), settings)
            slot = _Slot(engine, leases=1, size=weight_bytes(engine), cached=settings.model_cache_size > 0)
            with self._lock:
                if slot.cached:
                    self._slots[key] = slot
                self._trim(settings)
            return slot

    def _release(self, slot: _Slot, settings: Settings) -> None:
        with self._lock:
            slot.leases -= 1
            if not slot.cached and slot.leases == 0:
                slot.engine.close()
            self._trim(settings)

    def _trim(self, settings: Settings, room_for: int = 0) -> None:
        """Close idle engines, oldest first, until the cache is within its budget."""
        limit = max(0, int(settings.model_cache_size))
        budget = float(getattr(settings, "model_cache_gb", 0) or 0) * 2**30
        for key in list(self._slots):
            count = len(self._slots) + room_for
            size = sum(s.size for s in self._slots.values())
            if count <= max(limit, room_for) and (not budget or size <= budget):
                break
            if self._slots[key].leases == 0:
                self._slots.pop(key).engine.close()

    def engines(self) -> list[Engine]:
        """The cached engines, least recently used first."""
        with self._lock:
            return [slot.engine for slot in self._slots.values()]

    def in_use(self) -> dict[str, int]:
        with self._lock:
            return {slot.engine.entry.name: slot.leases for slot in self._slots.values() if slot.leases}

    def clear(self) -> None:
        """Close and drop every engine that is not leased."""
        with self._lock:
            for key in [k for k, s in self._slots.items() if s.leases == 0]:
                self._slots.pop(key).engine.close()


SHARED = EngineCache()  # one per process: every Studio in it shares the loaded models


def get_engine(entry: ModelEntry, settings: Settings | None = None) -> Engine:
    """An engine outside any job (tests, scripts): from the shared cache, not leased (it may be
    evicted by the next load); with cache size 0 the caller owns it."""
    slot = SHARED._acquire(entry, settings or Settings())
    with SHARED._lock:
        slot.leases -= 1
    return slot.engine


def cached_engines() -> list[Engine]:
    return SHARED.engines()


def clear_cache() -> None:
    SHARED.clear()
