"""The learning mode over HTTP: /api/v1/learn lists the lessons (with their texts), POST
/api/v1/learn/{name}/runs starts one, GET /api/v1/learn/runs/{id}/events streams it as
Server-Sent Events (figures, step previews, pictures, plots as SVG, numbers), as the native API
streams a job. The pictures are saved through the server's Studio into the library, so every one
of them opens in the studio; a filmstrip's job asks for a preview at every step (lesson 1), the
others for the studio's paced previews.
"""

from __future__ import annotations

import base64
import json
import shutil
import tempfile
import threading
import time
import uuid
from pathlib import Path

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import FileResponse, StreamingResponse
from pydantic import BaseModel, Field, field_validator

from darkroom.develop.fields import check_text
from darkroom.errors import Cancelled, DarkroomError
from darkroom.serve.app import ERRORS, caller
from darkroom.serve.native import image_data_url, project_for, studio_of
from darkroom.serve.users import LOCAL, User

router = APIRouter(responses=ERRORS)
API = "/api/v1/learn"
PAGE = Path(__file__).resolve().parents[1] / "web" / "learn.html"
KEEP_RUNS = 32
FINAL = ("done", "failed", "cancelled")
_lock = threading.Lock()


class LessonRequest(BaseModel):
    lang: str = Field("en", pattern="^(en|de)$", description="language of the texts")
    short: bool = Field(False, description="the short form: fewer seeds and steps")
    model: str = Field("darkroom-mini", max_length=200, description="registered model name")
    prompt: str | None = Field(None, max_length=2000, description="the lesson's prompt instead of its own")
    seed: int | None = Field(None, ge=0, le=2**32 - 1, description="the lesson's seed instead of its own")
    project: str | None = Field(None, description="library project (default: your user name)")

    @field_validator("prompt")
    @classmethod
    def _plain_text(cls, value: str | None) -> str | None:
        check_text(value, "prompt")
        return value


class LessonRun:
    """One lesson running in a thread; its events are kept for every reader (like a Job's)."""

    def __init__(self, owner: str):
        self.id, self.owner = uuid.uuid4().hex, owner
        self.events: list[dict] = []
        self.changed = threading.Condition()
        self.cancel = False
        self.finished = False

    def emit(self, data: dict) -> None:
        with self.changed:
            self.events.append(data)
            self.finished = self.finished or data["kind"] in FINAL
            self.changed.notify_all()

    def stream(self):
        seen = 0
        while True:
            with self.changed:
                self.changed.wait_for(lambda seen=seen: len(self.events) > seen, timeout=15)
                batch = self.events[seen:]
            if not batch:
                yield ": still running\n\n"
                continue
            seen += len(batch)
            for data in batch:
                yield f"event: {data['kind']}\ndata: {json.dumps(data)}\n\n"
            if batch[-1]["kind"] in FINAL:
                return


def lesson_runs(request: Request) -> dict[str, LessonRun]:
    """The server's lesson runs by id (the latest KEEP_RUNS finished ones, and those running)."""
    state = request.app.state
    with _lock:
        if getattr(state, "learn_runs", None) is None:
            state.learn_runs = {}
        return state.learn_runs


def own_run(request: Request, user: User, run_id: str) -> LessonRun:
    run = lesson_runs(request).get(run_id)
    if run is None or (not user.admin and run.owner != user.name):
        raise HTTPException(404, f"no lesson run {run_id} of yours")
    return run


@router.get("/learn", include_in_schema=False)
def page() -> FileResponse:
    """The learning mode's page of the web studio."""
    return FileResponse(PAGE, media_type="text/html")


@router.get(API)
def lessons(lang: str = "en", user: User = Depends(caller)) -> dict:
    """The lessons, and every text of the learning mode in `lang` (en, de)."""
    from darkroom.learn import catalog
    from darkroom.learn.texts import LANGUAGES, TEXTS

    if lang not in LANGUAGES:
        raise HTTPException(422, f"language {lang!r}: choose one of {', '.join(LANGUAGES)}")
    return {"lessons": catalog(lang), "texts": {**TEXTS["en"], **TEXTS[lang]}}


