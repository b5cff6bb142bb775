"""Evaluate darkroom-mini with the pixel-statistics checker and print the table.

  OMP_NUM_THREADS=1 python -m training.evaluate                      # the shipped model
  OMP_NUM_THREADS=1 python -m training.evaluate --run training/runs/main --quick   # a checkpoint

Sets (all 20 steps, CFG 5, the shipped scheduler unless stated; fixed seeds):
  vae       ground-truth renders through the autoencoder alone (not in the default list)
  txt2img   prompts naming every attribute, colour/shape pairs seen in training
  held-out  the same on colour/shape pairs never drawn in training
  inpaint   ground-truth scene with one object on the left; right half masked and a new
            object requested there, the prompt naming that object and the background
            (StableDiffusionInpaintPipeline, 4-channel latent blending)
  img2img   ground-truth scene, prompt asks for another object colour, strength 0.75
  hires     txt2img 64 -> bicubic 128 -> img2img 128 at denoise 0.45; attributes kept
"""
from __future__ import annotations

import argparse
import os
import time

import numpy as np
import torch
from PIL import Image

from darkroom.mini import checker, world
from .train import to_tensor

MODEL_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "darkroom", "models", "mini")
ATTRS = ["background", "color", "position", "size", "shape"]
TARGETS = {
    ("txt2img", "background"): 0.90, ("txt2img", "color"): 0.90, ("txt2img", "position"): 0.80,
    ("txt2img", "size"): 0.80, ("txt2img", "shape"): 0.60, ("held-out", "color"): 0.80,
    ("inpaint", "color"): 0.70, ("inpaint", "unmasked MAD/255"): 8.0, ("img2img", "color"): 0.70,
    ("hires", "agreement"): 0.90, ("speed", "s/image"): 1.0, ("size", "MB"): 20.0,
}


def load_pipeline(path: str = MODEL_DIR):
    from diffusers import StableDiffusionPipeline
    pipe = StableDiffusionPipeline.from_pretrained(path, local_files_only=True, safety_checker=None,
                                                   requires_safety_checker=False, dtype=torch.float32)
    pipe.set_progress_bar_config(disable=True)
    return pipe


def pipeline_from_run(run: str, weights: str = "ema"):
    """The pipeline of a training checkpoint, in memory (for probes while training)."""
    from .train import pipeline_from_run as build
    pipe, step = build(run, weights)
    pipe.set_progress_bar_config(disable=True)
    print(f"checkpoint step {step}")
    return pipe


def eval_scenes(n: int, seed: int, heldout: str = "exclude") -> list[world.Scene]:
    rng = np.random.default_rng([seed, 11])
    return [world.sample_scene(rng, p_two=0.0, heldout=heldout) for _ in range(n)]


def _gens(seed: int, start: int, n: int):
    return [torch.Generator().manual_seed(seed * 100003 + start + i) for i in range(n)]


def txt2img(pipe, prompts: list[str], seed: int, steps=20, cfg=5.0, batch=25, size=64) -> list[Image.Image]:
    out = []
    for i in range(0, len(prompts), batch):
        p = prompts[i:i + batch]
        with torch.no_grad():
            out += pipe(p, num_inference_steps=steps, guidance_scale=cfg, generator=_gens(seed, i, len(p)),
                        height=size, width=size).images
    return out


def rate(scores: list[dict[str, bool]]) -> dict[str, float]:
    return {k: float(np.mean([s[k] for s in scores])) for k in scores[0]}


def eval_txt2img(pipe, n=200, seed=1, heldout="exclude", **kw) -> dict[str, float]:
    scenes = eval_scenes(n, seed, heldout)
    imgs = txt2img(pipe, [world.full_caption(s) for s in scenes], seed, **kw)
    scores = [checker.score(checker.analyze(im), s) for im, s in zip(imgs, scenes)]
    out = rate(scores)
    for size in world.SIZE_NAMES:
        out[f"shape ({size})"] = float(np.mean([r["shape"] for r, s in zip(scores, scenes) if s.objects[0].size == size]))
    return out


def eval_vae(pipe, n=200, seed=7) -> dict[str, float]:
    """The autoencoder alone: ground-truth renders through encode/decode, read by the checker
    (the ceiling of what the UNet's latents can show)."""
    scenes = eval_scenes(n, seed)
    x = to_tensor([world.render(s) for s in scenes]).to(pipe.device)
    with torch.no_grad():
        rec = pipe.vae.decode(pipe.vae.encode(x).latent_dist.mean).sample.clamp(-1, 1)
    mae = float((rec - x).abs().mean()) * 127.5
    arr = ((rec.permute(0, 2, 3, 1).cpu().numpy() + 1) * 127.5).round().astype(np.uint8)
    out = rate([checker.score(checker.analyze(a), s) for a, s in zip(arr, scenes)])
    out["MAE/255"] = mae
    return out


