"""The develop layer alone, for tests of the steps: pixels in memory, no policy, audit or saving."""

from __future__ import annotations


def develop_recipe(recipe, *, load_input=None, progress=None, on_step=None):
    """Every Developed picture of `recipe` (parents, latents and all); inputs named by path are taken in."""
    from darkroom.develop.runner import Run, develop
    from darkroom.library import Library
    from darkroom.models.cache import get_engine
    from darkroom.models.registry import Registry
    from darkroom.scope import Scope
    from darkroom.settings import Settings
    from darkroom.studio.inputs import ingest_inputs

    settings = Settings()
    library = Library(settings)
    if load_input is None:
        recipe = ingest_inputs(recipe, library, Scope())
        load_input = library.open_input
    engine = get_engine(Registry(settings).resolve(recipe.model.name), settings)
    observe = (lambda where, state: progress(state.step, state.total)) if progress else None
    return develop(Run(engine, recipe, load_input, observe=observe, on_step=on_step))


def take_in(path) -> str:
    """An input picture file into the test's library: 'sha256:HEX'."""
    from darkroom.library import Library
    from darkroom.settings import Settings
    from darkroom.studio.inputs import take_in as studio_take_in

    return studio_take_in(Library(Settings()), path, "default")
