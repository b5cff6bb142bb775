"""ComfyUI's API-format `prompt` graph, to and from a darkroom recipe, with core nodes only.

A graph is `{node id: {"class_type": ..., "inputs": {name: value or [node id, output index]}}}`,
what ComfyUI's SaveImage writes into the PNG `prompt` chunk and what its PNG import loads.
The nodes used and their inputs are ComfyUI's core ones (nodes.py):

    CheckpointLoaderSimple  ckpt_name                              -> MODEL, CLIP, VAE
    CLIPSetLastLayer        clip, stop_at_clip_layer (-1..-24)     -> CLIP
    CLIPTextEncode          text, clip                             -> CONDITIONING
    EmptyLatentImage        width, height, batch_size              -> LATENT
    KSampler                model, seed, steps, cfg, sampler_name, scheduler, positive,
                            negative, latent_image, denoise        -> LATENT
    LatentUpscale           samples, upscale_method, width, height, crop   -> LATENT
    VAEDecode / VAEEncode   samples, vae / pixels, vae             -> IMAGE / LATENT
    ImageScale              image, upscale_method, width, height, crop     -> IMAGE
    LoadImage / LoadImageMask  image (, channel)                   -> IMAGE, MASK / MASK
    VAEEncodeForInpaint     pixels, vae, mask, grow_mask_by        -> LATENT
    SetLatentNoiseMask      samples, mask                          -> LATENT
    ImagePadForOutpaint     image, left, top, right, bottom, feathering -> IMAGE, MASK
    SaveImage               images, filename_prefix

`to_prompt` returns the graph (None when a step has no core-node equivalent) and notes on what
ComfyUI will do differently; `from_prompt` returns a recipe and the list of what it could
not map (never guessed).
"""

from __future__ import annotations

from darkroom.develop.recipe import Recipe

# darkroom (A1111) sampler name -> ComfyUI sampler_name; "Karras" picks the karras scheduler
SAMPLERS = {"DPM++ 2M": "dpmpp_2m", "DPM++ 2M SDE": "dpmpp_2m_sde", "DPM++ 3M SDE": "dpmpp_3m_sde",
            "DPM++ SDE": "dpmpp_sde", "DPM2": "dpm_2", "DPM2 a": "dpm_2_ancestral", "Euler": "euler",
            "Euler a": "euler_ancestral", "Heun": "heun", "LMS": "lms", "DDIM": "ddim", "UniPC": "uni_pc",
            "DEIS": "deis", "LCM": "lcm"}
# darkroom upscaler -> (node, ComfyUI upscale_method)
LATENT_METHODS = {"Latent": "bilinear", "Latent (antialiased)": "bilinear", "Latent (bicubic)": "bicubic",
                  "Latent (bicubic antialiased)": "bicubic", "Latent (nearest)": "nearest-exact",
                  "Latent (nearest-exact)": "nearest-exact"}
PIXEL_METHODS = {"Bicubic": "bicubic", "Nearest": "nearest-exact", "Lanczos": "bicubic"}


def comfy_sampler(name: str) -> tuple[str, str] | None:
    karras = name.endswith(" Karras")
    found = SAMPLERS.get(name.removesuffix(" Karras"))
    return (found, "karras" if karras else "normal") if found else None


def darkroom_sampler(sampler_name: str, scheduler: str) -> str | None:
    base = next((k for k, v in SAMPLERS.items() if v == sampler_name), None)
    if base is None or scheduler not in ("normal", "karras"):
        return None
    name = f"{base} Karras" if scheduler == "karras" else base
    from darkroom.develop.samplers import SAMPLERS as KNOWN

    return name if name in KNOWN else None


class _Graph:
    def __init__(self):
        self.nodes: dict[str, dict] = {}

    def add(self, class_type: str, **inputs) -> str:
        node = str(len(self.nodes) + 1)
        self.nodes[node] = {"class_type": class_type, "inputs": inputs}
        return node


def _ckpt_name(name: str) -> str:
    return name if name.rsplit(".", 1)[-1] in ("safetensors", "ckpt") else f"{name}.safetensors"


