"""The learning mode: lessons that show, on a real model, how noise becomes an image.

Each lesson is one module with `run(lab)`: recipes go to the Studio (darkroom.learn.lab.Lab), pictures,
plots and numbers come back, so a lesson is a reproducible experiment. Texts (en, de) are in texts.py;
page.py writes a lesson's folder (pictures, plots, numbers, an HTML page).

    from darkroom.learn import run_lesson
    result = run_lesson(studio, "guidance", out_dir=Path("out/guidance"), lang="de")
"""

from __future__ import annotations

import importlib
import time
from dataclasses import dataclass
from pathlib import Path

from darkroom.errors import InvalidParameter
from darkroom.learn.texts import LANGUAGES, text


@dataclass(frozen=True)
class Lesson:
    number: int
    name: str
    any_model: bool  # makes sense without the checker (on a user's own model)

    def available(self) -> bool:
        if self.name == "training":
            from darkroom.learn.training import available

            return available()
        return True


LESSONS = [Lesson(1, "noise", True), Lesson(2, "seeds", True), Lesson(3, "guidance", True),
           Lesson(4, "samplers", False), Lesson(5, "tokens", True), Lesson(6, "hires", True),
           Lesson(7, "inpaint", True), Lesson(8, "training", False), Lesson(9, "schedule", False)]


def studio_settings() -> dict:
    """The Settings a one-shot `darkroom learn run` opens its Studio with: a lesson queues its runs at once and
    the studio runs them side by side, one job per core (up to 4), one torch thread each: on darkroom-mini a
    second thread makes a job little faster, a second job at once nearly doubles the pace, and every picture
    records the one thread that made it (replay uses it). DARKROOM_JOBS and DARKROOM_THREADS, where set, win."""
    import os

    settings = {}
    if "DARKROOM_JOBS" not in os.environ:
        settings["concurrent_jobs"] = max(1, min(4, os.cpu_count() or 1))
    if "DARKROOM_THREADS" not in os.environ:
        settings["threads"] = 1
    return settings


def find(name: str) -> Lesson:
    """A lesson by name or number."""
    for lesson in LESSONS:
        if name.strip().lower() in (lesson.name, str(lesson.number)):
            return lesson
    raise InvalidParameter(f"no lesson {name!r}; choose one of: "
                           + ", ".join(f"{l.number} {l.name}" for l in LESSONS))


def catalog(lang: str) -> list[dict]:
    """The lessons with their titles and introductions in `lang`."""
    return [{"number": l.number, "name": l.name, "title": text(lang, f"{l.name}.title"),
             "intro": text(lang, f"{l.name}.intro"), "any_model": l.any_model, "available": l.available()}
            for l in LESSONS]


def run_lesson(studio, name: str, *, out_dir: Path, lang: str = "en", short: bool = False,
               model: str = "darkroom-mini", emit=None, options: dict | None = None, cancelled=lambda: False,
               project: str = "learn", live: bool = False):
    """Run one lesson; returns its darkroom.learn.lab.Result. Pictures are saved through `studio`
    (copies in out_dir/pictures); `emit(kind, data)` sees figures, step previews and pictures live
    (`live`: someone watches, so every run that shows pictures also streams step previews)."""
    from darkroom.learn.lab import MINI, Lab

    lesson = find(name)
    if lang not in LANGUAGES:
        raise InvalidParameter(f"language {lang!r}: choose one of {', '.join(LANGUAGES)}")
    if model != MINI and not lesson.any_model:
        raise InvalidParameter(f"lesson {lesson.number} ({lesson.name}) measures with darkroom-mini's checker; "
                               "run it on darkroom-mini")
    studio.registry.resolve(model, allow_path=False)  # an unknown model fails here, before anything runs
    lab = Lab(studio, lesson=lesson.name, model=model, lang=lang, short=short, out_dir=Path(out_dir),
              emit=emit, options=options, cancelled=cancelled, project=project, live=live)
    started = time.perf_counter()
    importlib.import_module(f"darkroom.learn.{lesson.name}").run(lab)
    return lab.result(time.perf_counter() - started)
