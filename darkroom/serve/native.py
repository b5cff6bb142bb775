"""The native API, /api/v1: jobs (with Server-Sent Events), pictures, the library, models,
the recipe schema, prompt analysis, policy, verification, audit, retention and erasure.

Request bodies are the studio's own pydantic models (a job carries a `Recipe`), so the
OpenAPI schema and the validation come from the one declaration of every step parameter.
A user sees, downloads, cancels and erases only what is theirs; an admin sees all.
"""

from __future__ import annotations

import base64
import datetime as dt
import io
import json
import math
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import Response, StreamingResponse
from starlette.concurrency import run_in_threadpool
from pydantic import Base64Bytes, BaseModel, Field, StringConstraints

from darkroom.develop.fields import MAX_TEXT
from darkroom.develop.recipe import Recipe
from darkroom.errors import DarkroomError, ImageError
from darkroom.scope import BASES
from darkroom.serve.app import ERRORS, admin, caller, request_language
from darkroom.serve.messages import say
from darkroom.serve.users import LOCAL, Forbidden, User

router = APIRouter(prefix="/api/v1", responses=ERRORS)
Basis = Literal[BASES]  # type: ignore[valid-type]


INPUT_NAME = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
MAX_INPUTS = 16


class JobRequest(BaseModel):
    recipe: Recipe
    inputs: dict[Annotated[str, StringConstraints(pattern=INPUT_NAME)], Base64Bytes] = Field(
        default_factory=dict, max_length=MAX_INPUTS,
        description="pictures the recipe names by these names instead of sha256 (`\"image\": \"mask-1.png\"`), "
                    "base64: stored (metadata stripped) only when the job is admitted, removed again if it fails "
                    "without a picture")
    project: str | None = Field(None, description="library project (default: your user name)")
    consent: Basis | None = Field(None, description="lawful basis you confirm for photos of people among the inputs")
    label: bool = Field(False, description="draw 'KI-generiert / AI-generated' into pictures made from such photos")
    previews: bool = Field(False, description="step events carry preview pictures")


class PolicyRequest(BaseModel):
    prompt: str = Field(max_length=MAX_TEXT)
    negative_prompt: str = Field("", max_length=MAX_TEXT)


class PromptRequest(BaseModel):
    prompt: str = Field(max_length=MAX_TEXT)


class EraseRequest(BaseModel):
    project: str | None = None
    image: str | None = None
    dry_run: bool = False


class RetentionRequest(BaseModel):
    project: str | None = None
    dry_run: bool = True


# ---------------------------------------------------------------------------- helpers
def studio_of(request: Request):
    return request.app.state.studio


def project_for(request: Request, user: User, project: str | None) -> str:
    """The project a request works in: given, or the user's own; claimed for the user on first use."""
    from darkroom.scope import check_project, default_project

    if user is LOCAL:
        return check_project(project or default_project())
    project = check_project(project or user.name)
    request.app.state.users.claim_project(project, user)
    return project


def visible_projects(request: Request, user: User) -> set[str] | None:
    """None: everything (admin or the local user)."""
    return None if user.admin else request.app.state.users.projects_of(user)


def picture_json(picture) -> dict:
    return {"sha256": picture.sha256, "op": picture.op, "step_index": picture.step_index,
            "batch_index": picture.batch_index, "final": picture.final, "width": picture.width,
            "height": picture.height, "parent": picture.parent, "infotext": picture.infotext,
            "recipe": picture.recipe.model_dump(mode="json") if picture.recipe is not None else None,
            "file": f"/api/v1/pictures/{picture.sha256}/file"}


def record_json(record) -> dict:
    return {"sha256": record.sha256, "kind": record.kind, "op": record.op, "step_index": record.step_index,
            "width": record.width, "height": record.height, "parent": record.parent_sha256,
            "project": record.project, "created": record.created,
            "recipe": json.loads(record.recipe) if record.recipe else None,
            "file": f"/api/v1/pictures/{record.sha256}/file"}


def job_json(studio, job_id: str) -> dict:
    job = studio.job(job_id)
    stored = studio.job_records.get(job_id)
    if job is not None:
        state, pictures = job.state, [picture_json(p) for p in job.pictures]
        error = str(job.error) if job.error else None
    else:
        state, error = stored.state, stored.error
        pictures = [record_json(r) for r in map(studio.library.get, stored.pictures) if r is not None]
    return {"id": job_id, "state": state, "owner": stored.owner if stored else None,
            "project": stored.project if stored else None, "created": stored.created if stored else None,
            "error": error, "pictures": pictures, "events": f"/api/v1/jobs/{job_id}/events"}


