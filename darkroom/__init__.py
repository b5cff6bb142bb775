"""darkroom: a local, trustworthy studio for Stable Diffusion.

    from darkroom import Studio, Recipe
    studio = Studio()
    pictures = studio.submit(Recipe.parse(text), project="p1").result()
"""

import ctypes
import os
import sys

# Spinning OpenMP threads made small models 20-40x slower when another core was busy; this has to
# be set before torch starts its thread pool, so it is set on the first import of darkroom.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from darkroom.version import __version__  # noqa: E402
__all__ = ["Recipe", "Studio", "release_memory"]

M_ARENA_MAX = -8  # glibc's mallopt parameter (malloc.h)
MALLOC_ARENAS = 2  # glibc's default is 8 per core: each worker thread kept its own ~GB of freed tensors


def _glibc():
    """The C library if it is glibc (mallopt and malloc_trim are glibc's), else None."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL("libc.so.6")
        return libc if hasattr(libc, "malloc_trim") and hasattr(libc, "mallopt") else None
    except OSError:
        return None


_LIBC = _glibc()
if _LIBC is not None and "MALLOC_ARENA_MAX" not in os.environ:  # the user's setting wins
    _LIBC.mallopt(M_ARENA_MAX, MALLOC_ARENAS)


def release_memory() -> None:
    """Give the memory freed by a finished job back to the system (glibc keeps it otherwise)."""
    if _LIBC is not None:
        _LIBC.malloc_trim(0)


def __getattr__(name: str):
    """Studio and Recipe load on first use, so `darkroom --help` does not import torch."""
    if name == "Studio":
        from darkroom.studio import Studio

        return Studio
    if name == "Recipe":
        from darkroom.develop.recipe import Recipe

        return Recipe
    raise AttributeError(f"module 'darkroom' has no attribute {name!r}")
