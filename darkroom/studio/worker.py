"""The worker side of a job: lease the engine, make the pixels, report back through a sink.

`Work` is everything a worker needs and nothing it could reach around: the recipe (its
inputs named by sha256), the input pictures' bytes, the scope, and what to report. The
worker never touches the library, the audit log or the policy: it calls its `Sink`, which
the studio implements (save a finished chain, log a step, pass a progress event on).

    LocalExecutor   worker threads in this process; the sink is called directly.
    (a Ray executor would run `compute` in a GPU actor that holds an EngineCache, ship each
     sink call back as a message, and replay them into the same Sink in the studio.)
"""

from __future__ import annotations

import queue
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Protocol

from darkroom import release_memory
from darkroom.develop.recipe import Recipe
from darkroom.errors import Cancelled, ModelError, Skipped
from darkroom.scope import Scope

if TYPE_CHECKING:  # the runner imports torch and diffusers: only when a job runs
    from darkroom.develop.runner import Developed, Where


@dataclass
class Work:
    job_id: str
    recipe: Recipe  # every input named by sha256
    model: object  # darkroom.models.registry.ModelEntry
    scope: Scope
    inputs: dict[str, bytes] = field(default_factory=dict)  # sha256 -> file bytes
    previews: bool = False  # preview pictures from the start (a watcher may ask for them later too)
    preview_plan: object = None  # darkroom.studio.jobs.PreviewPlan: how often; None: the settings'
    variants: dict | None = None  # {"count", "vary", "step_index"}: make variants instead of the recipe's run
    loras: list = field(default_factory=list)  # [(NetworkEntry, weight)] from the prompts' <lora:...> tags
    embeddings: list = field(default_factory=list)  # [NetworkEntry] whose trigger words the prompts use


def resolve_networks(recipe: Recipe, model, settings) -> tuple[Recipe, list, list]:
    """The LoRAs and embeddings a recipe's prompts ask for, found in the registry (by the sha256 the
    recipe recorded, when it did), and the recipe with them recorded: (recipe, loras, embeddings)."""
    import re

    from darkroom.develop.recipe import NetworkRef
    from darkroom.errors import InvalidParameter
    from darkroom.models.networks import NetworkRegistry, base_family
    from darkroom.prompt.syntax import network_tags

    prompts = [getattr(step, name, None) or "" for step in recipe.steps for name in ("prompt", "negative_prompt")]
    if not recipe.networks and not any("<lora:" in p.lower() for p in prompts) and \
            not Path(NetworkRegistry(settings).file).exists():
        return recipe, [], []
    registry = NetworkRegistry(settings)
    recorded = {(n.kind, n.name): n for n in recipe.networks}
    weights: dict[str, float] = {}
    for tag in (t for p in prompts for t in network_tags(p)):
        if weights.setdefault(tag.name, tag.weight) != tag.weight:
            raise InvalidParameter(f"the LoRA {tag.name!r} is tagged with two weights ({weights[tag.name]:g} and "
                                   f"{tag.weight:g}); use one tag per LoRA")
    loras = []
    for name, weight in weights.items():
        ref = recorded.get(("lora", name))
        entry = registry.find(name, "lora", ref.sha256 if ref else None, ref.hash if ref else None)
        loras.append((entry, weight))
    text = "\n".join(p for p in prompts)
    embeddings = [e for e in registry.embeddings(base_family(model.family))
                  if re.search(rf"(?<![A-Za-z0-9_]){re.escape(e.name)}(?![A-Za-z0-9_])", text)]
    for (kind, name), ref in recorded.items():  # a recorded embedding must be the same file
        if kind == "embedding" and not any(e.name == name for e in embeddings):
            embeddings.append(registry.find(name, kind, ref.sha256, ref.hash))
    refs = [NetworkRef(kind="lora", name=tag_name, sha256=e.sha256, hash=e.short_hash, weight=w)
            for (e, w), tag_name in zip(loras, weights)]
    refs += [NetworkRef(kind="embedding", name=e.name, sha256=e.sha256, hash=e.short_hash) for e in embeddings]
    if len(refs) > 32:
        raise InvalidParameter(f"the prompts use {len(refs)} LoRAs and embeddings; at most 32 can be applied at once")
    return recipe.model_copy(update={"networks": refs}), loras, embeddings


class Sink(Protocol):
    def model_loaded(self, engine) -> None: ...
    def wants_previews(self) -> bool: ...
    def progress(self, where: Where, step: int, total: int, preview, preview_x0) -> None: ...
    def step_done(self, developed: Developed) -> None: ...
    def chain_done(self, chain: list[Developed]) -> None: ...
    def variants_done(self, before: list[Developed], variants: list[tuple[str, Developed]]) -> None: ...


class Previewer:
    """Small preview pictures of the current and the predicted final latents, paced so that they
    take a bounded share of the job (darkroom.develop.previews.PreviewPace)."""

    def __init__(self, engine, settings, plan=None):
        from darkroom.develop.previews import PreviewPace

        self.engine = engine
        self.taesd = preview_decoder(settings.preview_decoder_xl if engine.is_xl else settings.preview_decoder,
                                     engine.device)
        interval, every = (plan.interval, plan.every) if plan else (settings.preview_interval, settings.preview_every)
        self.pace = PreviewPace(interval, every)
        self.method: str | None = None  # by the decoder's cost at the latents' size (chosen again if it changes)
        self._shape: tuple | None = None

    def due(self, step: int, total: int) -> bool:
        return self.pace.due(step, total)

    def images(self, latents, x0: Callable) -> tuple:
        """Previews of `latents` and of x0() (the predicted final latents, or None); their cost paces the next."""
        from darkroom.develop.previews import choose_method, preview_image

        started = self.pace.start()
        vae = self.engine.vae_for_call()
        if latents.shape[-2:] != self._shape:
            self._shape = latents.shape[-2:]
            self.method = choose_method(vae, latents.shape[-1], latents.shape[-2], self.taesd is not None)
        family = "sdxl" if self.engine.is_xl else "sd"

        def show(tensor):
            if tensor is None:
                return None
            return preview_image(tensor[:1, :4], method=self.method, family=family, vae=vae,
                                 scaling_factor=vae.config.scaling_factor, taesd=self.taesd)

        shown = show(latents), show(x0())
        self.pace.done(started)
        return shown


