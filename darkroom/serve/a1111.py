"""AUTOMATIC1111's API, /sdapi/v1, mapped onto recipes: the same policy, audit and marks apply.

Clients written for A1111 (webuiapi, Krita and Photoshop bridges, batch scripts) work unchanged.
A request field that would change the picture in a way darkroom cannot honour (face restoration,
tiling, scripts, styles, variation seeds, sampler noise settings, a refiner, unknown option overrides)
is refused with 422 (UNMAPPED): a silently different picture is worse than an error. Fields that do
not change the picture, and fields A1111 does not know either, are ignored.
"""

from __future__ import annotations

import base64
import binascii
import io
import json
import re
import time

from fastapi import APIRouter, Depends, HTTPException, Request
from PIL import Image
from pydantic import BaseModel, ConfigDict, ValidationError

from darkroom.develop.recipe import Recipe, describe_errors
from darkroom.develop.samplers import SAMPLERS
from darkroom.develop.upscalers import UPSCALERS
from darkroom.errors import Cancelled, ImageError
from darkroom.interop import a1111
from darkroom.models.hashing import a1111_short_hash
from darkroom.serve.app import ERRORS, caller
from darkroom.serve.native import studio_of, submit_job
from darkroom.serve.users import User
from darkroom.trust.marking import read_infotext
from darkroom.userfiles import open_image

router = APIRouter(prefix="/sdapi/v1", tags=["AUTOMATIC1111"], responses=ERRORS)
SCHEDULERS = {"automatic": "", "karras": " Karras"}
FILLS = {0: "fill", 1: "original", 2: "latent noise", 3: "latent nothing"}
RESIZE_MODES = {0: "resize", 1: "crop", 2: "fill"}
OVERRIDES = ("sd_model_checkpoint", "CLIP_stop_at_last_layers")


class Common(BaseModel):
    model_config = ConfigDict(extra="allow")  # read by refuse_what_we_cannot_do, echoed as A1111 does

    prompt: str = ""
    negative_prompt: str = ""
    styles: list[str] | None = None
    seed: int = -1
    subseed_strength: float = 0.0
    seed_resize_from_h: int = -1
    seed_resize_from_w: int = -1
    sampler_name: str | None = None
    sampler_index: str | None = None
    scheduler: str | None = None
    batch_size: int = 1
    n_iter: int = 1
    steps: int = 50
    cfg_scale: float = 7.0
    width: int = 512
    height: int = 512
    restore_faces: bool | None = None
    tiling: bool | None = None
    eta: float | None = None
    s_churn: float = 0.0
    override_settings: dict | None = None
    script_name: str | None = None
    alwayson_scripts: dict | None = None
    send_images: bool = True
    save_images: bool = False
    denoising_strength: float | None = None


class Txt2Img(Common):
    enable_hr: bool = False
    hr_scale: float = 2.0
    hr_upscaler: str | None = None
    hr_second_pass_steps: int = 0
    hr_resize_x: int = 0
    hr_resize_y: int = 0
    hr_checkpoint_name: str | None = None
    hr_sampler_name: str | None = None
    hr_scheduler: str | None = None
    hr_prompt: str = ""
    hr_negative_prompt: str = ""


class Img2Img(Common):
    init_images: list[str] = []
    resize_mode: int = 0
    mask: str | None = None
    mask_blur: int = 4
    inpainting_fill: int = 0
    inpaint_full_res: bool | int = True
    inpaint_full_res_padding: int = 32
    inpainting_mask_invert: int = 0
    initial_noise_multiplier: float | None = None


class PngInfo(BaseModel):
    image: str