def _file_name(ref: str) -> str:
    """A LoadImage file name for an input: `<sha256>.png` for a library picture (copy it into ComfyUI's
    input folder under that name), else the file's own name."""
    return f"{ref.removeprefix('sha256:')}.png" if ref.startswith("sha256:") else ref.replace("\\", "/").rsplit("/", 1)[-1]


def to_prompt(recipe: Recipe) -> tuple[dict | None, list[str]]:
    """(graph, notes): the recipe as a ComfyUI API-format graph of core nodes; graph None if a step
    cannot be expressed with them (the notes say which)."""
    g, notes = _Graph(), []
    ckpt = g.add("CheckpointLoaderSimple", ckpt_name=_ckpt_name(recipe.model.name))
    model, vae = [ckpt, 0], [ckpt, 2]
    clips: dict[int, list] = {}
    texts: dict[tuple, list] = {}
    latent = image = None  # the chain's current picture, as a LATENT or an IMAGE output
    width = height = None

    def clip(skip: int) -> list:
        if skip not in clips:
            clips[skip] = [ckpt, 1] if skip <= 1 else [g.add("CLIPSetLastLayer", clip=[ckpt, 1],
                                                             stop_at_clip_layer=-skip), 0]
        return clips[skip]

    def encode(text: str, skip: int) -> list:
        if (text, skip) not in texts:
            texts[(text, skip)] = [g.add("CLIPTextEncode", text=text, clip=clip(skip)), 0]
        return texts[(text, skip)]

    def sample(step, latent_in, steps: int, denoise: float) -> list:
        mapped = comfy_sampler(step.sampler)
        if mapped is None:
            notes.append(f"sampler {step.sampler!r} has no ComfyUI equivalent; euler/normal is written")
            mapped = ("euler", "normal")
        return [g.add("KSampler", model=model, seed=step.seed, steps=max(1, steps), cfg=step.cfg,
                      sampler_name=mapped[0], scheduler=mapped[1],
                      positive=encode(step.prompt, step.clip_skip or 1),
                      negative=encode(step.negative_prompt or "", step.clip_skip or 1),
                      latent_image=latent_in, denoise=round(float(denoise), 4)), 0]

    def pixels() -> list:
        nonlocal image
        if image is None:
            image = [g.add("VAEDecode", samples=latent, vae=vae), 0]
        return image

    def source(step) -> list:
        nonlocal image, latent
        if getattr(step, "image", None):
            image, latent = [g.add("LoadImage", image=_file_name(step.image)), 0], None
        return pixels()

    for index, step in enumerate(recipe.steps):
        if step.seed is None or step.prompt is None:
            return None, notes + [f"steps[{index}]: resolve the recipe first (seed and prompt must be set)"]
        if step.op == "generate":
            width, height = step.width or 512, step.height or 512
            empty = [g.add("EmptyLatentImage", width=width, height=height, batch_size=1), 0]
            latent, image = sample(step, empty, step.steps, 1.0), None
        elif step.op == "hires":
            if step.resize_width or step.resize_height:
                up_w, up_h, crop = step.resize_width or width, step.resize_height or height, "center"
            else:
                up_w, up_h, crop = int(width * step.scale) // 8 * 8, int(height * step.scale) // 8 * 8, "disabled"
            if step.upscaler in LATENT_METHODS and latent is not None:
                up = [g.add("LatentUpscale", samples=latent, upscale_method=LATENT_METHODS[step.upscaler],
                            width=up_w, height=up_h, crop=crop), 0]
            else:
                if step.upscaler == "Lanczos":
                    notes.append("Lanczos is not among ImageScale's methods; bicubic is written")
                scaled = [g.add("ImageScale", image=pixels(), upscale_method=PIXEL_METHODS.get(step.upscaler, "bicubic"),
                                width=up_w, height=up_h, crop=crop), 0]
                up = [g.add("VAEEncode", pixels=scaled, vae=vae), 0]
            latent, image, width, height = sample(step, up, step.steps, step.denoise), None, up_w, up_h
        elif step.op == "img2img":
            picture = source(step)
            if step.width and step.height:
                picture = [g.add("ImageScale", image=picture, upscale_method="bicubic", width=step.width,
                                 height=step.height, crop="center" if step.resize_mode == "crop" else "disabled"), 0]
                width, height = step.width, step.height
            if step.resize_mode == "fill":
                notes.append(f"steps[{index}]: resize mode fill has no core node; the picture is stretched")
            encoded = [g.add("VAEEncode", pixels=picture, vae=vae), 0]
            latent, image = sample(step, encoded, int(step.steps * step.denoise), step.denoise), None
        elif step.op == "inpaint":
            if step.zone.kind != "mask":
                return None, notes + [f"steps[{index}]: a {step.zone.kind} zone has no core ComfyUI node; "
                                      "use a mask picture"]
            if step.inpaint_area == "masked":
                notes.append(f"steps[{index}]: 'only masked' has no core node; ComfyUI repaints at full size")
            if step.mask_blur or step.color_correction:
                notes.append(f"steps[{index}]: mask blur and colour correction have no core node")
            picture = source(step)
            mask = [g.add("LoadImageMask", image=_file_name(step.zone.image), channel="red"), 0]
            if step.masked_content == "original" and step.denoise < 1:
                encoded = [g.add("VAEEncode", pixels=picture, vae=vae), 0]
                noised = [g.add("SetLatentNoiseMask", samples=encoded, mask=mask), 0]
            else:
                noised = [g.add("VAEEncodeForInpaint", pixels=picture, vae=vae, mask=mask,
                                grow_mask_by=max(0, step.mask_grow)), 0]
            latent, image = sample(step, noised, int(step.steps * step.denoise), step.denoise), None
        elif step.op == "outpaint":
            picture = source(step)
            pad = g.add("ImagePadForOutpaint", image=picture, left=step.left, top=step.top, right=step.right,
                        bottom=step.bottom, feathering=step.overlap)
            notes.append(f"steps[{index}]: ComfyUI fills the new border with grey, not from the picture's edge")
            encoded = [g.add("VAEEncodeForInpaint", pixels=[pad, 0], vae=vae, mask=[pad, 1], grow_mask_by=8), 0]
            latent, image = sample(step, encoded, int(step.steps * step.denoise), step.denoise), None
        else:
            return None, notes + [f"steps[{index}]: {step.op} has no ComfyUI equivalent"]
    g.add("SaveImage", images=pixels(), filename_prefix="darkroom")
    return g.nodes, notes


