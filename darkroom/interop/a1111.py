"""An A1111 picture's infotext as a darkroom recipe: `darkroom import PICTURE`.

The text is read as A1111's `parse_generation_parameters` reads it (the last line holds the
`Key: value` pairs when it has at least three; a line starting with `Negative prompt:` begins
the negative prompt). txt2img with or without Hi-Res Fix maps onto a generate step and a
hires step. What has no darkroom equivalent (an img2img source picture that is not in the
file, an upscaler model, extension fields) is listed in `unmapped`, never guessed; a recipe
comes back only when the picture can be made again from what is mapped.
"""

from __future__ import annotations

import json
import re

from darkroom.develop.infotext import PARAM
from darkroom.develop.samplers import SAMPLERS
from darkroom.develop.upscalers import UPSCALERS

_SIZE = re.compile(r"^(\d+)x(\d+)$")
# fields that describe the file, not how to make it again
IGNORED = {"Version", "Model hash", "Batch size", "Batch pos", "Hashes", "VAE hash", "Schedule type"}
GENERATE = {"Steps", "Sampler", "CFG scale", "Seed", "Size", "Model", "Clip skip"}
HIRES = {"Denoising strength", "Hires upscale", "Hires resize", "Hires steps", "Hires upscaler", "Hires prompt",
         "Hires negative prompt", "Hires sampler", "Hires CFG Scale", "Hires seed"}
IMG2IMG_ONLY = {"Mask blur", "Inpaint area", "Masked area padding", "Masked content", "Outpaint"}
NETWORKS = {"Lora hashes": "lora", "TI hashes": "embedding"}
_HASH = re.compile(r"^[0-9a-f]{10,12}$")


def parse(text: str) -> dict:
    """A1111's reading of an infotext: {"Prompt", "Negative prompt", key: value (str)}; sizes stay "WxH"."""
    *lines, last = text.strip().split("\n")
    if len(PARAM.findall(last)) < 3:
        lines.append(last)
        last = ""
    prompt, negative, in_negative = [], [], False
    for line in lines:
        line = line.strip()
        if line.startswith("Negative prompt:"):
            in_negative, line = True, line[16:].strip()
        (negative if in_negative else prompt).append(line)
    out = {"Prompt": "\n".join(prompt), "Negative prompt": "\n".join(negative)}
    for key, value in PARAM.findall(last):
        if value[:1] == '"' and value[-1:] == '"':
            try:
                value = json.loads(value)
            except ValueError:
                pass
        out[key] = value
    return out


def _sampler(name: str | None, schedule: str | None) -> str | None:
    if not name:
        return None
    if schedule and schedule.lower() == "karras" and not name.endswith("Karras"):
        name = f"{name} Karras"
    return name if name in SAMPLERS else None


def to_recipe(text: str, model: str | None = None) -> tuple[dict | None, list[str]]:
    """(recipe dict, unmapped): the recipe (None when the picture cannot be made from the text alone)."""
    fields = parse(text)
    unmapped: list[str] = []
    for key, value in fields.items():
        if key not in GENERATE | HIRES | IGNORED | set(NETWORKS) | {"Prompt", "Negative prompt"}:
            unmapped.append(f"{key}: {value}")
    if any(k in fields for k in IMG2IMG_ONLY) or ("Denoising strength" in fields
                                                  and not any(k.startswith("Hires") for k in fields)):
        unmapped.insert(0, "an img2img/inpaint picture: its source picture is not in the file")
        return None, unmapped

    def number(key, kind=int):
        try:
            return kind(fields[key]) if key in fields else None
        except ValueError:
            unmapped.append(f"{key}: {fields[key]} (not a number)")
            return None

    generate: dict = {"op": "generate", "prompt": fields["Prompt"], "negative_prompt": fields["Negative prompt"],
                      "steps": number("Steps"), "cfg": number("CFG scale", float), "seed": number("Seed")}
    sampler = _sampler(fields.get("Sampler"), fields.get("Schedule type"))
    if fields.get("Sampler") and sampler is None:
        unmapped.append(f"Sampler: {fields['Sampler']}")
    generate["sampler"] = sampler
    if (size := _SIZE.match(fields.get("Size", ""))) is not None:
        generate["width"], generate["height"] = int(size.group(1)), int(size.group(2))
    elif "Size" in fields:
        unmapped.append(f"Size: {fields['Size']}")
    if (skip := number("Clip skip")) and skip > 1:
        generate["clip_skip"] = skip
    steps = [{k: v for k, v in generate.items() if v is not None}]
    if any(k.startswith("Hires") for k in fields):
        hires: dict = {"op": "hires", "denoise": number("Denoising strength", float),
                       "steps": number("Hires steps"), "scale": number("Hires upscale", float),
                       "prompt": fields.get("Hires prompt") or None,
                       "negative_prompt": fields.get("Hires negative prompt") or None,
                       "cfg": number("Hires CFG Scale", float), "seed": number("Hires seed")}
        if (resize := _SIZE.match(fields.get("Hires resize", ""))) is not None and resize.group(1) != "0":
            hires["resize_width"], hires["resize_height"] = int(resize.group(1)), int(resize.group(2))
        upscaler = fields.get("Hires upscaler")
        if upscaler and upscaler in UPSCALERS:
            hires["upscaler"] = upscaler
        elif upscaler:
            unmapped.append(f"Hires upscaler: {upscaler} (an upscaler model darkroom does not have)")
            return None, unmapped
        if fields.get("Hires sampler") and fields["Hires sampler"] != "Use same sampler":
            hires["sampler"] = _sampler(fields["Hires sampler"], fields.get("Hires schedule type"))
            if hires["sampler"] is None:
                unmapped.append(f"Hires sampler: {fields['Hires sampler']}")
        steps.append({k: v for k, v in hires.items() if v is not None})
    name = model or fields.get("Model")
    if not name:
        unmapped.append("Model: not in the infotext (give --model)")
    recipe = {"darkroom_recipe": 1, "model": {"name": name or "unknown"}, "steps": steps}
    networks = _networks(fields, unmapped)
    if networks:
        recipe["networks"] = networks
    return recipe, unmapped


def _networks(fields: dict, unmapped: list[str]) -> list[dict]:
    """`Lora hashes: "name: 12hex, ..."` and `TI hashes: ...` as the recipe's networks; a LoRA's weight
    is its `<lora:name:weight>` tag's in the prompt (the tag stays there: it is what applies it)."""
    from darkroom.prompt.syntax import network_tags

    weights = {t.name: t.weight for t in network_tags(fields["Prompt"] + "\n" + fields["Negative prompt"])}
    out = []
    for key, kind in NETWORKS.items():
        for item in filter(None, (part.strip() for part in fields.get(key, "").split(","))):
            name, _, short = (x.strip() for x in item.rpartition(":"))
            if not name or not _HASH.match(short.lower()) or (kind == "lora" and name not in weights):
                unmapped.append(f"{key}: {item}")
                continue
            ref = {"kind": kind, "name": name, "hash": short.lower()}
            if kind == "lora":
                ref["weight"] = weights[name]
            out.append(ref)
    return out