def own_job(request: Request, user: User, job_id: str):
    stored = studio_of(request).job_records.get(job_id)
    if stored is None or (not user.admin and stored.owner != user.name):
        raise HTTPException(404, f"no job {job_id} of yours")
    return stored


def own_picture(request: Request, user: User, sha256: str):
    studio = studio_of(request)
    record = studio.library.get(sha256)
    visible = visible_projects(request, user)
    if record is None or (visible is not None and not set(studio.library.projects(record.sha256)) & visible):
        raise HTTPException(404, f"no picture sha256:{sha256[:12]} of yours")
    return record


def image_data_url(image, kind: str = "PNG") -> str | None:
    if image is None:
        return None
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, format=kind)
    return f"data:image/{kind.lower()};base64," + base64.b64encode(buffer.getvalue()).decode()


def event_json(event) -> dict:
    data = {"kind": event.kind, "job": event.job_id, "time": event.time}
    if event.kind == "step":
        data.update(batch_index=event.batch_index, step_index=event.step_index, op=event.op, step=event.step,
                    total=event.total, preview=image_data_url(event.preview),
                    preview_x0=image_data_url(event.preview_x0))
    if event.picture is not None:
        data["picture"] = picture_json(event.picture)
    if event.error:
        data["error"] = event.error
    return data


async def read_upload(request: Request) -> bytes:
    """The request body, refused early when it is larger than the server accepts."""
    limit = request.app.state.config.max_upload_bytes
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise ImageError(f"the upload is {int(declared)} bytes; this server takes at most {limit}")
    data = bytearray()
    async for chunk in request.stream():
        data += chunk
        if len(data) > limit:
            raise ImageError(f"the upload is larger than {limit} bytes, the most this server takes")
    if not data:
        raise ImageError("the upload is empty; send the picture's bytes as the request body")
    return bytes(data)


# ---------------------------------------------------------------------------- jobs
def submit_job(request: Request, user: User, recipe: Recipe, *, project: str | None, previews: bool,
               consent=None, label=False, inputs: dict[str, bytes] | None = None):
    """Admit and queue a job for `user` (the per-user queue limit applies). The recipe names its inputs
    by sha256 from the library, or by a name of `inputs`: those the studio takes in as it admits the
    job, so a refused or failed job leaves none of them behind."""
    studio = studio_of(request)
    limit = request.app.state.config.max_queued_per_user
    waiting = [r for r in studio.job_records.list(owner=user.name, limit=limit + 1) if r.state in ("queued",)]
    if len(waiting) >= limit:
        raise HTTPException(429, f"you have {len(waiting)} jobs waiting; the limit is {limit}")
    project = project_for(request, user, project)
    with staged(recipe, inputs or {}) as folder:
        return studio.submit(recipe, project=project, consent=consent, label=label, owner=user.name,
                             previews=previews, base=folder, origin="recipe" if folder else "picture")


@contextmanager
def staged(recipe: Recipe, inputs: dict[str, bytes]):
    """A folder holding `inputs` under their names (None without inputs): the recipe's folder, as
    the studio reads a recipe file's inputs. Every name the recipe uses must be one of them."""
    from darkroom.studio.replay import input_paths

    for where, value in input_paths(recipe):
        if value not in inputs:
            raise ImageError(f"{where} names {value[:80]!r}: a request names its inputs only by sha256 from the "
                             "library (POST /api/v1/inputs) or by a name of the job's `inputs` (given: "
                             f"{', '.join(sorted(inputs)) or 'none'}), never by a path on the server")
    if not inputs:
        yield None
        return
    with tempfile.TemporaryDirectory(prefix="darkroom-job-inputs-") as folder:
        for name, data in inputs.items():
            Path(folder, name).write_bytes(data)
        try:
            yield Path(folder)
        except DarkroomError as err:  # name the input as the request did, not by the folder it passed through
            err.args = tuple(str(a).replace(str(Path(folder)) + os.sep, "") for a in err.args)
            raise


