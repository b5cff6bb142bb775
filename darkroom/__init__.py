"""darkroom: a local, trustworthy studio for Stable Diffusion.

    from darkroom import Studio, Recipe
    studio = Studio()
    pictures = studio.submit(Recipe.parse(text), project="p1").result()
"""

import os

# Spinning OpenMP threads made small models 20-40x slower when another core was busy; this has to
# be set before torch starts its thread pool, so it is set on the first import of darkroom.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from darkroom.version import __version__  # noqa: E402
__all__ = ["Recipe", "Studio"]


def __getattr__(name: str):
    """Studio and Recipe load on first use, so `darkroom --help` does not import torch."""
    if name == "Studio":
        from darkroom.studio import Studio

        return Studio
    if name == "Recipe":
        from darkroom.develop.recipe import Recipe

        return Recipe
    raise AttributeError(f"module 'darkroom' has no attribute {name!r}")