# ---------------------------------------------------------------------------- import
def from_prompt(graph: dict, model: str | None = None) -> tuple[dict | None, list[str]]:
    """(recipe dict, unmapped): a graph of core nodes ending in one SaveImage, followed back from it.
    A txt2img KSampler becomes a generate step, a KSampler over an upscaled latent a hires step."""
    unmapped: list[str] = []
    nodes = {str(k): v for k, v in graph.items() if isinstance(v, dict) and "class_type" in v}
    saves = [k for k, v in nodes.items() if v["class_type"] in ("SaveImage", "PreviewImage")]
    if len(saves) != 1:
        return None, [f"the graph has {len(saves)} SaveImage nodes; one is needed"]

    def node(link) -> dict | None:
        return nodes.get(str(link[0])) if isinstance(link, list) and link else None

    def text_of(link) -> str | None:
        n = node(link)
        if n and n["class_type"] == "CLIPTextEncode" and isinstance(n["inputs"].get("text"), str):
            return n["inputs"]["text"]
        unmapped.append(f"conditioning from {n['class_type'] if n else 'nothing'} (only CLIPTextEncode maps)")
        return None

    def clip_skip(link) -> int:
        n = node(node(link)["inputs"].get("clip")) if node(link) else None
        return -int(n["inputs"].get("stop_at_clip_layer", -1)) if n and n["class_type"] == "CLIPSetLastLayer" else 1

    steps: list[dict] = []
    ckpt: str | None = None

    def walk_latent(link) -> tuple[int, int] | None:
        """Add the steps that make this LATENT; returns its (width, height)."""
        nonlocal ckpt
        n = node(link)
        if n is None:
            unmapped.append("a latent with no node")
            return None
        kind, inputs = n["class_type"], n["inputs"]
        if kind == "KSampler":
            loader = node(inputs.get("model"))
            if loader and loader["class_type"] == "CheckpointLoaderSimple":
                ckpt = ckpt or loader["inputs"].get("ckpt_name")
            else:
                unmapped.append(f"model from {loader['class_type'] if loader else 'nothing'}")
            sampler = darkroom_sampler(inputs.get("sampler_name"), inputs.get("scheduler"))
            if sampler is None:
                unmapped.append(f"sampler {inputs.get('sampler_name')}/{inputs.get('scheduler')}")
            source = node(inputs.get("latent_image"))
            size = walk_latent(inputs.get("latent_image")) if source and source["class_type"] != "EmptyLatentImage" \
                else None
            step = {"prompt": text_of(inputs.get("positive")), "negative_prompt": text_of(inputs.get("negative")) or "",
                    "seed": inputs.get("seed"), "cfg": inputs.get("cfg"), "clip_skip": clip_skip(inputs.get("positive"))}
            if sampler:
                step["sampler"] = sampler
            if source and source["class_type"] == "EmptyLatentImage":
                size = (source["inputs"]["width"], source["inputs"]["height"])
                steps.append({"op": "generate", **step, "steps": inputs.get("steps"), "width": size[0],
                              "height": size[1]})
                if source["inputs"].get("batch_size", 1) != 1:
                    unmapped.append("batch_size of EmptyLatentImage (one image is made)")
            elif source and source["class_type"] in ("LatentUpscale", "VAEEncode") and steps:
                steps.append({"op": "hires", **step, "steps": inputs.get("steps"),
                              "denoise": inputs.get("denoise", 1.0), "_size": size})
            else:
                unmapped.append(f"KSampler over {source['class_type'] if source else 'nothing'}")
            return size
        if kind == "LatentUpscale":
            walk_latent(inputs.get("samples"))
            method = inputs.get("upscale_method")
            up = next((k for k, v in LATENT_METHODS.items() if v == method and "antialiased" not in k), None)
            if up is None:
                unmapped.append(f"LatentUpscale method {method}")
            return (inputs.get("width"), inputs.get("height"), up)
        if kind == "VAEEncode":
            image = node(inputs.get("pixels"))
            if image and image["class_type"] == "ImageScale":
                decoded = node(image["inputs"].get("image"))
                if decoded and decoded["class_type"] == "VAEDecode":
                    walk_latent(decoded["inputs"].get("samples"))
                    method = {"bicubic": "Bicubic", "nearest-exact": "Nearest"}.get(image["inputs"].get("upscale_method"))
                    if method is None:
                        unmapped.append(f"ImageScale method {image['inputs'].get('upscale_method')}")
                    return (image["inputs"].get("width"), image["inputs"].get("height"), method)
            unmapped.append(f"VAEEncode of {image['class_type'] if image else 'nothing'} (img2img and inpaint "
                            "graphs are not imported)")
            return None
        unmapped.append(f"node {kind}")
        return None

    decode = node(nodes[saves[0]]["inputs"].get("images"))
    if decode is None or decode["class_type"] != "VAEDecode":
        return None, [f"SaveImage of {decode['class_type'] if decode else 'nothing'} (a VAEDecode is needed)"]
    walk_latent(decode["inputs"].get("samples"))
    for step in steps:
        if step["op"] == "hires":
            size = step.pop("_size") or (None, None, None)
            first = steps[0]
            if size[0] and first.get("width") and size[0] * first["height"] == size[1] * first["width"] \
                    and size[0] % first["width"] == 0 and size[0] // first["width"] in (1, 2, 3, 4):
                step["scale"] = size[0] // first["width"]
            elif size[0]:
                step["resize_width"], step["resize_height"] = size[0], size[1]
            if size[2]:
                step["upscaler"] = size[2]
    if not steps or steps[0]["op"] != "generate":
        return None, unmapped or ["no txt2img KSampler found"]
    name = model or (ckpt.rsplit(".", 1)[0] if ckpt else None)
    if name is None:
        unmapped.append("no checkpoint name")
    for step in steps:
        for key in [k for k, v in step.items() if v is None]:
            del step[key]
    return {"darkroom_recipe": 1, "model": {"name": name or "unknown"}, "steps": steps}, unmapped