@router.post("/jobs", status_code=202)
def create_job(body: JobRequest, request: Request, user: User = Depends(caller)) -> dict:
    job = submit_job(request, user, body.recipe, project=body.project, previews=body.previews,
                     consent=body.consent, label=body.label, inputs=body.inputs)
    return {"id": job.id, "state": job.state, "events": f"/api/v1/jobs/{job.id}/events"}


@router.get("/jobs")
def list_jobs(request: Request, user: User = Depends(caller), limit: int = Query(100, ge=1, le=1000)) -> list[dict]:
    records = studio_of(request).job_records.list(owner=None if user.admin else user.name, limit=limit)
    return [{"id": r.id, "state": r.state, "owner": r.owner, "project": r.project, "created": r.created,
             "pictures": len(r.pictures)} for r in records]


@router.get("/jobs/{job_id}")
def get_job(job_id: str, request: Request, user: User = Depends(caller)) -> dict:
    own_job(request, user, job_id)
    return job_json(studio_of(request), job_id)


@router.post("/jobs/{job_id}/cancel")
def cancel_job(job_id: str, request: Request, user: User = Depends(caller)) -> dict:
    own_job(request, user, job_id)
    job = studio_of(request).job(job_id)
    if job is not None:
        job.cancel()
    return {"id": job_id, "cancel_requested": job is not None}


@router.get("/jobs/{job_id}/events")
def job_events(job_id: str, request: Request, user: User = Depends(caller)):
    """Server-Sent Events: every event of the job from the first; the stream ends after the last."""
    own_job(request, user, job_id)
    job = studio_of(request).job(job_id)
    if job is None:
        raise HTTPException(410, f"job {job_id} has ended and its events are gone; GET /api/v1/jobs/{job_id}")

    from darkroom.serve.messages import translate

    lang = request_language(request)

    def stream():
        for event in job.events():
            data = event_json(event)
            if data.get("error"):  # why a job failed, in the language asked for
                data["error"] = translate(type(job.error).__name__ if job.error else "", data["error"], 0, lang)
            yield f"event: {event.kind}\ndata: {json.dumps(data)}\n\n"

    return StreamingResponse(stream(), media_type="text/event-stream", headers={"Cache-Control": "no-store"})


# ---------------------------------------------------------------------------- pictures and the library
PICTURE_BODY = {"requestBody": {"required": True, "content": {
    kind: {"schema": {"type": "string", "format": "binary"}} for kind in ("image/png", "image/jpeg", "image/webp")}}}


@router.post("/inputs", status_code=201, openapi_extra=PICTURE_BODY)
async def upload_input(request: Request, project: str | None = None, user: User = Depends(caller),
                       guard: bool = Query(False, description="refuse a photo with a face (403 ConsentRequired) "
                                           "before storing it, unless `consent` names the lawful basis"),
                       consent: Basis | None = None) -> dict:
    """An input picture (PNG, JPEG, WebP) as the request body, its metadata stripped; returns its
    `sha256:` reference. (A job that edits a photo of a person needs `consent` as well.)"""
    data = await read_upload(request)
    studio = studio_of(request)
    project = project_for(request, user, project)
    ref = await run_in_threadpool(studio.upload, data, project=project, guard=guard, consent=consent)
    return {"ref": ref}


@router.get("/pictures")
def list_pictures(request: Request, user: User = Depends(caller), project: str | None = None,
                  model: str | None = None, kept: bool | None = None, since: float | None = None,
                  until: float | None = None, prompt: str | None = Query(None, max_length=500),
                  limit: int = Query(200, ge=1, le=1000)) -> list[dict]:
    """Newest first. `prompt`: words every one of which some step's prompt contains (any case);
    `since`/`until`: Unix times of creation."""
    studio = studio_of(request)
    visible = visible_projects(request, user)
    if project is not None and visible is not None and project not in visible:
        raise Forbidden(f"project {project!r} is not yours")
    kept_shas = set(studio.library.kept())
    words = (prompt or "").lower().split()
    out = []
    for record in reversed(studio.library.records(project)):
        if visible is not None and not set(studio.library.projects(record.sha256)) & visible:
            continue
        recipe = json.loads(record.recipe) if record.recipe else None
        if model is not None and (recipe is None or recipe["model"]["name"] != model):
            continue
        if kept is not None and (record.sha256 in kept_shas) != kept:
            continue
        if (since is not None and record.created < since) or (until is not None and record.created >= until):
            continue
        if words and not _prompt_has(recipe, words):
            continue
        out.append({**record_json(record), "kept": record.sha256 in kept_shas})
        if len(out) >= limit:
            break
    return out