# ---------------------------------------------------------------------------- requests -> recipes
# A1111's request fields that darkroom does not map (modules/processing.py, modules/api/models.py), with
# the values that leave the picture as darkroom makes it: A1111's defaults and what its clients send
# (webuiapi sends s_tmax 0, s_noise 1, eta 1.0, seed_resize_from_h 0). Any other value is refused.
UNMAPPED = {
    "restore_faces": ((None, False), "no face restoration model in darkroom; inpaint the face instead"),
    "tiling": ((None, False), ""),
    "styles": ((None, []), ""),
    "script_name": ((None, ""), "darkroom runs no scripts"),
    "alwayson_scripts": ((None, {}), "no extensions such as ControlNet"),
    "subseed_strength": ((None, 0), "variation seeds"),
    "seed_resize_from_h": ((None, -1, 0), ""),
    "seed_resize_from_w": ((None, -1, 0), ""),
    "eta": ((None, 0, 1), ""),
    "s_churn": ((None, 0), ""),
    "s_tmin": ((None, 0), ""),
    "s_tmax": ((None, 0, float("inf")), ""),
    "s_noise": ((None, 1), ""),
    "s_min_uncond": ((None, 0), ""),
    "ddim_discretize": ((None, "uniform"), ""),
    "refiner_checkpoint": ((None, "", "None"), "no refiner pass in darkroom"),
    "initial_noise_multiplier": ((None, 1), ""),
    "latent_mask": ((None, ""), ""),
    "mask_round": ((None, True), ""),
    "disable_extra_networks": ((None, False), "darkroom always reads <lora:...> tags"),
    "infotext": ((None, ""), "send the parameters as fields"),
    "firstphase_width": ((None, 0), ""),
    "firstphase_height": ((None, 0), ""),
    "hr_additional_modules": ((None, [], ["Use same choices"]), ""),
}


def refuse_what_we_cannot_do(body: Common) -> None:
    """422 for every field whose value would make A1111's picture differ from darkroom's."""
    values = body.model_dump()
    problems = [f"{name} {_short(values[name])}" + (f" ({note})" if note else "")
                for name, (neutral, note) in UNMAPPED.items()
                if name in values and not any(_same(values[name], n) for n in neutral)]
    if "mask_blur" in values:  # img2img
        problems += [f"{name} {_short(values[name])} (darkroom blurs a mask alike in x and y: set mask_blur)"
                     for name in ("mask_blur_x", "mask_blur_y") if values.get(name) not in (None, values["mask_blur"])]
    unknown = sorted(set(body.override_settings or {}) - set(OVERRIDES))
    if unknown:
        problems.append(f"override_settings {', '.join(unknown)}")
    if problems:
        raise HTTPException(422, "darkroom cannot honour: " + "; ".join(problems) + ". Leave these out.")


def _short(value) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _same(value, neutral) -> bool:
    """value == neutral, where True is not 1 and "" is not 0."""
    if neutral is None or isinstance(neutral, (bool, str, list, dict)):
        return type(value) is type(neutral) and value == neutral
    return not isinstance(value, (bool, str, list, dict)) and value == neutral


def sampler_of(name: str | None, scheduler: str | None, default: str = "Euler a") -> str:
    name = (name or default).strip()
    suffix = SCHEDULERS.get((scheduler or "automatic").strip().lower())
    if suffix is None:
        raise HTTPException(422, f"scheduler {scheduler!r}: darkroom has {', '.join(SCHEDULERS)}")
    if suffix and not name.endswith(suffix.strip()):
        name += suffix
    if name not in SAMPLERS:
        raise HTTPException(422, f"sampler {name!r}: choose one of {', '.join(SAMPLERS)}")
    return name


def model_title(entry) -> str:
    return f"{entry.name} [{a1111_short_hash(entry.sha256)}]" if entry.sha256 else entry.name


def model_for(request: Request, user: User, body: Common) -> str:
    """The model: override_settings' checkpoint, else what POST options chose, else the default."""
    studio = studio_of(request)
    title = (body.override_settings or {}).get("sd_model_checkpoint") or \
        request.app.state.config.options.get(user.name, {}).get("sd_model_checkpoint")
    if not title:
        return studio.registry.default().name
    return resolve_title(studio, title).name


def resolve_title(studio, title: str):
    name = str(title).split(" [", 1)[0].strip()
    entries = {e.name: e for e in studio.registry.list()}
    entries.update({model_title(e): e for e in entries.values()})
    entry = entries.get(title) or entries.get(name)
    if entry is None:
        raise HTTPException(422, f"model {title!r} is not registered; GET /sdapi/v1/sd-models lists them")
    return entry


def first_step(body: Common, sampler: str) -> dict:
    clip_skip = int((body.override_settings or {}).get("CLIP_stop_at_last_layers", 1) or 1)
    return {"prompt": body.prompt, "negative_prompt": body.negative_prompt, "seed": body.seed, "steps": body.steps,
            "cfg": body.cfg_scale, "sampler": sampler, "clip_skip": clip_skip}