_DECODERS: dict[tuple, object] = {}
_DECODERS_LOCK = threading.Lock()


def preview_decoder(folder: str, device):
    """The AutoencoderTiny in `folder` (safetensors only, offline), loaded once per process; None for ""."""
    if not folder:
        return None
    key = (str(Path(folder).expanduser().resolve()), str(device))
    with _DECODERS_LOCK:
        if key not in _DECODERS:
            from diffusers import AutoencoderTiny

            try:
                _DECODERS[key] = AutoencoderTiny.from_pretrained(key[0], local_files_only=True,
                                                                 use_safetensors=True).to(device).eval()
            except (OSError, ValueError) as err:
                raise ModelError(f"preview decoder {folder}: not a diffusers AutoencoderTiny folder with "
                                 f"safetensors weights ({err})"[:400]) from None
        return _DECODERS[key]


def settings_for(recipe: Recipe, settings):
    """The settings to run `recipe` with: in the dtype its runtime records, unless one is set (replay)."""
    from dataclasses import replace

    from darkroom.models.engine import dtype_for_recipe

    dtype = dtype_for_recipe(settings, recipe.runtime)
    return settings if dtype == settings.dtype else replace(settings, dtype=dtype)


def compute(work: Work, *, engines, settings, sink: Sink, cancelled: Callable[[], bool],
            skipped: Callable[[], bool] = lambda: False) -> None:
    """Run the work on a leased engine; every result goes to `sink`. Raises Cancelled when asked to
    stop; `skipped()` true gives up the batch image being made (the next one follows)."""
    from io import BytesIO

    from darkroom.develop.runner import Run, develop
    from darkroom.develop.variants import make_variants

    from PIL import Image

    def load_input(ref: str):
        data = work.inputs.get(ref.removeprefix("sha256:"))
        if data is None:
            raise ModelError(f"input {ref[:19]}... was not sent with the job")
        image = Image.open(BytesIO(data))
        image.load()
        return image

    with engines.lease(work.model, settings_for(work.recipe, settings)) as engine:
        if work.recipe.model.sha256 and work.recipe.model.sha256 != engine.entry.sha256:
            raise ModelError(
                f"model {engine.entry.name!r} has sha256 {engine.entry.sha256[:10]}..., but the recipe was made "
                f"with {work.recipe.model.sha256[:10]}...; register the original file to reproduce it")
        sink.model_loaded(engine)
        previewer = None

        def observe(where: Where, state) -> None:
            nonlocal previewer
            if cancelled():
                raise Cancelled("the job was cancelled")
            if skipped():
                raise Skipped("skipped")
            images = (None, None)
            if sink.wants_previews():  # asked for at submit, or later by a watcher (A1111's progress)
                previewer = previewer or Previewer(engine, settings, work.preview_plan)
                if previewer.due(state.step, state.total):
                    images = previewer.images(state.latents, state.x0)
            sink.progress(where, state.step, state.total, *images)

        run = Run(engine, work.recipe, load_input, observe=observe, on_step=sink.step_done,
                  on_chain=None if work.variants else sink.chain_done)
        if cancelled():
            raise Cancelled("the job was cancelled")
        with engine.adapters.using(work.loras, work.embeddings, settings):
            if work.variants:
                sink.variants_done(*make_variants(run, **work.variants))
            else:
                develop(run)


class LocalExecutor:
    """Jobs in FIFO order on `workers` threads of this process (started with the first job), each with
    `threads` torch threads (0: what torch gives a new thread)."""

    def __init__(self, run_job: Callable, workers: int = 1, threads: int = 0):
        self._run_job = run_job
        self._workers = max(1, workers)
        self._threads_each = threads
        self._queue: queue.Queue = queue.Queue()
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()

    def submit(self, job) -> None:
        with self._lock:
            if not self._threads:
                self._threads = [threading.Thread(target=self._loop, name=f"darkroom-worker-{i}", daemon=True)
                                 for i in range(self._workers)]
                for thread in self._threads:
                    thread.start()
        self._queue.put(job)

    def _loop(self) -> None:
        if self._threads_each > 0:
            import torch

            # A new thread takes the process's last torch.set_num_threads, whichever thread made it (the
            # policy's encoder sets 1 for itself): a worker sets its own, which its jobs record and replay.
            torch.set_num_threads(self._threads_each)
        while True:
            job = self._queue.get()
            if job is None:
                return
            self._run_job(job)
            release_memory()  # what the job freed goes back to the system, not to this thread's arena

    def shutdown(self, timeout: float | None = None) -> None:
        """Let queued jobs end (the studio cancels them first), then stop the threads."""
        with self._lock:
            threads, self._threads = self._threads, []
        for _ in threads:
            self._queue.put(None)
        for thread in threads:
            thread.join(timeout)