def _prompt_has(recipe: dict | None, words: list[str]) -> bool:
    text = " ".join(str(step.get("prompt") or "") for step in (recipe or {}).get("steps", [])).lower()
    return all(word in text for word in words)


@router.get("/projects")
def list_projects(request: Request, user: User = Depends(caller)) -> list[dict]:
    """The projects you can see, with how many pictures each holds."""
    library = studio_of(request).library
    visible = visible_projects(request, user)
    names = [p for p in library.projects() if visible is None or p in visible]
    return [{"name": name, "pictures": len(library.records(name))} for name in names]


@router.get("/pictures/{sha256}")
def get_picture(sha256: str, request: Request, user: User = Depends(caller)) -> dict:
    record = own_picture(request, user, sha256)
    studio = studio_of(request)
    data = studio.library.get_bytes(record.sha256)
    report = studio.verify_bytes(data)
    info = record_json(record)
    info.update(lineage=[r.sha256 for r in studio.library.lineage(record.sha256)],
                provenance=report_json(report),
                infotext=_infotext(data))
    return info


def _infotext(data: bytes) -> str | None:
    from PIL import Image

    from darkroom.trust.marking import read_infotext

    with Image.open(io.BytesIO(data)) as image:
        return read_infotext(image)


@router.get("/pictures/{sha256}/file")
def picture_file(sha256: str, request: Request, user: User = Depends(caller)) -> Response:
    record = own_picture(request, user, sha256)
    data = studio_of(request).library.get_bytes(record.sha256)
    return Response(data, media_type="image/png",
                    headers={"Content-Disposition": f'inline; filename="{record.sha256[:16]}.png"'})


@router.get("/pictures/{sha256}/export")
def export_picture(sha256: str, request: Request, user: User = Depends(caller),
                   format: Literal["png", "jpeg", "webp"] = "png", quality: int = Query(95, ge=1, le=100)) -> Response:
    """The picture as a new PNG, JPEG or WebP file, marked and signed anew (the audit log records the export)."""
    record = own_picture(request, user, sha256)
    with tempfile.TemporaryDirectory(prefix="darkroom-export-") as folder:
        path = studio_of(request).export("sha256:" + record.sha256, out_dir=folder, format=format, quality=quality)
        data = Path(path).read_bytes()
    return Response(data, media_type=f"image/{format}",
                    headers={"Content-Disposition": f'attachment; filename="{Path(path).name}"'})


@router.get("/pictures/{sha256}/lineage")
def picture_lineage(sha256: str, request: Request, user: User = Depends(caller)) -> list[dict]:
    record = own_picture(request, user, sha256)
    return [record_json(r) for r in studio_of(request).library.lineage(record.sha256)]


@router.post("/pictures/{sha256}/keep")
def keep_picture(sha256: str, request: Request, user: User = Depends(caller)) -> dict:
    record = own_picture(request, user, sha256)
    _, groups = studio_of(request).keep("sha256:" + record.sha256)
    return {"sha256": record.sha256, "groups": groups}


@router.delete("/pictures/{sha256}/keep")
def unkeep_picture(sha256: str, request: Request, user: User = Depends(caller)) -> dict:
    record = own_picture(request, user, sha256)
    studio_of(request).unkeep("sha256:" + record.sha256)
    return {"sha256": record.sha256, "kept": False}


@router.get("/pictures/{sha256}/audit")
def picture_audit(sha256: str, request: Request, user: User = Depends(caller)) -> list[dict]:
    """The audit events of this picture: the runs of yours that made it (policy, model, steps) and its exports."""
    record = own_picture(request, user, sha256)
    studio = studio_of(request)
    found = {}
    if record.recipe_sha256:
        steps = studio.audit.find("step", image_recipe_sha256=record.recipe_sha256)
        for job in {e.payload.get("job") for e in steps if e.payload.get("job")}:
            stored = studio.job_records.get(job)
            if user.admin or (stored is not None and stored.owner == user.name):
                found.update((e.index, e) for e in studio.audit.find(job=job))
        found.update((e.index, e) for e in studio.audit.find("export", recipe_sha256=record.recipe_sha256))
    return [{"index": e.index, "time": e.time, "kind": e.kind, "ref": e.ref,
             "summary": {k: v for k, v in e.payload.items() if k in EVENT_FIELDS}} for _, e in sorted(found.items())]


