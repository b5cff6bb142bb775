"""Runs a recipe on a loaded engine: execute each step, hand back every picture.

Each step is one function `(ctx, frame, step, index) -> Frame`, registered by its `op`
in the step registry (steps.py). A generate step with a batch makes one chain per image; every later step runs
on each chain. Every picture comes with the resolved recipe that reproduces it on its own
(seeds, sizes and inherited prompts made concrete, one image, the steps up to it), its
A1111 infotext, and its parent (the picture the step started from).

This layer makes pixels and nothing else: admission (policy, consent), audit events and
saving belong to the studio, which passes `on_step` (each picture as its step is done),
`on_chain` (each finished chain: the unit that is saved) and `observe` (each denoising
step, with where it happens; it may raise `Cancelled`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial
from typing import Callable

import diffusers
import torch
from PIL import Image

from darkroom.develop.context import Frame, RunContext
from darkroom.develop.generate import image_steps, resolve
from darkroom.develop.infotext import infotext
from darkroom.develop.passes import inherit
from darkroom.develop.recipe import GenerateStep, HiresStep, ModelRef, Recipe, Runtime
from darkroom.develop.steps import REGISTRY, step_type
from darkroom.errors import InvalidParameter, Skipped
from darkroom.version import __version__
from darkroom.models.hashing import a1111_short_hash

STEPS: dict[str, Callable] = {t.op: t.run for t in REGISTRY}  # op -> (ctx, frame, step, index) -> Frame


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


@dataclass
class Where:
    """Where a denoising step happens: which chain (batch image), which recipe step."""

    batch_index: int
    step_index: int
    op: str


@dataclass
class Run:
    """One recipe on one engine, with the studio's listeners."""

    engine: object
    recipe: Recipe
    load_input: Callable
    observe: Callable[[Where, object], None] | None = None
    on_step: Callable[[Developed], None] | None = None
    on_chain: Callable[[list[Developed]], None] | None = None
    ctx: RunContext = field(init=False)

    def __post_init__(self):
        self.ctx = RunContext(engine=self.engine, load_input=self.load_input)


def runtime_of(engine) -> Runtime:
    return Runtime(
        device=str(engine.device),
        dtype=str(engine.dtype).removeprefix("torch."),
        threads=torch.get_num_threads(),
        torch=torch.__version__,
        diffusers=diffusers.__version__,
        darkroom=__version__,
    )


def chains_of(recipe: Recipe, engine) -> list[list]:
    """The resolved first step of each chain (one per batch image), or one empty chain."""
    first = recipe.steps[0]
    if isinstance(first, GenerateStep):
        return [[step] for step in image_steps(resolve(first, engine.native_size))]
    if isinstance(first, HiresStep):
        raise InvalidParameter("steps[0]: a hires step needs a picture before it; start with generate")
    return [[]]


def develop(run: Run) -> list[Developed]:
    """Every picture of the run, in order: per chain, one per step (the last is `final`)."""
    chains = chains_of(run.recipe, run.engine)
    results: list[Developed] = []
    for batch_index, prefix in enumerate(chains):
        try:
            chain = run_chain(run, batch_index, len(chains), resolved=prefix)
        except Skipped:
            continue
        if run.on_chain is not None:
            run.on_chain(chain)
        results += chain
    return results


def run_chain(run: Run, batch_index: int, batch_size: int, *, resolved: list | None = None,
              frame: Frame | None = None, parent: Developed | None = None, begin: int = 0) -> list[Developed]:
    """Run steps[begin:] of one chain; `resolved` holds the resolved steps before `begin` (and a
    resolved first generate step, when it was split off a batch)."""
    recipe, engine, ctx = run.recipe, run.engine, run.ctx
    done = list(resolved or [])[:begin]
    pending = list(resolved or [])[begin:]
    model = ModelRef(name=engine.entry.name, sha256=engine.entry.sha256)
    runtime = runtime_of(engine)
    out: list[Developed] = []
    for index in range(begin, len(recipe.steps)):
        step = pending.pop(0) if pending else resolve_step(recipe.steps[index], done, index, batch_index, frame,
                                                           engine)
        if run.observe is not None:
            ctx.observe = partial(run.observe, Where(batch_index, index, step.op))
        frame = STEPS[step.op](ctx, frame, step, index)
        done.append(step)
        single = Recipe(model=model, steps=list(done), runtime=runtime, networks=recipe.networks)
        developed = Developed(image=frame.image, recipe=single, infotext=describe(single, engine, batch_index,
                                                                                     batch_size, frame.image.size),
                              batch_index=batch_index, step_index=index, parent=parent,
                              final=index == len(recipe.steps) - 1, latents=frame.latents)
        out.append(developed)
        if run.on_step is not None:
            run.on_step(developed)
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


# ---------------------------------------------------------------------------- infotext
def describe(recipe: Recipe, engine, batch_index: int, batch_size: int, size: tuple[int, int] | None = None) -> str:
    """A1111 infotext of the picture the recipe's last step made, written the way A1111 writes it for
    that operation: the pass that made it (the last step that is not a hires fix: txt2img, or img2img /
    inpaint / outpaint as A1111's img2img tab) with its own prompt, seed, steps, sampler, CFG and size
    (`size`: the picture's, where the step has none of its own), then the hires fix steps after it.
    The whole chain is in the `darkroom` recipe chunk, not here."""
    steps = recipe.steps
    at = max(i for i, s in enumerate(steps) if not step_type(s.op).keeps_prompt or i == 0)
    base = steps[at]
    params: dict = {
        "Steps": getattr(base, "steps", None),
        "Sampler": base.sampler,
        "CFG scale": base.cfg,
        "Seed": base.seed,
        "Size": None,  # the pass's own (below); here for A1111's order
        "Model hash": a1111_short_hash(engine.entry.sha256),
        "Model": engine.entry.name,
        "Clip skip": base.clip_skip if (base.clip_skip or 1) > 1 else None,
        "Batch size": batch_size if batch_size > 1 else None,
        "Batch pos": batch_index if batch_size > 1 else None,
    }
    params.update(step_type(base.op).infotext(base, base))
    if params["Size"] is None and size is not None and at == len(steps) - 1:
        params["Size"] = f"{size[0]}x{size[1]}"
    for step in steps[at + 1:]:
        params.update(step_type(step.op).infotext(step, base))
    params.update(network_hashes(recipe))
    params["Version"] = f"darkroom {__version__}"
    return infotext(base.prompt, base.negative_prompt or "", params)


def network_hashes(recipe: Recipe) -> dict:
    """A1111's `Lora hashes: "name: 12hex, ..."` and `TI hashes: "name: 12hex"`."""
    params = {}
    for kind, key in (("lora", "Lora hashes"), ("embedding", "TI hashes")):
        refs = [n for n in recipe.networks if n.kind == kind]
        if refs:
            params[key] = ", ".join(f"{n.name}: {n.hash or (n.sha256 or '')[:12]}" for n in refs)
    return params
