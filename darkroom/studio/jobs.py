"""A job: one recipe run for one scope, seen from outside as a stream of events.

    job = studio.submit(recipe, project="p1", previews=True)
    for event in job.events():      # blocking; every reader sees every event from the start
        ...
    job.cancel()                    # from any thread; takes effect within one denoising step
    pictures = job.result(timeout=600)

Events: queued, started, step (progress, optional previews), picture (each saved picture, as
soon as it exists), and last one of done, failed, cancelled.
"""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Iterator

from darkroom.errors import Cancelled, DarkroomError, InvalidParameter

FINAL = ("done", "failed", "cancelled")
KEEP_PREVIEWS = 8  # step events that keep their preview pictures (older ones drop them)


@dataclass
class Picture:
    """A saved picture: where it is, what it is, what made it."""

    sha256: str
    path: Any  # pathlib.Path of the exported copy, or None (library only)
    recipe: Any  # darkroom.develop.recipe.Recipe: reproduces this picture alone
    parent: str | None
    infotext: str
    op: str
    step_index: int
    batch_index: int
    final: bool
    width: int
    height: int
    image: Any = None  # the PIL image, only for runs that save nothing (replay)
    audit_ref: str | None = None  # the audit step event the picture belongs to
    group: str | None = None  # a contact sheet: its variant group


@dataclass(frozen=True)
class PreviewPlan:
    """How often a job shows step previews (darkroom.develop.previews.PreviewPace): `every` N steps, or
    paced by time, at least `interval` seconds apart (0: every step). None in a job: the settings'."""

    interval: float = 0.25
    every: int = 0

    def __post_init__(self):
        if not (0 <= self.interval <= 3600 and 0 <= self.every <= 10_000):
            raise InvalidParameter(f"previews: interval must be 0-3600 s and every 0-10000 steps, "
                                   f"not {self.interval}/{self.every}")


EVERY_STEP = PreviewPlan(interval=0.0)


@dataclass
class Delivery:
    """Where and how a job's pictures go."""

    out_dir: Any = None  # pathlib.Path for exported copies; None: the library only
    final_only: bool = False  # export only the last step's pictures (the others: library only)
    save: bool = True  # False: nothing is stored, the pictures come back with their images (replay)
    format: str = "png"  # of the exported copies (the library keeps PNG)
    quality: int = 95
    comfyui: bool = False  # PNGs also carry a ComfyUI `prompt` graph of their recipe


@dataclass
class JobEvent:
    kind: str  # queued | started | step | picture | done | failed | cancelled
    job_id: str
    time: float = field(default_factory=time.time)
    batch_index: int | None = None  # step: which chain (batch image)
    step_index: int | None = None  # step: which recipe step
    op: str | None = None
    step: int | None = None  # step: denoising step done, of `total`
    total: int | None = None
    preview: Any = None  # step: PIL image of the current latents (when previews were asked for)
    preview_x0: Any = None  # step: PIL image of the predicted final picture
    picture: Picture | None = None  # picture
    error: str | None = None  # failed / cancelled: the message


class Job:
    def __init__(self, work, *, owner: str | None = None):
        self.id = uuid.uuid4().hex
        self.work = work
        self.owner = owner
        self.state = "queued"
        self.pictures: list[Picture] = []
        self.error: DarkroomError | BaseException | None = None
        self._events: list[JobEvent] = []
        self._changed = threading.Condition()
        self._cancel = threading.Event()
        self._skip = threading.Event()
        self._previews: list[JobEvent] = []
        self.previews_wanted = bool(getattr(work, "previews", False))
        # set by the studio: how the job is audited and delivered, what it took in, what variants made
        self.audit = None  # darkroom.trust.gate.RunAudit
        self.delivery = Delivery()
        self.taken_inputs: list = []  # inputs the submission took in (a run that saves nothing removes new ones)
        self.created_dirs: list = []  # output folders it created (removed again while empty)
        self.variants: list[tuple[str, Picture]] = []
        self.sheet: Picture | None = None
        self.abandoned = False  # the studio stopped before it ran: its record stays "queued"

    # ------------------------------------------------------------------ what callers use
    def events(self, timeout: float | None = None) -> Iterator[JobEvent]:
        """Every event from the first, blocking until the next; ends after the final one."""
        seen = 0
        while True:
            with self._changed:
                if not self._changed.wait_for(lambda: len(self._events) > seen, timeout):
                    raise TimeoutError(f"job {self.id}: no event within {timeout} s")
                batch = self._events[seen:]
            seen += len(batch)
            yield from batch
            if batch[-1].kind in FINAL:
                return

    def cancel(self) -> None:
        self._cancel.set()

    def want_previews(self) -> None:
        """From now on, step events carry preview pictures (e.g. someone started watching)."""
        self.previews_wanted = True

    def skip(self) -> None:
        """Give up the batch image being made and go on with the next (A1111's skip)."""
        self._skip.set()

    def take_skip(self) -> bool:
        """True once per skip request (the worker consumes it)."""
        if self._skip.is_set():
            self._skip.clear()
            return True
        return False

    def latest_preview(self):
        """The newest preview picture (predicted x0 where there is one), or None."""
        with self._changed:
            for event in reversed(self._previews):
                if event.preview_x0 is not None:
                    return event.preview_x0
                if event.preview is not None:
                    return event.preview
        return None

    def last_event(self, kind: str) -> "JobEvent | None":
        with self._changed:
            return next((e for e in reversed(self._events) if e.kind == kind), None)

    @property
    def cancel_requested(self) -> bool:
        return self._cancel.is_set()

    def check_cancel(self) -> None:
        if self._cancel.is_set():
            raise Cancelled("the job was cancelled")

    @property
    def finished(self) -> bool:
        return self.state in FINAL

    def wait(self, timeout: float | None = None) -> bool:
        with self._changed:
            return self._changed.wait_for(lambda: self.state in FINAL, timeout)

    def result(self, timeout: float | None = None) -> list[Picture]:
        """The saved pictures, once the job is done; raises the job's error if it failed or was cancelled."""
        if not self.wait(timeout):
            raise TimeoutError(f"job {self.id} is still {self.state} after {timeout} s")
        if self.error is not None:
            raise self.error
        return list(self.pictures)

    # ------------------------------------------------------------------ what the executor uses
    def emit(self, kind: str, **fields) -> JobEvent:
        event = JobEvent(kind, self.id, **fields)
        with self._changed:
            if kind == "picture":
                self.pictures.append(event.picture)
            if event.preview is not None or event.preview_x0 is not None:
                self._keep_only_latest_preview(event)
            if kind in ("started", *FINAL):
                self.state = "running" if kind == "started" else kind
            self._events.append(event)
            self._changed.notify_all()
        return event

    def _keep_only_latest_preview(self, event: JobEvent) -> None:
        """Previews are for watching, not for keeping: only the latest few step events keep theirs."""
        self._previews.append(event)
        if len(self._previews) > KEEP_PREVIEWS:
            old = self._previews.pop(0)
            old.preview = old.preview_x0 = None

    def __repr__(self) -> str:
        return f"<Job {self.id[:8]} {self.state}, {len(self.pictures)} pictures>"