def eval_inpaint(pipe, n=100, seed=3, steps=20, cfg=5.0, batch=25) -> dict[str, float]:
    from diffusers import StableDiffusionInpaintPipeline
    ip = StableDiffusionInpaintPipeline.from_pipe(pipe)
    ip.set_progress_bar_config(disable=True)
    rng = np.random.default_rng([seed, 13])
    mask = np.zeros((64, 64), np.uint8)
    mask[:, 32:] = 255
    mask_img = Image.fromarray(mask)
    ok, mads = [], []
    jobs = []
    for _ in range(n):
        bg = world.COLOR_NAMES[rng.integers(8)]
        old = world.sample_object(rng, bg, "left")
        new = world.sample_object(rng, bg, "right")
        base = world.render(world.Scene(bg, (old,)))
        # the prompt describes what should appear in the masked half (as a user would write it)
        prompt = world.full_caption(world.Scene(bg, (new,)))
        jobs.append((base, prompt, new, bg))
    for i in range(0, n, batch):
        chunk = jobs[i:i + batch]
        with torch.no_grad():
            res = ip([j[1] for j in chunk], image=[j[0] for j in chunk], mask_image=[mask_img] * len(chunk),
                     num_inference_steps=steps, guidance_scale=cfg, strength=1.0, height=64, width=64,
                     generator=_gens(seed, i, len(chunk))).images
        for (base, _, new, bg), im in zip(chunk, res):
            r = checker.analyze(im, region=(slice(None), slice(32, 64)), background_rgb=world.COLORS[bg])
            ok.append(r.color == new.color)
            a, b = np.asarray(im, np.float32), np.asarray(base, np.float32)
            mads.append(float(np.abs(a[:, :32] - b[:, :32]).mean()))
    return {"color": float(np.mean(ok)), "unmasked MAD/255": float(np.mean(mads)),
            "MAD<=8 share": float(np.mean(np.array(mads) <= 8.0))}


def eval_img2img(pipe, n=100, seed=4, strength=0.75, steps=20, cfg=5.0, batch=25) -> dict[str, float]:
    from diffusers import StableDiffusionImg2ImgPipeline
    i2i = StableDiffusionImg2ImgPipeline.from_pipe(pipe)
    i2i.set_progress_bar_config(disable=True)
    rng = np.random.default_rng([seed, 17])
    jobs = []
    for s in eval_scenes(n, seed):
        o = s.objects[0]
        choices = [c for c in world.COLOR_NAMES if c not in (o.color, s.background)
                   and (c, o.shape) not in world.HELDOUT_PAIRS]
        c = choices[rng.integers(len(choices))]
        target = world.Scene(s.background, (world.Obj(o.shape, c, o.size, o.position, o.dx, o.dy, o.ds),))
        jobs.append((world.render(s), world.full_caption(target), target))
    scores = []
    for i in range(0, n, batch):
        chunk = jobs[i:i + batch]
        with torch.no_grad():
            res = i2i([j[1] for j in chunk], image=[j[0] for j in chunk], strength=strength,
                      num_inference_steps=steps, guidance_scale=cfg, generator=_gens(seed, i, len(chunk))).images
        scores += [checker.score(checker.analyze(im), j[2]) for im, j in zip(res, chunk)]
    return rate(scores)


def eval_hires(pipe, n=100, seed=5, denoise=0.45, steps=20, cfg=5.0, batch=25) -> dict[str, float]:
    from diffusers import StableDiffusionImg2ImgPipeline
    i2i = StableDiffusionImg2ImgPipeline.from_pipe(pipe)
    i2i.set_progress_bar_config(disable=True)
    scenes = eval_scenes(n, seed)
    prompts = [world.full_caption(s) for s in scenes]
    base = txt2img(pipe, prompts, seed, steps=steps, cfg=cfg, batch=batch)
    agree = []
    for i in range(0, n, batch):
        up = [b.resize((128, 128), Image.BICUBIC) for b in base[i:i + batch]]
        with torch.no_grad():
            res = i2i(prompts[i:i + batch], image=up, strength=denoise, num_inference_steps=steps,
                      guidance_scale=cfg, generator=_gens(seed + 1, i, len(up))).images
        for b, h in zip(base[i:i + batch], res):
            rb, rh = checker.analyze(b).as_dict(), checker.analyze(h.resize((64, 64), Image.BOX)).as_dict()
            agree.append({k: rb[k] == rh[k] for k in ATTRS})
    out = rate(agree)
    out["agreement"] = float(np.mean([np.mean(list(a.values())) for a in agree]))
    return out