@router.post(API + "/{name}/runs", status_code=202)
def start(name: str, body: LessonRequest, request: Request, user: User = Depends(caller)) -> dict:
    from darkroom.learn import find

    lesson = find(name)
    studio = studio_of(request)
    studio.registry.resolve(body.model, allow_path=False)
    runs = lesson_runs(request)
    if any(r.owner == user.name and not r.finished for r in runs.values()):
        raise HTTPException(429, "one of your lessons is still running; wait for it or cancel it")
    run = LessonRun(user.name)
    project = project_for(request, user, body.project or ("learn" if user is LOCAL else None))
    if body.prompt is not None:
        admit_prompt(studio, body, project, user)
    options = {k: v for k, v in (("prompt", body.prompt), ("seed", body.seed)) if v is not None}
    with _lock:
        runs[run.id] = run
        for old in [r for r in runs.values() if r.finished][:-KEEP_RUNS]:
            runs.pop(old.id, None)
    threading.Thread(target=execute, args=(studio, run, lesson.name, body, project, options), daemon=True,
                     name=f"darkroom-lesson-{run.id[:8]}").start()
    return {"id": run.id, "lesson": lesson.name, "events": f"/api/v1/learn/runs/{run.id}/events"}


@router.get(API + "/runs/{run_id}/events")
def run_events(run_id: str, request: Request, user: User = Depends(caller)):
    """Server-Sent Events of a lesson run from its first: figure, step, picture, plot, table, done | failed."""
    run = own_run(request, user, run_id)
    return StreamingResponse(run.stream(), media_type="text/event-stream", headers={"Cache-Control": "no-store"})


@router.post(API + "/runs/{run_id}/cancel")
def cancel(run_id: str, request: Request, user: User = Depends(caller)) -> dict:
    own_run(request, user, run_id).cancel = True
    return {"id": run_id, "cancel_requested": True}


def admit_prompt(studio, body: LessonRequest, project: str, user: User) -> None:
    """A prompt of the caller's is checked (text, policy, logged) before the lesson starts, as a job's
    is before it is queued: 422 or 403 now rather than a failed run later."""
    from darkroom.develop.recipe import Recipe
    from darkroom.scope import Scope
    from darkroom.trust.gate import RunAudit

    recipe = Recipe.model_validate({"model": {"name": body.model}, "steps": [{"op": "generate", "prompt": body.prompt}]})
    RunAudit(studio.audit, recipe, Scope(project, None, False, user.name)).admit(recipe)


def execute(studio, run: LessonRun, name: str, body: LessonRequest, project: str, options: dict) -> None:
    from darkroom.learn import run_lesson
    from darkroom.learn.texts import terms

    folder = Path(tempfile.mkdtemp(prefix="darkroom-lesson-"))  # exported copies; the library keeps the pictures
    try:
        result = run_lesson(studio, name, out_dir=folder, lang=body.lang, short=body.short, model=body.model,
                            options=options, project=project, emit=lambda kind, data: run.emit(event(kind, data)),
                            cancelled=lambda: run.cancel, live=True)
        numbers = json.loads(json.dumps(terms(body.lang, result.numbers), default=str))
        run.emit({"kind": "done", "seconds": result.seconds, "numbers": numbers,
                  "takeaway": result.takeaway, "time": time.time()})
    except Cancelled as err:
        run.emit({"kind": "cancelled", "error": str(err)})
    except DarkroomError as err:
        run.emit({"kind": "failed", "error": str(err)})
    except Exception as err:  # a bug: the reader learns of it, the server goes on
        run.emit({"kind": "failed", "error": f"{type(err).__name__}: {err}"})
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def event(kind: str, data: dict) -> dict:
    """A lab event as JSON: pictures by their library file (or as data URLs), plots as SVG."""
    figure = data["figure"]
    out = {"kind": kind, "figure": figure.id}
    if kind == "figure":
        out.update(type=figure.kind, caption=figure.caption, columns=figure.columns)
    elif kind == "step":
        out.update(step=data["step"], total=data["total"], x_t=image_data_url(data["x_t"]),
                   x0=image_data_url(data["x0"]))
    elif kind == "picture":
        shot = data["shot"]
        out.update(label=shot.label, sha256=shot.sha256, recipe=shot.recipe, reading=shot.reading,
                   src=f"/api/v1/pictures/{shot.sha256}/file" if shot.sha256 else image_data_url(shot.image))
    elif kind == "plot":
        svg = data["plot"].svg()
        out.update(svg="data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode(),
                   title=data["plot"].title, data=data["plot"].data())
    elif kind == "table":
        out.update(rows=data["rows"])
    return out
