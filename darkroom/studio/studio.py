"""The Studio: one object that owns the settings, library, audit log, registry, engines and
policy, and runs recipes as jobs. Every front end (CLI, HTTP, web UI, lessons) talks to it.

    studio = Studio(home="/path/to/data")
    job = studio.submit(recipe, project="p1", previews=True)
    for event in job.events(): ...
    pictures = job.result(timeout=600)

`submit` admits the recipe in the caller's thread (inputs taken in, policy, consent: a
blocked prompt raises before a job exists), records the job, and queues it. A worker leases
the engine and makes pixels (`darkroom.studio.worker`); the studio saves each finished
chain (file, library row, audit export event) and passes events on.
"""

from __future__ import annotations

import threading
import traceback
from collections import OrderedDict
from pathlib import Path

from darkroom.develop.recipe import Recipe
from darkroom.errors import Cancelled, DarkroomError, InvalidParameter
from darkroom.library import Library
from darkroom.library.jobs import JobStore
from darkroom.models.registry import Registry
from darkroom.scope import Scope, default_project
from darkroom.settings import Settings
from darkroom.fsutil import OutputFolderError, prepare_output_dir, remove_empty_dirs
from darkroom.studio.inputs import forget_new, input_shas, preflight, take_inputs
from darkroom.studio.jobs import Delivery, Job, Picture, PreviewPlan
from darkroom.studio.saving import save_picture
from darkroom.studio.worker import LocalExecutor, Work, compute, resolve_networks
from darkroom.trust.audit import AuditLog
from darkroom.trust.gate import RunAudit

KEEP_FINISHED = 256  # finished jobs kept in memory (all of them stay in the database)
_threads_set = False
_threads_lock = threading.Lock()


def set_threads_once(threads: int) -> None:
    """torch's thread count, once per process (the first Studio's settings; 0 keeps torch's default)."""
    global _threads_set
    with _threads_lock:
        if _threads_set or threads <= 0:
            return
        import torch

        torch.set_num_threads(threads)
        _threads_set = True