def eval_samplers(pipe, n=25, seed=6) -> dict[str, dict[str, float]]:
    """Prompt following with the A1111 samplers built from the shipped scheduler config."""
    from diffusers import (
        DDIMScheduler,
        DPMSolverMultistepScheduler,
        EulerAncestralDiscreteScheduler,
        EulerDiscreteScheduler,
        UniPCMultistepScheduler,
    )
    cfg = pipe.scheduler.config
    samplers = {
        "DDIM": lambda: DDIMScheduler.from_config(cfg),
        "Euler a": lambda: EulerAncestralDiscreteScheduler.from_config(cfg),
        "Euler": lambda: EulerDiscreteScheduler.from_config(cfg),
        "DPM++ 2M": lambda: DPMSolverMultistepScheduler.from_config(cfg),
        "DPM++ 2M Karras": lambda: DPMSolverMultistepScheduler.from_config(cfg, use_karras_sigmas=True),
        "UniPC": lambda: UniPCMultistepScheduler.from_config(cfg),
    }
    orig = pipe.scheduler
    scenes = eval_scenes(n, seed)
    prompts = [world.full_caption(s) for s in scenes]
    out = {}
    for name, make in samplers.items():
        try:
            pipe.scheduler = make()
            imgs = txt2img(pipe, prompts, seed)
            bad = sum(not np.isfinite(np.asarray(im, np.float32)).all() or np.asarray(im).std() < 1 for im in imgs)
            r = rate([checker.score(checker.analyze(im), s) for im, s in zip(imgs, scenes)])
            r["broken images"] = bad / n
            out[name] = r
        except Exception as e:  # report, don't hide
            out[name] = {"error": f"{type(e).__name__}: {e}"[:120]}
        finally:
            pipe.scheduler = orig
    return out


def speed(pipe, reps=5) -> float:
    ts = []
    for i in range(reps + 1):
        t = time.perf_counter()
        with torch.no_grad():
            pipe("a large red circle on the left, blue background", num_inference_steps=20, guidance_scale=5.0,
                 generator=torch.Generator().manual_seed(i), height=64, width=64)
        ts.append(time.perf_counter() - t)
    return float(np.median(ts[1:]))


def folder_mb(path: str) -> float:
    return sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(path) for f in fs) / 1e6


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default=MODEL_DIR)
    p.add_argument("--run", help="evaluate a training checkpoint instead of the shipped folder")
    p.add_argument("--quick", action="store_true", help="small sets (probe)")
    p.add_argument("--n", type=int, default=200, help="images per txt2img set")
    p.add_argument("--m", type=int, default=100, help="images per other set")
    p.add_argument("--sets", default="txt2img,held-out,inpaint,img2img,hires,samplers,speed")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--device", default="cpu", help="cpu or cuda (seeds stay on the CPU, so images match)")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    pipe = pipeline_from_run(args.run) if args.run else load_pipeline(args.model)
    pipe.to(args.device)
    n = 40 if args.quick else args.n
    m = 25 if args.quick else args.m
    sets = args.sets.split(",")
    rows: list[tuple[str, str, float, float | None]] = []
    t0 = time.time()

    def add(set_name, res):
        for k, v in res.items():
            rows.append((set_name, k, v, TARGETS.get((set_name, k))))
        print(f"  [{time.time() - t0:.0f}s] {set_name}: " + ", ".join(f"{k} {v:.3f}" for k, v in res.items()), flush=True)

    if "vae" in sets:
        add("vae", eval_vae(pipe, n))
    if "txt2img" in sets:
        add("txt2img", eval_txt2img(pipe, n))
    if "held-out" in sets:
        add("held-out", eval_txt2img(pipe, m, seed=2, heldout="only"))
    if "inpaint" in sets:
        add("inpaint", eval_inpaint(pipe, m))
    if "img2img" in sets:
        add("img2img", eval_img2img(pipe, m))
    if "hires" in sets:
        add("hires", eval_hires(pipe, m))
    if "samplers" in sets:
        for name, res in eval_samplers(pipe).items():
            if "error" in res:
                print(f"  sampler {name}: {res['error']}")
                rows.append((f"sampler {name}", "error", float("nan"), None))
            else:
                add(f"sampler {name}", {k: res[k] for k in ("background", "color", "position", "broken images")})
    if "speed" in sets:
        add("speed", {"s/image": speed(pipe)})
        if not args.run:
            add("size", {"MB": folder_mb(args.model)})

    print()
    print(f"| set | metric | value | target | pass |")
    print(f"|---|---|---|---|---|")
    for s, k, v, tgt in rows:
        if tgt is None:
            print(f"| {s} | {k} | {v:.3f} | | |")
        else:
            lower_better = k in ("unmasked MAD/255", "s/image", "MB", "MAE/255")
            ok = v <= tgt if lower_better else v >= tgt
            print(f"| {s} | {k} | {v:.3f} | {'<=' if lower_better else '>='} {tgt} | {'yes' if ok else 'NO'} |")


if __name__ == "__main__":
    main()