EVENT_FIELDS = ("op", "step_index", "batch_index", "action", "category", "name", "device", "dtype", "seconds",
                "kind", "format", "error", "pictures_saved", "actor", "watermark_status")


@router.post("/pictures/{sha256}/replay")
def replay_picture(sha256: str, request: Request, user: User = Depends(caller)) -> dict:
    """Develop the picture's embedded recipe again (nothing is stored) and compare: identical or why not."""
    record = own_picture(request, user, sha256)
    if not record.recipe:
        raise ImageError(f"the picture sha256:{record.sha256[:12]} carries no recipe to replay")
    studio = studio_of(request)
    result = studio.replay(studio.library.object_path(record.sha256))
    result["why"] = say(result.get("why"), request_language(request))
    return {key: (None if isinstance(value, float) and math.isinf(value) else value) for key, value in result.items()}


@router.post("/pictures/{sha256}/detect")
def detect_zones(sha256: str, request: Request, user: User = Depends(caller),
                 detector: str = Query("face", max_length=40)) -> list[dict]:
    """Zones a detector finds in the picture, largest first: box (x, y, width, height), score and the
    mask the inpaint step would use (a PNG, white = the zone), as `{"kind": "detect", "index": i}` names it."""
    from PIL import Image

    from darkroom.models.detectors import detect

    record = own_picture(request, user, sha256)
    image = studio_of(request).library.open_input("sha256:" + record.sha256)
    return [{"index": i, "box": [int(v) for v in d.box], "score": float(d.score),
             "mask": image_data_url(Image.fromarray(d.mask))} for i, d in enumerate(detect(detector, image))]


@router.get("/whoami")
def whoami(request: Request, user: User = Depends(caller)) -> dict:
    from darkroom.serve.app import auth_required

    visible = visible_projects(request, user)
    projects = studio_of(request).library.projects() if visible is None else sorted(visible)
    return {"name": user.name, "admin": user.admin, "signed_in": auth_required(request), "projects": projects}


# ---------------------------------------------------------------------------- what there is
@router.get("/models")
def list_models(request: Request, user: User = Depends(caller)) -> list[dict]:
    return [{"name": m.name, "family": m.family, "sha256": m.sha256, "native_size": m.native_size,
             "builtin": m.builtin, "installed": m.exists()} for m in studio_of(request).registry.list()]


@router.get("/samplers")
def list_samplers(user: User = Depends(caller)) -> list[str]:
    from darkroom.develop.samplers import SAMPLERS

    return list(SAMPLERS)


@router.get("/upscalers")
def list_upscalers(user: User = Depends(caller)) -> list[dict]:
    from darkroom.develop.upscalers import UPSCALERS

    return [{"name": u.name, "space": u.space} for u in UPSCALERS.values()]


@router.get("/detectors")
def list_detectors(user: User = Depends(caller)) -> list[str]:
    from darkroom.models.detectors import DETECTORS

    return sorted(DETECTORS)


@router.get("/schema/recipe")
def recipe_schema() -> dict:
    """The recipe's JSON schema: every step, field, range, default and description (en, de)."""
    return Recipe.model_json_schema()


@router.post("/prompt/analyze")
def analyze_prompt(body: PromptRequest, request: Request, user: User = Depends(caller)) -> dict:
    analysis = studio_of(request).analyze_prompt(body.prompt).to_dict()
    lang = request_language(request)
    analysis["warnings"] = [say(w, lang) for w in analysis["warnings"]]
    return analysis


@router.post("/policy/check")
def check_policy(body: PolicyRequest, request: Request, user: User = Depends(caller)) -> dict:
    texts = {"prompt": body.prompt}
    if body.negative_prompt:
        texts["negative_prompt"] = body.negative_prompt
    return studio_of(request).policy.check(texts).to_dict()


@router.post("/verify", openapi_extra=PICTURE_BODY)
async def verify_upload(request: Request, user: User = Depends(caller)) -> dict:
    """Any picture file: is it marked as AI-generated, intact, and who signed it."""
    return report_json(studio_of(request).verify_bytes(await read_upload(request)))