class Studio:
    def __init__(self, home: str | Path | None = None, *, settings: Settings | None = None, engines=None,
                 executor=None):
        if settings is None:
            settings = Settings(home=Path(home).expanduser()) if home is not None else Settings()
        self.settings = settings
        self.library = Library(settings)
        self.audit = AuditLog(settings)
        self.registry = Registry(settings)
        self.job_records = JobStore(settings)
        self._engines = engines
        self.interrupted = self.job_records.mark_interrupted()
        set_threads_once(settings.threads)
        self.executor = executor or LocalExecutor(self._run, settings.concurrent_jobs, settings.threads)
        self._jobs: "OrderedDict[str, Job]" = OrderedDict()
        self._jobs_lock = threading.Lock()
        self._tokenizer = None
        self._warming: list[threading.Thread] = []

    @property
    def engines(self):
        """The engine cache (the process-wide one unless given); imported on first use, so that
        commands that make no pixels (verify, audit, ...) do not import torch."""
        if self._engines is None:
            from darkroom.models.cache import SHARED

            self._engines = SHARED
        return self._engines

    def warm_up(self, recipe: Recipe | None = None) -> None:
        """Load the policy (its rules and sentence model) and the engine `recipe` will lease in
        background threads, each while the other and the command's own work go on; the first
        `submit` waits for the policy before it admits anything. For one-shot commands (a server
        keeps both loaded anyway). Failures are left to the job, which reports them."""
        from darkroom.trust.gate import warm_policy

        targets = {"policy": lambda: warm_policy(self.settings)}
        if recipe is not None and self.settings.model_cache_size > 0:  # the job takes the engine over from the cache
            targets["engine"] = lambda: self._warm_engine(recipe)
        with self._jobs_lock:
            if self._warming:
                return
            self._warming = [threading.Thread(target=target, name=f"darkroom-warm-{name}", daemon=True)
                             for name, target in targets.items()]
        for thread in self._warming:
            thread.start()

    def _warm_engine(self, recipe: Recipe) -> None:
        from darkroom.studio.worker import settings_for

        try:
            entry = self.registry.resolve(recipe.model.name, allow_path=False)
            with self.engines.lease(entry, settings_for(recipe, self.settings)):
                pass
        except Exception:  # noqa: BLE001 - the job's own lease reports what is wrong
            pass

    def _warmed_policy(self) -> None:
        """Wait for a policy warm-up still running (the first thread), so it is loaded once."""
        if self._warming:
            self._warming[0].join()

    # ------------------------------------------------------------------ jobs
    def submit(self, recipe: Recipe | str | dict, *, project: str | None = None, consent: str | None = None,
               label: bool = False, owner: str | None = None, previews: "bool | PreviewPlan" = False,
               out_dir: str | Path | None = None, final_only: bool = False, base: Path | None = None,
               save: bool = True, variants: dict | None = None, format: str = "png", quality: int = 95,
               comfyui: bool = False, origin: str | None = None) -> Job:
        """Admit and queue a run of `recipe`; returns the queued Job at once.

        Raises (before any job exists) for an unknown model, a missing input, a blocked prompt or
        a photo of a person without a lawful basis. `out_dir`: where copies of the pictures go
        (None: the library only); `previews`: step previews from the start, paced by the settings (True)
        or by a PreviewPlan of this job's own (e.g. jobs.EVERY_STEP); `final_only`: only the last
        step's pictures are exported;
        `save=False`: nothing is stored (the pictures come back with their images: replay);
        `format`/`quality`: the exported copies' (png, jpeg, webp; the library keeps PNG); `comfyui`:
        PNGs also carry a ComfyUI `prompt` graph of their recipe.
        `origin` (darkroom.studio.inputs): how the recipe may name inputs and its model: "caller"
        (default; paths as given), "recipe" (default with `base`: a recipe file in the folder
        `base`), "picture" (a recipe read from a picture: sha256 only). Checks that need no model
        (inputs, output folder, sizes) come before the policy; what a refused or failed run took
        in or created is removed again."""
        from darkroom.trust.marking import FORMATS

        if format not in FORMATS or not 1 <= int(quality) <= 100:
            raise InvalidParameter(f"format must be one of {', '.join(FORMATS)} and quality 1-100, "
                                   f"not {format!r}/{quality}")
        recipe = recipe if isinstance(recipe, Recipe) else Recipe.parse(recipe)
        origin = origin or ("recipe" if base is not None else "caller")
        scope = Scope(project or default_project(), consent, bool(label), owner)
        entry = self.registry.resolve(recipe.model.name, allow_path=origin == "caller")
        created = check_output_dir(out_dir) if out_dir is not None and save else []
        taken: list = []
        try:
            recipe, taken = take_inputs(recipe, self.library, scope, base, origin)
            recipe, loras, embeddings = resolve_networks(recipe, entry, self.settings)
            preflight(recipe, entry.native_size, self._input_size)
            plan = previews if isinstance(previews, PreviewPlan) else None
            work = Work(job_id="", recipe=recipe, model=entry, scope=scope, previews=bool(previews),
                        preview_plan=plan, variants=variants, loras=loras, embeddings=embeddings,
                        inputs={sha: self.library.get_bytes(sha) for sha in input_shas(recipe)})
            job = Job(work, owner=owner)
            work.job_id = job.id
            job.audit = RunAudit(self.audit, recipe, scope)
            job.audit.job_id = job.id
            self._warmed_policy()
            job.audit.admit(recipe)
        except BaseException:
            forget_new(self.library, taken, keep=self._inputs_in_use())
            remove_empty_dirs(created)
            raise
        job.taken_inputs, job.created_dirs = taken, created
        job.delivery = Delivery(out_dir=Path(out_dir) if out_dir is not None else None, final_only=final_only,
                                save=save, format=format, quality=int(quality), comfyui=bool(comfyui))
        self.job_records.add(job.id, recipe=recipe.canonical_json(), project=scope.project, owner=owner)
        self._remember(job)
        job.emit("queued")
        self.executor.submit(job)
        return job

    def _input_size(self, ref: str | None):
        """(width, height) of a library picture 'sha256:HEX', from its record; None if unknown."""
        record = self.library.get(ref) if ref else None
        return (record.width, record.height) if record is not None and record.width else None

    def _inputs_in_use(self, but=None) -> set[str]:
        """The inputs of the jobs still queued or running (not `but`): a failed run leaves them."""
        with self._jobs_lock:
            return {sha for j in self._jobs.values() if not j.finished and j is not but for sha in j.work.inputs}

    def _forget_failed(self, job: Job) -> None:
        """A run that ended without saving a picture leaves nothing: the inputs it took in new and
        the output folders it created (if still empty) go again."""
        if job.pictures:
            return
        forget_new(self.library, job.taken_inputs, keep=self._inputs_in_use(but=job))
        remove_empty_dirs(job.created_dirs)

    def run(self, recipe, **options) -> list[Picture]:
        """Submit and wait: the saved pictures."""
        return self.submit(recipe, **options).result()

    def live_jobs(self, owner: str | None = None) -> list[Job]:
        """Queued and running jobs, oldest first; with `owner`, only theirs."""
        with self._jobs_lock:
            jobs = list(self._jobs.values())
        return [j for j in jobs if not j.finished and (owner is None or j.owner == owner)]

    def job(self, job_id: str) -> Job | None:
        with self._jobs_lock:
            return self._jobs.get(job_id)

    def _remember(self, job: Job) -> None:
        with self._jobs_lock:
            self._jobs[job.id] = job
            finished = [j for j in self._jobs.values() if j.finished]
            for old in finished[:max(0, len(finished) - KEEP_FINISHED)]:
                self._jobs.pop(old.id, None)

    def _run(self, job: Job) -> None:
        """One job on a worker thread, from start to its final event."""
        if job.cancel_requested:
            if job.abandoned:  # the studio is shutting down: its record stays queued
                return job.emit("cancelled", error="the studio stopped before the job started")
            self._forget_failed(job)
            return self._finish(job, "cancelled", Cancelled("the job was cancelled before it started"))
        self.job_records.set_state(job.id, "running")
        job.emit("started")
        sink = JobSink(self, job)
        try:
            compute(job.work, engines=self.engines, settings=self.settings, sink=sink,
                    cancelled=lambda: job.cancel_requested, skipped=job.take_skip)
        except Cancelled:
            job.audit.ended("cancel", {"pictures_saved": len(job.pictures)})
            self._forget_failed(job)
            return self._finish(job, "cancelled", Cancelled(cancel_message(job)))
        except DarkroomError as err:
            job.audit.ended("failed", {"error": str(err)[:500]})
            self._forget_failed(job)
            return self._finish(job, "failed", err)
        except Exception as err:  # a bug: keep the traceback for the report, the studio goes on
            traceback.print_exc()
            job.audit.ended("failed", {"error": f"{type(err).__name__}: {err}"[:500]})
            self._forget_failed(job)
            return self._finish(job, "failed", err)
        self._finish(job, "done")

    def _finish(self, job: Job, state: str, error: BaseException | None = None) -> None:
        job.error = error
        self.job_records.set_state(job.id, state, str(error) if error else None)
        job.emit(state, error=str(error) if error else None)

    def variants(self, recipe, *, count: int, vary: str = "seed", step_index: int | None = None, **options) -> Job:
        """A job that makes `count` variants of one step (seed, denoise or cfg) and their contact sheet."""
        return self.submit(recipe, variants={"count": count, "vary": vary, "step_index": step_index}, **options)

    def export(self, image: str, *, out_dir: str | Path, format: str = "png", quality: int = 95) -> Path:
        """A library picture (path or sha256:HEX) as a new file in `format`, marked and signed anew."""
        from darkroom.studio.saving import export_picture

        record = self.find(image)
        return export_picture(self.library, self.audit, record, self.library.get_bytes(record.sha256),
                              out_dir=Path(out_dir), format=format, quality=quality)

    def replay(self, path: str | Path) -> dict:
        """Re-run a picture's embedded recipe: identical, or how it differs and why."""
        from darkroom.studio.replay import replay

        return replay(self, Path(path))

    # ------------------------------------------------------------------ the library and trust
    def find(self, image: str):
        """The library record of a file path or a sha256:HEX reference."""
        from darkroom.errors import ImageError

        if image.startswith("sha256:"):
            record = self.library.get(image)
            if record is None:
                raise ImageError(f"{image} is not in the library")
            return record
        path = Path(image)
        if not path.is_file():
            raise ImageError(f"{image} does not exist")
        record = self.library.find_file(path)
        if record is None:
            raise ImageError(f"{image} is not in the library (its bytes changed, or another studio made it)")
        return record

    def keep(self, image: str):
        """Mark a picture as the kept one of its variant groups: (record, groups)."""
        record = self.find(image)
        return record, self.library.keep(record.sha256)

    def unkeep(self, image: str):
        """The picture is no longer the kept one of any of its variant groups."""
        record = self.find(image)
        self.library.unkeep(record.sha256)
        return record

    def lineage(self, image: str) -> list:
        return self.library.lineage(self.find(image).sha256)

    def verify(self, path: str | Path, *, use_audit: bool = True):
        """Is the file marked as AI-generated, intact, signed, and known to this studio's audit log?"""
        from darkroom.trust.verify import verify_file

        return verify_file(path, self.settings, use_audit=use_audit)

    def verify_bytes(self, data: bytes):
        from darkroom.trust.verify import verify_bytes

        return verify_bytes(data, self.settings)

    def upload(self, data: bytes, *, project: str, guard: bool = False, consent: str | None = None) -> str:
        """An uploaded input picture into the library, metadata stripped: 'sha256:HEX'.
        Consent for photos of people is checked when a job uses it; with `guard`, already here
        (as the CLI does): a photo with a face and no lawful basis (`consent`) raises
        ConsentRequired before anything is stored."""
        from darkroom.errors import ImageError
        from darkroom.scope import check_project
        from darkroom.trust import consent as people
        from darkroom.trust.privacy import sanitize_upload

        try:
            clean = sanitize_upload(data)
        except Exception as err:  # PIL's many error types: one clear message
            raise ImageError(f"the upload is not a readable picture (PNG, JPEG or WebP): {err}") from None
        scope = Scope(check_project(project), consent)
        faces = people.guard_upload(data, self.settings, scope) if guard else None
        sha = self.library.put(clean.data, kind="input", project=scope.project)
        if guard:
            people.note_upload(data, sha, self.settings, scope, faces)
        return "sha256:" + sha

    @property
    def policy(self):
        from darkroom.trust.gate import policy_for

        self._warmed_policy()
        return policy_for(self.settings)

    def analyze_prompt(self, prompt: str):
        """Tokens, 75-token chunks, weights and what BREAK does, with Stable Diffusion's CLIP tokenizer."""
        from darkroom.prompt.analyze import analyze

        with self._jobs_lock:  # one load, also when the first requests come at once
            if self._tokenizer is None:
                from transformers import CLIPTokenizer

                from darkroom.models.engine import CLIP_DIR

                self._tokenizer = CLIPTokenizer.from_pretrained(str(CLIP_DIR), local_files_only=True)
        return analyze(self._tokenizer, prompt)

    def erase_plan(self, *, project: str | None = None, image: str | None = None) -> str:
        """What an erasure would remove, in words (nothing is changed)."""
        from darkroom.trust import erasure

        if project is not None:
            delete, leave = erasure.plan_project(self.settings, project)
            return f"project {project!r}: {len(delete)} file(s)" + (
                f", {len(leave)} shared with other projects (kept for them)" if leave else "")
        sha = erasure.resolve_image(self.library, image)
        return f"picture sha256:{sha[:12]} and {len(self.library.descendants(sha))} descendant(s)"

    def erase(self, *, project: str | None = None, image: str | None = None, exports: bool = False):
        from darkroom.trust import erasure

        if project is not None:
            return erasure.erase_project(self.settings, project, exports=exports)
        return erasure.erase_image(self.settings, image, exports=exports)

    def retention(self, *, dry_run: bool = False, project: str | None = None, now: float | None = None):
        from darkroom.trust import retention

        return retention.run(self.settings, now=now, dry_run=dry_run, project=project)

    def stop_jobs(self) -> list[str]:
        """For a server stopping (safe in a signal handler): cancel the running jobs (they end
        cleanly within a step), leave the queued ones recorded as queued (the next start reports
        them interrupted). Returns the queued job ids."""
        live = self.live_jobs()
        for job in live:
            job.abandoned = job.state == "queued"
            job.cancel()
        return [j.id for j in live if j.abandoned]

    def shutdown(self, timeout: float | None = 60) -> list[str]:
        """`stop_jobs`, then wait for the workers to finish what they were saving."""
        waiting = self.stop_jobs()
        self.executor.shutdown(timeout)
        return waiting

    def close(self, timeout: float | None = 30) -> None:
        """Cancel what is queued or running, let the workers finish their current save, stop them."""
        with self._jobs_lock:
            live = [j for j in self._jobs.values() if not j.finished]
        for job in live:
            job.cancel()
        self.executor.shutdown(timeout)
        for thread in self._warming:  # never leave a load half-way at exit
            thread.join(timeout)

    def __enter__(self) -> "Studio":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def cancel_message(job: Job) -> str:
    if not job.pictures:
        return "the job was cancelled; nothing was saved"
    where = ", ".join(str(p.path or f"sha256:{p.sha256[:12]}") for p in job.pictures)
    return f"the job was cancelled; {len(job.pictures)} picture(s) were saved before it stopped: {where}"