def txt2img_recipe(body: Txt2Img, model: str) -> Recipe:
    sampler = sampler_of(body.sampler_name or body.sampler_index, body.scheduler)
    steps = [{"op": "generate", **first_step(body, sampler), "width": body.width, "height": body.height,
              "batch_size": body.batch_size * body.n_iter}]
    if body.enable_hr:
        if body.hr_checkpoint_name and body.hr_checkpoint_name.split(" [")[0] not in (model, "Use same checkpoint"):
            raise HTTPException(422, "hr_checkpoint_name: the second pass runs on the same model in darkroom")
        upscaler = body.hr_upscaler or "Latent"
        upscaler = "Lanczos" if upscaler == "None" else upscaler  # A1111 resizes with Lanczos for "None"
        hires = {"op": "hires", "scale": body.hr_scale, "upscaler": upscaler, "steps": body.hr_second_pass_steps,
                 "denoise": 0.75 if body.denoising_strength is None else body.denoising_strength,
                 "resize_width": body.hr_resize_x or None, "resize_height": body.hr_resize_y or None}
        if body.hr_prompt:
            hires["prompt"] = body.hr_prompt
        if body.hr_negative_prompt:
            hires["negative_prompt"] = body.hr_negative_prompt
        if body.hr_sampler_name and body.hr_sampler_name != "Use same sampler":
            hires["sampler"] = sampler_of(body.hr_sampler_name, body.hr_scheduler)
        steps.append(hires)
    return parse_recipe(model, steps)


def parse_recipe(model: str, steps: list[dict]) -> Recipe:
    try:
        return Recipe.model_validate({"model": {"name": model}, "steps": steps})
    except ValidationError as err:  # named by darkroom's fields, e.g. steps[0].cfg
        raise HTTPException(422, f"invalid request: {describe_errors(err)}") from None


def decode_image(data: str, what: str) -> Image.Image:
    """A base64 picture, with or without a data: URL prefix, decoded only once its header shows a
    size within the limit (as every upload: darkroom.userfiles)."""
    if data.startswith("data:"):
        data = data.partition(",")[2]
    try:
        raw = base64.b64decode(data, validate=False)
    except (binascii.Error, ValueError) as err:
        raise ImageError(f"{what} is not base64: {err}") from None
    return open_image(raw, what)