def report_json(report) -> dict:
    """The verify report; `verdict` and `notes` in English, and each as a code with its parameters
    (`verdict_code`, `verdict_params`, `note_codes`) for a client to put into its own language."""
    c2pa, xmp = report.c2pa, report.xmp
    code, params = report.verdict_code
    detection = report.watermark
    return {"ok": report.ok, "verdict": report.verdict, "verdict_code": code, "verdict_params": params,
            "marked_ai": report.marked_ai,
            "c2pa": {"state": c2pa.state, "signer": c2pa.signer, "issuer": c2pa.issuer,
                     "generator": c2pa.generator, "failures": c2pa.failures,
                     "failure_codes": sorted(c2pa.codes)} if c2pa else None,
            "xmp_source_type": xmp.source_type if xmp else None,
            "watermark": getattr(detection, "payload", None) if detection else None,
            "watermark_found": bool(detection and detection.detected),
            "audit": report.audit.entry.ref if report.audit else None, "notes": report.notes,
            "note_codes": [{"code": n.code, "params": n.params} for n in report.findings]}


@router.get("/audit/verify")
def audit_verify(request: Request, user: User = Depends(admin)) -> dict:
    """Every hash, the chain and the signed checkpoints recomputed; `problems` and `summary` in the
    language asked for."""
    result = studio_of(request).audit.verify()
    lang = request_language(request)
    return {"ok": result.ok, "entries": result.size, "checkpoints": result.checkpoints,
            "uncovered": result.uncovered, "first_bad": result.first_bad,
            "problems": [{"entry": p.entry, "message": say(p.message, lang)} for p in result.problems],
            "summary": say(result.summary().splitlines()[0], lang)}


@router.get("/audit")
def audit_show(request: Request, last: int = Query(50, ge=1, le=1000),
               kind: str | None = Query(None, max_length=64, pattern=r"^[a-z_.-]+$"),
               subject: str | None = Query(None, max_length=200),
               since: dt.date | None = None, until: dt.date | None = None,
               user: User = Depends(admin)) -> list[dict]:
    """The last `last` events that match: event kind, subject (part of its name), days since/until (UTC)."""
    entries = studio_of(request).audit.entries(kind=kind)
    if subject:
        entries = [e for e in entries if subject.casefold() in (e.subject or "").casefold()]
    if since:
        entries = [e for e in entries if e.time[:10] >= since.isoformat()]
    if until:
        entries = [e for e in entries if e.time[:10] <= until.isoformat()]
    return [{"index": e.index, "time": e.time, "kind": e.kind, "subject": e.subject, "payload": e.payload}
            for e in entries[-last:]]


@router.get("/audit/kinds")
def audit_kinds(request: Request, user: User = Depends(admin)) -> list[str]:
    return studio_of(request).audit.kinds()


@router.get("/audit/checkpoints")
def audit_checkpoints(request: Request, user: User = Depends(admin)) -> list[dict]:
    """The signed checkpoints (log size and Merkle root at a time), newest first."""
    return [{"id": c.id, "size": c.size, "root": c.root, "time": c.time, "signed": bool(c.signature)}
            for c in reversed(studio_of(request).audit.checkpoints())]


@router.post("/retention/run")
def retention_run(body: RetentionRequest, request: Request, user: User = Depends(caller)) -> dict:
    if body.project is None and not user.admin:
        raise Forbidden("retention over every project needs an admin; name one of your projects")
    if body.project is not None:
        project_for(request, user, body.project)
    report = studio_of(request).retention(dry_run=body.dry_run, project=body.project)
    return {"dry_run": report.dry_run, "expired": [e.sha256 for e in report.expired], "freed": report.freed}


@router.post("/erase")
def erase(body: EraseRequest, request: Request, user: User = Depends(caller)) -> dict:
    studio = studio_of(request)
    if (body.project is None) == (body.image is None):
        raise HTTPException(422, "name either a project or an image to erase")
    if body.project is not None:
        project_for(request, user, body.project)
    else:
        own_picture(request, user, body.image.removeprefix("sha256:"))
    lang = request_language(request)
    plan = say(studio.erase_plan(project=body.project, image=body.image), lang)
    if body.dry_run:
        return {"dry_run": True, "plan": plan}
    report = studio.erase(project=body.project, image=body.image)
    return {"dry_run": False, "plan": plan, "summary": say(report.summary(), lang), "files": len(report.deleted),
            "bytes": report.bytes, "kept_shared": report.kept_shared}