class JobSink:
    """The studio side of a running job: audit events, saved chains, events for the job's readers."""

    def __init__(self, studio: Studio, job: Job):
        self.studio, self.job = studio, job
        self.saved: dict[int, tuple[str, bytes]] = {}  # id(Developed) -> (sha256, file bytes)

    def model_loaded(self, engine) -> None:
        self.job.audit.model_loaded(engine)

    def wants_previews(self) -> bool:
        return self.job.previews_wanted

    def progress(self, where, step, total, preview, preview_x0) -> None:
        self.job.emit("step", batch_index=where.batch_index, step_index=where.step_index, op=where.op, step=step,
                      total=total, preview=preview, preview_x0=preview_x0)

    def step_done(self, developed) -> None:
        self.job.audit.step_done(developed)

    def chain_done(self, chain: list) -> list[Picture]:
        """Save one chain's pictures, parents first; each becomes a `picture` event."""
        return [self._save(developed) for developed in chain]

    def variants_done(self, before: list, variants: list) -> None:
        self.chain_done(before)
        made = self.chain_done([developed for _, developed in variants])
        labelled = [(label, picture) for (label, _), picture in zip(variants, made)]
        if self.job.delivery.save:
            from darkroom.studio.variants import save_contact_sheet

            self.job.sheet = save_contact_sheet(self.studio, self.job, labelled,
                                                [developed.image for _, developed in variants])
        self.job.variants = labelled

    def _save(self, developed) -> Picture:
        job, studio = self.job, self.studio
        delivery = job.delivery
        if not delivery.save:
            picture = Picture(sha256="", path=None, recipe=developed.recipe, parent=None, infotext=developed.infotext,
                              op=developed.op, step_index=developed.step_index, batch_index=developed.batch_index,
                              final=developed.final, width=developed.image.width, height=developed.image.height,
                              image=developed.image, audit_ref=developed.audit_ref)
            job.emit("picture", picture=picture)
            return picture
        parent = self.saved.get(id(developed.parent)) if developed.parent is not None else None
        exported = delivery.out_dir if (developed.final or not delivery.final_only) else None
        picture, data = save_picture(developed, library=studio.library, audit=studio.audit,
                                     project=job.work.scope.project, out_dir=exported, parent=parent,
                                     stored=lambda sha: studio.job_records.add_picture(job.id, sha),
                                     format=delivery.format, quality=delivery.quality, comfyui=delivery.comfyui)
        self.saved[id(developed)] = (picture.sha256, data)
        job.emit("picture", picture=picture)
        return picture


def check_output_dir(out_dir) -> list[Path]:
    """The output folder is usable (created if missing) before anything is computed; returns the
    folders created, which a refused or failed run removes again while they are empty."""
    try:
        return prepare_output_dir(Path(out_dir))
    except OutputFolderError as err:
        raise InvalidParameter(str(err)) from None