def png_bytes(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def img2img_recipe(body: Img2Img, model: str) -> tuple[Recipe, dict[str, bytes]]:
    """The recipe and the pictures it names (init.png, mask.png): the studio takes them in only
    when it admits the job, so a refused request leaves none behind."""
    if len(body.init_images) != 1:
        raise HTTPException(422, "init_images: send exactly one picture (darkroom develops one picture per request)")
    init = decode_image(body.init_images[0], "init_images[0]")
    inputs = {"init.png": png_bytes(init.convert("RGB"))}
    image_ref = "init.png"
    sampler = sampler_of(body.sampler_name or body.sampler_index, body.scheduler)
    denoise = 0.75 if body.denoising_strength is None else body.denoising_strength
    step = {**first_step(body, sampler), "image": image_ref, "denoise": denoise}
    if body.batch_size * body.n_iter != 1:
        raise HTTPException(422, "batch_size/n_iter: img2img makes one picture per request in darkroom")
    if body.mask is None:
        if body.resize_mode not in RESIZE_MODES:
            raise HTTPException(422, f"resize_mode {body.resize_mode}: darkroom has 0 (resize), 1 (crop), 2 (fill)")
        return parse_recipe(model, [{"op": "img2img", **step, "width": body.width, "height": body.height,
                                     "resize_mode": RESIZE_MODES[body.resize_mode]}]), inputs
    mask = decode_image(body.mask, "mask").convert("L")
    if body.inpainting_mask_invert:
        mask = Image.eval(mask, lambda v: 255 - v)
    if mask.size != init.size:
        raise HTTPException(422, f"mask is {mask.size[0]}x{mask.size[1]}, the picture {init.size[0]}x{init.size[1]}")
    full_res = bool(body.inpaint_full_res)
    if not full_res and (body.width, body.height) != init.size:
        raise HTTPException(422, f"width/height {body.width}x{body.height} differ from the picture's "
                            f"{init.size[0]}x{init.size[1]}: resize it first, or use inpaint_full_res")
    if body.inpainting_fill not in FILLS:
        raise HTTPException(422, f"inpainting_fill {body.inpainting_fill}: use 0-3")
    inputs["mask.png"] = png_bytes(mask)
    zone = {"kind": "mask", "image": "mask.png"}
    inpaint = {"op": "inpaint", **step, "zone": zone, "mask_blur": body.mask_blur,
               "masked_content": FILLS[body.inpainting_fill], "inpaint_area": "masked" if full_res else "whole",
               "padding": body.inpaint_full_res_padding}
    if full_res:
        inpaint.update(width=body.width, height=body.height)
    return parse_recipe(model, [inpaint]), inputs


# ---------------------------------------------------------------------------- answers
def run_and_answer(request: Request, user: User, recipe: Recipe, body: Common,
                   inputs: dict[str, bytes] | None = None) -> dict:
    studio = studio_of(request)
    job = submit_job(request, user, recipe, project=None, previews=False, inputs=inputs)  # progress asks for them
    try:
        made = job.result()
    except Cancelled:  # interrupt: A1111 answers with the pictures finished before it
        made = list(job.pictures)
    pictures = [p for p in made if p.final]
    entry = studio.registry.resolve(recipe.model.name)
    seeds = [p.recipe.steps[0].seed for p in pictures]
    first = pictures[0].recipe.steps[-1] if pictures else recipe.steps[-1]
    info = {
        "prompt": body.prompt, "all_prompts": [body.prompt] * len(pictures),
        "negative_prompt": body.negative_prompt, "all_negative_prompts": [body.negative_prompt] * len(pictures),
        "seed": seeds[0] if seeds else body.seed, "all_seeds": seeds, "subseed": -1, "all_subseeds": [-1] * len(seeds),
        "subseed_strength": 0, "width": pictures[0].width if pictures else body.width,
        "height": pictures[0].height if pictures else body.height, "sampler_name": recipe.steps[0].sampler,
        "cfg_scale": body.cfg_scale, "steps": body.steps, "batch_size": body.batch_size,
        "restore_faces": False, "face_restoration_model": None, "sd_model_name": entry.name,
        "sd_model_hash": a1111_short_hash(entry.sha256) if entry.sha256 else None, "sd_vae_name": None,
        "sd_vae_hash": None, "seed_resize_from_w": -1, "seed_resize_from_h": -1,
        "denoising_strength": getattr(first, "denoise", None), "extra_generation_params": {},
        "index_of_first_image": 0, "infotexts": [p.infotext for p in pictures], "styles": [],
        "job_timestamp": time.strftime("%Y%m%d%H%M%S"), "clip_skip": recipe.steps[0].clip_skip,
        "is_using_inpainting_conditioning": False, "version": "darkroom",
        "darkroom": {"job": job.id, "pictures": [p.sha256 for p in pictures]},
    }
    images = [base64.b64encode(studio.library.get_bytes(p.sha256)).decode() for p in pictures] \
        if body.send_images else []
    return {"images": images, "parameters": body.model_dump(exclude={"init_images", "mask"}), "info": json.dumps(info)}


@router.post("/txt2img")
def txt2img(body: Txt2Img, request: Request, user: User = Depends(caller)) -> dict:
    refuse_what_we_cannot_do(body)
    recipe = txt2img_recipe(body, model_for(request, user, body))
    return run_and_answer(request, user, recipe, body)


@router.post("/img2img")
def img2img(body: Img2Img, request: Request, user: User = Depends(caller)) -> dict:
    refuse_what_we_cannot_do(body)
    recipe, inputs = img2img_recipe(body, model_for(request, user, body))
    return run_and_answer(request, user, recipe, body, inputs)


def own_live_jobs(request: Request, user: User) -> list:
    return studio_of(request).live_jobs(None if user.admin else user.name)


@router.get("/progress")
def progress(request: Request, user: User = Depends(caller), skip_current_image: bool = False) -> dict:
    live = own_live_jobs(request, user)
    running = next((j for j in live if j.state == "running"), None)
    state = {"skipped": False, "interrupted": False, "job": "", "job_count": len(live), "job_timestamp": "0",
             "job_no": 0, "sampling_step": 0, "sampling_steps": 0}
    answer = {"progress": 0.0, "eta_relative": 0.0, "state": state, "current_image": None, "textinfo": None}
    if running is None:
        return answer
    step = running.last_event("step")
    started = running.last_event("started")
    state.update(job=f"job({running.id})", job_timestamp=time.strftime("%Y%m%d%H%M%S"),
                 interrupted=running.cancel_requested)
    if step is None:
        return answer
    passes = max(1, len(running.work.recipe.steps) * getattr(running.work.recipe.steps[0], "batch_size", 1))
    done = (step.batch_index * len(running.work.recipe.steps) + step.step_index + step.step / step.total) / passes
    elapsed = time.time() - (started.time if started else step.time)
    state.update(sampling_step=step.step, sampling_steps=step.total, job_no=step.batch_index)
    answer.update(progress=min(done, 1.0), eta_relative=elapsed / done - elapsed if done > 0 else 0.0)
    if not skip_current_image:
        running.want_previews()
    preview = running.latest_preview()
    if preview is not None and not skip_current_image:
        answer["current_image"] = base64.b64encode(png_bytes(preview.convert("RGB"))).decode()
    return answer


@router.post("/interrupt")
def interrupt(request: Request, user: User = Depends(caller)) -> dict:
    """Cancels the caller's running job (never anyone else's)."""
    for job in own_live_jobs(request, user):
        if job.state == "running":
            job.cancel()
    return {}


@router.post("/skip")
def skip(request: Request, user: User = Depends(caller)) -> dict:
    """Gives up the batch image the caller's running job is making; the job goes on with the next."""
    for job in own_live_jobs(request, user):
        if job.state == "running":
            job.skip()
    return {}


@router.get("/sd-models")
def sd_models(request: Request, user: User = Depends(caller)) -> list[dict]:
    return [{"title": model_title(e), "model_name": e.name, "hash": a1111_short_hash(e.sha256) if e.sha256 else None,
             "sha256": e.sha256, "filename": str(e.path), "config": None}
            for e in studio_of(request).registry.list() if e.exists()]


@router.get("/options")
def get_options(request: Request, user: User = Depends(caller)) -> dict:
    studio = studio_of(request)
    title = request.app.state.config.options.get(user.name, {}).get("sd_model_checkpoint")
    entry = resolve_title(studio, title) if title else studio.registry.default()
    return {"sd_model_checkpoint": model_title(entry), "sd_checkpoint_hash": entry.sha256,
            "CLIP_stop_at_last_layers": 1, "samples_format": "png"}


@router.post("/options")
def set_options(options: dict, request: Request, user: User = Depends(caller)) -> dict:
    """Only `sd_model_checkpoint` changes anything: the model of this user's later requests."""
    if "sd_model_checkpoint" in options:
        entry = resolve_title(studio_of(request), str(options["sd_model_checkpoint"]))
        request.app.state.config.options.setdefault(user.name, {})["sd_model_checkpoint"] = model_title(entry)
    return get_options(request, user)


@router.get("/samplers")
def samplers(user: User = Depends(caller)) -> list[dict]:
    return [{"name": name, "aliases": [], "options": {}} for name in SAMPLERS]


@router.get("/schedulers")
def schedulers(user: User = Depends(caller)) -> list[dict]:
    return [{"name": name, "label": name.title(), "aliases": None, "default_rho": 7.0 if name == "karras" else -1,
             "need_inner_model": False} for name in SCHEDULERS]


@router.get("/upscalers")
def upscalers(user: User = Depends(caller)) -> list[dict]:
    names = ["None"] + [u.name for u in UPSCALERS.values() if u.space == "pixel"]
    return [{"name": n, "model_name": None, "model_path": None, "model_url": None, "scale": 4.0} for n in names]


@router.get("/latent-upscale-modes")
def latent_upscale_modes(user: User = Depends(caller)) -> list[dict]:
    return [{"name": u.name} for u in UPSCALERS.values() if u.space == "latent"]


@router.get("/scripts")
def scripts(user: User = Depends(caller)) -> dict:
    return {"txt2img": [], "img2img": []}


@router.post("/png-info")
def png_info(body: PngInfo, user: User = Depends(caller)) -> dict:
    image = decode_image(body.image, "image")
    info = read_infotext(image) or ""
    items = {key: value for key, value in image.info.items() if isinstance(value, str) and key != "parameters"}
    return {"info": info, "items": items, "parameters": generation_parameters(info) if info else {}}


def generation_parameters(info: str) -> dict:
    """The infotext's fields as A1111's parse_generation_parameters gives them: sizes split into "-1"/"-2"."""
    fields = {}
    for key, value in a1111.parse(info).items():
        size = re.fullmatch(r"(\d+)x(\d+)", value) if isinstance(value, str) else None
        if size:
            fields[f"{key}-1"], fields[f"{key}-2"] = size.groups()
        else:
            fields[key] = value
    return fields

