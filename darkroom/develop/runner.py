"""Runs a recipe: resolve the model, execute each step, hand back every picture.

Each step is one function `(ctx, frame, step, index) -> Frame`, registered by its `op`
in STEPS. A generate step with a batch makes one chain per image; every later step runs
on each chain. Every picture comes with the resolved recipe that reproduces it on its own
(seeds, sizes and inherited prompts made concrete, one image, the steps up to it), its
A1111 infotext, and its parent (the picture the step started from).
Everything is computed before anything is written, so a failing step leaves no files.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import diffusers
import torch
from PIL import Image

import darkroom
from darkroom.develop.context import Frame, Progress, RunContext
from darkroom.develop.generate import image_steps, resolve, run_generate
from darkroom.develop.hires import run_hires
from darkroom.develop.img2img import run_img2img
from darkroom.develop.infotext import infotext
from darkroom.develop.inpaint import run_inpaint
from darkroom.develop.passes import inherit
from darkroom.develop.recipe import GenerateStep, HiresStep, ModelRef, Recipe, Runtime
from darkroom.errors import InvalidParameter, ModelError
from darkroom.models.cache import get_engine
from darkroom.models.hashing import a1111_short_hash
from darkroom.models.registry import Registry
from darkroom.settings import Settings
from darkroom.trust.gate import RunAudit

STEPS: dict[str, Callable] = {
    "generate": lambda ctx, frame, step, index: run_generate(ctx, step),
    "hires": run_hires,
    "img2img": run_img2img,
    "inpaint": run_inpaint,
}


@dataclass
class Developed:
    image: Image.Image
    recipe: Recipe
    infotext: str
    batch_index: int = 0
    step_index: int = 0
    parent: "Developed | None" = None
    final: bool = True
    latents: torch.Tensor | None = None
    audit_ref: str | None = None

    @property
    def op(self) -> str:
        return self.recipe.steps[-1].op


def runtime_of(engine) -> Runtime:
    return Runtime(
        device=str(engine.device),
        dtype=str(engine.dtype).removeprefix("torch."),
        threads=torch.get_num_threads(),
        torch=torch.__version__,
        diffusers=diffusers.__version__,
        darkroom=darkroom.__version__,
    )


def load_engine(recipe: Recipe, settings: Settings):
    entry = Registry(settings).resolve(recipe.model.name)
    engine = get_engine(entry, settings)
    if recipe.model.sha256 and recipe.model.sha256 != entry.sha256:
        raise ModelError(
            f"model {entry.name!r} has sha256 {entry.sha256[:10]}..., but the recipe was made "
            f"with {recipe.model.sha256[:10]}...; register the original file to reproduce it"
        )
    return engine


def start(recipe: Recipe, settings: Settings | None, progress: Progress | None,
          load_input: Callable | None = None, on_step: Callable | None = None) -> RunContext:
    """Admit the recipe (policy, audit), load its model, set up the run."""
    settings = settings or Settings()
    audit = RunAudit(settings, recipe)
    audit.admit(recipe)
    if settings.threads > 0:
        torch.set_num_threads(settings.threads)
    engine = load_engine(recipe, settings)
    audit.model_loaded(engine)
    on_step = _chain(audit.step_done, on_step)
    if load_input is None:
        from darkroom.library import Library

        load_input = Library(settings).open_input
    return RunContext(engine=engine, progress=progress, load_input=load_input, on_step=on_step)


def _chain(first: Callable, then: Callable | None) -> Callable:
    def both(developed):
        first(developed)
        if then is not None:
            then(developed)

    return both


def develop(recipe: Recipe, settings: Settings | None = None, progress: Progress | None = None,
            load_input: Callable | None = None, on_step: Callable[[Developed], None] | None = None
            ) -> list[Developed]:
    """Every picture of the run, in order: per chain, one per step (the last is `final`).

    Input pictures named by path are taken into the library first (unless `load_input` is
    given), so the recorded recipes name them by sha256. `on_step` sees each picture as
    soon as its step is done (e.g. to append an audit event)."""
    if load_input is None:
        from darkroom.develop.inputs import ingest_inputs
        from darkroom.library import Library

        library = Library(settings or Settings())
        recipe = ingest_inputs(recipe, library)
        load_input = library.open_input
    ctx = start(recipe, settings, progress, load_input, on_step)
    first = recipe.steps[0]
    if isinstance(first, GenerateStep):
        chains = [[step] for step in image_steps(resolve(first, ctx.engine.native_size))]
    elif isinstance(first, HiresStep):
        raise InvalidParameter("steps[0]: a hires step needs a picture before it; start with generate")
    else:
        chains = [[]]
    results: list[Developed] = []
    for batch_index, prefix in enumerate(chains):
        results += run_chain(ctx, recipe, batch_index, len(chains), resolved=prefix)
    return results


def run_chain(ctx: RunContext, recipe: Recipe, batch_index: int, batch_size: int, *, resolved: list | None = None,
              frame: Frame | None = None, parent: Developed | None = None, begin: int = 0) -> list[Developed]:
    """Run steps[begin:] of one chain; `resolved` holds the resolved steps before `begin` (and a
    resolved first generate step, when it was split off a batch)."""
    done = list(resolved or [])[:begin]
    pending = list(resolved or [])[begin:]
    model = ModelRef(name=ctx.engine.entry.name, sha256=ctx.engine.entry.sha256)
    runtime = runtime_of(ctx.engine)
    out: list[Developed] = []
    for index in range(begin, len(recipe.steps)):
        step = pending.pop(0) if pending else resolve_step(recipe.steps[index], done, index, batch_index, frame,
                                                           ctx.engine)
        frame = STEPS[step.op](ctx, frame, step, index)
        done.append(step)
        single = Recipe(model=model, steps=list(done), runtime=runtime)
        developed = Developed(image=frame.image, recipe=single, infotext=describe(single, ctx.engine, batch_index,
                                                                                     batch_size),
                              batch_index=batch_index, step_index=index, parent=parent,
                              final=index == len(recipe.steps) - 1, latents=frame.latents)
        out.append(developed)
        if ctx.on_step is not None:
            ctx.on_step(developed)
        parent = developed
    return out


def resolve_step(step, done: list, index: int, batch_index: int, frame: Frame | None, engine):
    """The step with everything inherited or random made concrete."""
    if isinstance(step, GenerateStep):
        if index:
            raise InvalidParameter(f"steps[{index}]: generate can only be the first step")
        return image_steps(resolve(step, engine.native_size))[0]
    if frame is None and getattr(step, "image", None) is None:
        raise InvalidParameter(f"steps[{index}].image: the first step needs an input image (or start with generate)")
    step = inherit(step, done, index, batch_index)
    if isinstance(step, HiresStep) and step.steps == 0:
        first_steps = next((p.steps for p in done if getattr(p, "steps", 0)), 20)
        step = step.model_copy(update={"steps": first_steps})
    return step


def run_recipe(recipe: Recipe, settings: Settings | None = None, progress: Progress | None = None) -> list[Developed]:
    """The final picture of each chain (each image of a batch)."""
    return [d for d in develop(recipe, settings, progress) if d.final]


# ---------------------------------------------------------------------------- infotext
def describe(recipe: Recipe, engine, batch_index: int, batch_size: int) -> str:
    """A1111 infotext: the first pass's parameters, then hires/img2img/inpaint ones as A1111 names them."""
    first, last = recipe.steps[0], recipe.steps[-1]
    params: dict = {
        "Steps": getattr(first, "steps", None),
        "Sampler": first.sampler,
        "CFG scale": first.cfg,
        "Seed": first.seed,
        "Size": f"{first.width}x{first.height}" if isinstance(first, GenerateStep) else None,
        "Model hash": a1111_short_hash(engine.entry.sha256),
        "Model": engine.entry.name,
        "Clip skip": first.clip_skip if (first.clip_skip or 1) > 1 else None,
        "Batch size": batch_size if batch_size > 1 else None,
        "Batch pos": batch_index if batch_size > 1 else None,
    }
    for step in recipe.steps:
        if isinstance(step, HiresStep):
            params.update({
                "Denoising strength": step.denoise,
                "Hires upscale": step.scale if not (step.resize_width or step.resize_height) else None,
                "Hires resize": f"{step.resize_width or 0}x{step.resize_height or 0}"
                if (step.resize_width or step.resize_height) else None,
                "Hires steps": step.steps,
                "Hires upscaler": step.upscaler,
                "Hires prompt": step.prompt if step.prompt != first.prompt else None,
                "Hires sampler": step.sampler if step.sampler != first.sampler else None,
                "Hires CFG Scale": step.cfg if step.cfg != first.cfg else None,
            })
        elif step.op in ("img2img", "inpaint"):
            params["Denoising strength"] = step.denoise
            if step.op == "inpaint":
                params.update({"Mask blur": step.mask_blur,
                               "Inpaint area": "Only masked" if step.inpaint_area == "masked" else None,
                               "Masked area padding": step.padding if step.inpaint_area == "masked" else None})
    params["Version"] = f"darkroom {darkroom.__version__}"
    prompt = last.prompt if last.op != "hires" else first.prompt
    negative = last.negative_prompt if last.op != "hires" else first.negative_prompt
    return infotext(prompt, negative or "", params)
