"""The lab a lesson runs in: recipes go to the Studio, pictures, plots and numbers come back.

    lab = Lab(studio, lesson="seeds", out_dir=Path("out/seeds"), emit=print)
    row = lab.figure("row", "pictures", columns=8)
    lab.generate(row, "seed 1", prompt="a large red circle...", seed=1)
    shots = lab.generate_all(row, [(f"seed {s}", None, {"prompt": "a red circle", "seed": s}) for s in (2, 3)])

Every picture is made by a Studio job and saved like any picture (library row, recipe, marks),
so it can be replayed or opened in the studio. Measurements that only count (the checker's
rates over dozens of seeds) run with `save=False`: their recipes are kept in the numbers, their
pixels are not. Runs that do not wait for each other are queued at once (`run_all`, `generate_all`,
`measure`): a studio with several workers makes them side by side. `emit(kind, data)` sees every
figure, step preview and picture as it appears. Step previews are made for a filmstrip (every step:
they are the figure) and, paced as the studio paces them, for `live` watchers (the browser); a lesson
in the CLI decodes no others.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

from PIL import Image

from darkroom.learn import checks
from darkroom.learn.texts import term, text

MINI = "darkroom-mini"


@dataclass
class Shot:
    label: str
    image: Image.Image
    sha256: str | None = None  # the library picture (None: a preview or an illustration)
    recipe: dict | None = None
    file: str | None = None  # the exported copy, relative to the lesson folder
    reading: dict | None = None  # what the checker reads in it (darkroom-mini only)


@dataclass
class Figure:
    id: str
    kind: str  # pictures | filmstrip | plot | table
    caption: str
    columns: int = 0
    shots: list[Shot] = field(default_factory=list)
    frames: list[dict] = field(default_factory=list)  # filmstrip: {"step", "total", "x_t", "x0"} (PIL images)
    plot: Any = None  # darkroom.learn.plots.Plot
    rows: list[list[str]] = field(default_factory=list)  # table: the first row is the header


@dataclass
class Result:
    lesson: str
    title: str
    intro: str
    takeaway: str
    model: str
    short: bool
    figures: list[Figure]
    numbers: dict
    seconds: float
    images: int = 0  # pictures the lesson's jobs made (the measurements' too)


def has_preview(event) -> bool:
    return event.preview is not None or event.preview_x0 is not None


class Lab:
    def __init__(self, studio, *, lesson: str, model: str = MINI, lang: str = "en", short: bool = False,
                 out_dir: Path, project: str = "learn", emit: Callable[[str, dict], None] | None = None,
                 options: dict | None = None, cancelled: Callable[[], bool] = lambda: False, live: bool = False):
        self.studio, self.lesson, self.model, self.lang, self.short = studio, lesson, model, lang, short
        self.live = live
        self.out_dir, self.project = Path(out_dir), project
        self.emit = emit or (lambda kind, data: None)
        self.options = options or {}
        self.cancelled = cancelled
        self.figures: list[Figure] = []
        self.numbers: dict = {}
        self.made = 0  # pictures the jobs returned

    @property
    def mini(self) -> bool:
        """The checker reads darkroom-mini's world only: its numbers are measured on that model alone."""
        return self.model == MINI

    def t(self, key: str, **values) -> str:
        return text(self.lang, f"{self.lesson}.{key}", **values)

    def term(self, shown: str) -> str:
        """A label, header or series name in the lesson's language (darkroom.learn.texts.TERMS)."""
        return term(self.lang, shown)

    def pick(self, full, short):
        return short if self.short else full

    # ------------------------------------------------------------------ figures
    def figure(self, key: str, kind: str, columns: int = 0, **values) -> Figure:
        figure = Figure(f"{self.lesson}-{key}", kind, self.t(key, **values), columns)
        self.figures.append(figure)
        self.emit("figure", {"figure": figure})
        return figure

    def add(self, figure: Figure, shot: Shot) -> Shot:
        shot.label = self.term(shot.label)
        figure.shots.append(shot)
        self.emit("picture", {"figure": figure, "shot": shot})
        return shot

    def plot(self, figure: Figure, plot) -> None:
        plot.x_label, plot.y_label = self.term(plot.x_label), self.term(plot.y_label)
        plot.series = {self.term(name): xy for name, xy in plot.series.items()}
        plot.bands = {self.term(name): band for name, band in plot.bands.items()}
        figure.plot = plot
        self.emit("plot", {"figure": figure, "plot": plot})

    def table(self, figure: Figure, rows: list[list[str]]) -> None:
        """`rows`: the first is the header (shown in the lesson's language), the others are data."""
        rows = [[self.term(cell) for cell in rows[0]], *rows[1:]] if rows else rows
        figure.rows = rows
        self.emit("table", {"figure": figure, "rows": rows})

    # ------------------------------------------------------------------ recipes through the Studio
    def recipe(self, *steps: dict) -> dict:
        return {"darkroom_recipe": 1, "model": {"name": self.model}, "steps": list(steps)}

    def submit(self, recipe: dict, *, save: bool = True, previews=False, **options):
        if self.cancelled():
            from darkroom.errors import Cancelled

            raise Cancelled("the lesson was stopped")
        out = self.out_dir / "pictures" if save else None
        return self.studio.submit(recipe, project=self.project, previews=previews, save=save, out_dir=out,
                                  **options)

    def preview_plan(self, figure: Figure | None, previews: bool):
        """What previews a run for `figure` makes: every step for a filmstrip, paced ones for live watchers."""
        from darkroom.studio import EVERY_STEP

        if not previews or figure is None:
            return False
        return EVERY_STEP if figure.kind == "filmstrip" else self.live

    def start(self, recipe: dict, *, figure: Figure | None = None, previews: bool = False, save: bool = True,
              **options):
        """Queue a recipe (its job runs when a worker of the studio is free); `finish` waits for it."""
        return self.submit(recipe, save=save, previews=self.preview_plan(figure, previews), **options)

    def finish(self, job, figure: Figure | None = None) -> tuple[list, float]:
        """Wait for a job: (its pictures, seconds of computing from start to end). Step previews go to
        `emit` for `figure` (and into it, for a filmstrip) as they come."""
        started = ended = None
        for event in job.events():
            if event.kind == "started":
                started = event.time
            elif event.kind in ("done", "failed", "cancelled"):
                ended = event.time
            elif event.kind == "step" and figure is not None and has_preview(event):
                self._step(figure, event)
            if self.cancelled():
                job.cancel()
        pictures = job.result()
        self.made += len(pictures)
        return pictures, (ended or time.time()) - (started or time.time())

    def run_all(self, runs: list[tuple[dict, Figure | None]], *, previews: bool = False, save: bool = True
                ) -> Iterator[tuple[list, float]]:
        """Several (recipe, figure) runs, queued now (the studio runs as many together as it has workers): each
        one's (pictures, seconds) in the order of `runs`, as it ends. Jobs still queued when the caller stops
        or fails are cancelled."""
        jobs = [(self.start(recipe, figure=figure, previews=previews, save=save), figure) for recipe, figure in runs]
        return self._finish_all(jobs)

    def _finish_all(self, jobs: list) -> Iterator[tuple[list, float]]:
        try:
            for job, figure in jobs:
                yield self.finish(job, figure)
        finally:
            for job, _ in jobs:
                job.cancel()

    def _step(self, figure: Figure, event) -> None:
        frame = {"step": event.step, "total": event.total, "x_t": event.preview, "x0": event.preview_x0}
        if figure.kind == "filmstrip":
            figure.frames.append(frame)
        self.emit("step", {"figure": figure, **frame})

    def shot(self, picture, label: str) -> Shot:
        """A saved picture as a Shot (pixels read back from its exported copy)."""
        if picture.image is not None:
            image = picture.image
        else:
            with Image.open(picture.path) as file:
                image = file.convert("RGB")
        relative = Path(picture.path).relative_to(self.out_dir).as_posix() if picture.path else None
        return Shot(label, image, picture.sha256 or None, picture.recipe.model_dump(mode="json"), relative)

    def generate(self, figure: Figure | None, label: str, *, previews: bool = False, scene=None, timed=False,
                 **step):
        """One generate step, saved, shown in `figure` (with the checker's reading on darkroom-mini);
        `timed`: (the Shot, the job's seconds from start to end, saving included)."""
        return self.generate_all(figure, [(label, scene, step)], previews=previews, timed=timed)[0]

    def generate_all(self, figure: Figure | None, items: list[tuple[str, Any, dict]], *, previews: bool = False,
                     timed: bool = False) -> list:
        """Several generate steps [(label, scene, step)] queued at once, shown in `figure` in that order as
        each ends: their Shots (with `timed`, (Shot, seconds) pairs)."""
        runs = [(self.recipe({"op": "generate", **step}), figure) for _, _, step in items]
        out = []
        for (label, scene, _), (pictures, took) in zip(items, self.run_all(runs, previews=previews)):
            shot = self.show(figure, pictures[-1], label, scene)
            out.append((shot, took) if timed else shot)
        return out

    def show(self, figure: Figure | None, picture, label: str, scene=None) -> Shot:
        """A saved picture as a Shot with the checker's reading (darkroom-mini), added to `figure`."""
        shot = self.shot(picture, label)
        if self.mini:
            shot.reading = checks.reading(shot.image, scene)
        return self.add(figure, shot) if figure is not None else shot

    def measure(self, recipes: list[dict]) -> list[list[Image.Image]]:
        """The final pictures of several runs that save nothing, all queued at once, in the order of `recipes`."""
        return [[p.image for p in pictures if p.final] for pictures, _ in
                self.run_all([(recipe, None) for recipe in recipes], save=False)]

    def result(self, seconds: float) -> Result:
        return Result(self.lesson, self.t("title"), self.t("intro"), self.t("takeaway"), self.model, self.short,
                      self.figures, self.numbers, round(seconds, 2), self.made)

    def variants(self, recipes: list[dict], **request) -> list[tuple]:
        """Variants jobs, queued at once (in each, the steps before the varied one run once): per recipe
        (the picture those steps made, [(label, picture)])."""
        jobs = [self.studio.variants(recipe, project=self.project, out_dir=self.out_dir / "pictures", **request)
                for recipe in recipes]
        out = []
        try:
            for job in jobs:
                pictures, _ = self.finish(job)
                before = [p for p in pictures if p.step_index < (request.get("step_index") or 0)]
                out.append(((before[-1] if before else None), list(job.variants)))
        finally:
            for job in jobs:
                job.cancel()
        return out
