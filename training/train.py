"""Train darkroom-mini from scratch on the synthetic shapes world.

Stages (all resumable, deterministic by --seed):
  vae      train the AutoencoderKL on rendered scenes               -> RUN/vae.pt
  latents  render N scenes, encode them once                        -> RUN/latents.pt
  unet     train UNet + CLIP text encoder jointly on cached latents  -> RUN/unet_ckpt.pt
           (zero terminal SNR, v-prediction, EMA weights)
  export   write the diffusers StableDiffusionPipeline folder (fp16 safetensors)
  all      the four in order

Usage (the defaults are the shipped recipe; about 1 h 45 min on one busy core):
  OMP_NUM_THREADS=1 python -m training.train all --run training/runs/main --out darkroom/models/mini
"""
from __future__ import annotations

import argparse
import copy
import json
import math
import os
import time

import numpy as np
import torch
import torch.nn.functional as F

from . import models, tokenizer, world


def log(*a):
    print(time.strftime("%H:%M:%S"), *a, flush=True)


def to_tensor(imgs) -> torch.Tensor:
    a = np.stack([np.asarray(i, dtype=np.float32) for i in imgs]) / 127.5 - 1.0
    return torch.from_numpy(a).permute(0, 3, 1, 2).contiguous()


def atomic_save(obj, path):
    tmp = path + ".tmp"
    torch.save(obj, tmp)
    os.replace(tmp, path)


# ---------------------------------------------------------------- VAE
def train_vae(args):
    path = os.path.join(args.run, "vae.pt")
    vae = models.make_vae()
    opt = torch.optim.AdamW(vae.parameters(), lr=args.vae_lr, weight_decay=0.0)
    step = 0
    if os.path.exists(path):
        ck = torch.load(path, weights_only=False)
        vae.load_state_dict(ck["model"])
        opt.load_state_dict(ck["opt"])
        step = ck["step"]
        if step >= args.vae_steps:
            log("vae: done already", step)
            return
    last_save = time.time()
    t0, s0 = time.time(), step
    while step < args.vae_steps:
        rng = np.random.default_rng([args.seed, 1, step])
        x = to_tensor([world.render(world.sample_scene(rng, heldout="any")) for _ in range(args.vae_batch)])
        if step < args.vae_full_from * args.vae_steps and args.vae_crop < 64:
            # random crops (on the 4-pixel latent grid) are 4x cheaper and teach the same
            # local colour/edge coding; the last steps see whole images
            c = args.vae_crop
            ox, oy = (rng.integers(0, (64 - c) // 4 + 1, 2) * 4).tolist()
            x = x[:, :, oy:oy + c, ox:ox + c]
        g = torch.Generator().manual_seed(args.seed * 7919 + step)
        lr = args.vae_lr * min(1.0, (step + 1) / 100) * (0.5 * (1 + math.cos(math.pi * step / args.vae_steps)) * 0.9 + 0.1)
        for pg in opt.param_groups:
            pg["lr"] = lr
        post = vae.encode(x).latent_dist
        z = post.mean + post.std * torch.randn(post.mean.shape, generator=g)
        rec = vae.decode(z).sample
        l1 = (rec - x).abs().mean()
        loss = F.mse_loss(rec, x) + l1 + args.vae_kl * post.kl().mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(vae.parameters(), 1.0)
        opt.step()
        step += 1
        if step % 25 == 0:
            log(f"vae step {step} loss {loss.item():.4f} mae/255 {l1.item() * 127.5:.2f} {(time.time() - t0) / (step - s0):.2f}s/it")
        if time.time() - last_save > 120 or step == args.vae_steps:
            atomic_save({"model": vae.state_dict(), "opt": opt.state_dict(), "step": step}, path)
            last_save = time.time()


def load_vae(args):
    vae = models.make_vae()
    vae.load_state_dict(torch.load(os.path.join(args.run, "vae.pt"), weights_only=False)["model"])
    vae.eval()
    return vae


# ---------------------------------------------------------------- latents
@torch.no_grad()
def cache_latents(args):
    path = os.path.join(args.run, "latents.pt")
    if os.path.exists(path):
        log("latents: cached already")
        return
    vae = load_vae(args)
    rng = np.random.default_rng([args.seed, 2])
    scenes = [world.sample_scene(rng, p_two=args.p_two, heldout="exclude") for _ in range(args.n_scenes)]
    lat, errs = [], []
    for i in range(0, len(scenes), 64):
        x = to_tensor([world.render(s) for s in scenes[i:i + 64]])
        m = vae.encode(x).latent_dist.mean
        lat.append(m)
        if i < 640:
            errs.append((vae.decode(m).sample.clamp(-1, 1) - x).abs().mean().item() * 127.5)
        if i % 6400 == 0:
            log(f"latents {i}/{len(scenes)}")
    lat = torch.cat(lat)
    std = lat.std().item()
    log(f"latents: std {std:.4f} mean {lat.mean().item():.4f} recon MAE {np.mean(errs):.2f}/255")
    atomic_save({"latents": lat.half(), "scenes": scenes, "scaling_factor": 1.0 / std,
                 "vae_mae": float(np.mean(errs))}, path)


# ---------------------------------------------------------------- UNet + text encoder
def load_tokenizer(args):
    from transformers import CLIPTokenizer
    tdir = os.path.join(args.run, "tokenizer")
    tokenizer.build(tdir)
    return CLIPTokenizer.from_pretrained(tdir)


def train_unet(args):
    path = os.path.join(args.run, "unet_ckpt.pt")
    data = torch.load(os.path.join(args.run, "latents.pt"), weights_only=False)
    lat = data["latents"].float() * data["scaling_factor"]
    scenes = data["scenes"]
    tok = load_tokenizer(args)
    unet = models.make_unet()
    te = models.make_text_encoder(len(tok), tok.bos_token_id, tok.eos_token_id, tok.pad_token_id)
    sched = models.make_train_scheduler()
    params = list(unet.parameters()) + list(te.parameters())
    opt = torch.optim.AdamW(params, lr=args.lr, weight_decay=0.01)
    ema = {"unet": copy.deepcopy(unet.state_dict()), "te": copy.deepcopy(te.state_dict())}
    step = 0
    if os.path.exists(path):
        ck = torch.load(path, weights_only=False)
        unet.load_state_dict(ck["unet"])
        te.load_state_dict(ck["te"])
        opt.load_state_dict(ck["opt"])
        ema = ck["ema"]
        step = ck["step"]
        log("resumed unet at step", step)
    ema_params = [(ema["unet"][k], v) for k, v in unet.state_dict().items() if v.dtype.is_floating_point] + \
                 [(ema["te"][k], v) for k, v in te.state_dict().items() if v.dtype.is_floating_point]
    probs = None
    if args.two_weight != 1.0:  # sample two-object scenes less (or more) often than cached
        w = np.array([args.two_weight if len(sc.objects) == 2 else 1.0 for sc in scenes])
        probs = w / w.sum()
    last_save = time.time()
    t0, s0 = time.time(), step
    losses = []
    while step < args.steps:
        rng = np.random.default_rng([args.seed, 3, step])
        idx = rng.choice(len(scenes), args.batch, p=probs) if probs is not None else rng.integers(0, len(scenes), args.batch)
        caps = [("" if rng.random() < args.p_uncond else world.caption(scenes[i], rng, args.p_drop)) for i in idx]
        ids = tok(caps, padding="max_length", max_length=77, truncation=True, return_tensors="pt").input_ids
        x0 = lat[torch.from_numpy(idx)]
        g = torch.Generator().manual_seed(args.seed * 104729 + step)
        noise = torch.randn(x0.shape, generator=g)
        # half the batch uniform over all timesteps, half over the noisy end where the layout
        # (colours, position, size) is decided; the world has little fine detail to learn
        t = torch.randint(0, 1000, (args.batch,), generator=g)
        hi = torch.randint(args.t_high, 1000, (args.batch,), generator=g)
        t = torch.where(torch.arange(args.batch) % 2 == 1, hi, t)
        xt = sched.add_noise(x0, noise, t)
        target = sched.get_velocity(x0, noise, t)
        lr = args.lr * min(1.0, (step + 1) / args.warmup)
        if step > args.decay_from * args.steps:
            frac = (step - args.decay_from * args.steps) / ((1 - args.decay_from) * args.steps)
            lr *= 0.5 * (1 + math.cos(math.pi * frac)) * 0.9 + 0.1
        for pg in opt.param_groups:
            pg["lr"] = lr
        h = te(ids)[0]
        pred = unet(xt, t, h).sample
        loss = F.mse_loss(pred, target)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        step += 1
        decay = min(args.ema, (1 + step) / (10 + step))
        with torch.no_grad():
            for e, p in ema_params:
                e.lerp_(p, 1 - decay)
        losses.append(loss.item())
        if step % 50 == 0:
            log(f"unet step {step} loss {np.mean(losses[-50:]):.4f} lr {lr:.2e} {(time.time() - t0) / (step - s0):.2f}s/it")
        if time.time() - last_save > args.save_every or step == args.steps:
            atomic_save({"unet": unet.state_dict(), "te": te.state_dict(), "opt": opt.state_dict(),
                         "ema": ema, "step": step}, path)
            last_save = time.time()
            log("saved", step)


# ---------------------------------------------------------------- export
def export(args):
    from diffusers import StableDiffusionPipeline
    data = torch.load(os.path.join(args.run, "latents.pt"), weights_only=False)
    ck = torch.load(os.path.join(args.run, "unet_ckpt.pt"), weights_only=False)
    tok = load_tokenizer(args)
    vae = load_vae(args)
    vae.register_to_config(scaling_factor=float(data["scaling_factor"]))
    unet = models.make_unet()
    te = models.make_text_encoder(len(tok), tok.bos_token_id, tok.eos_token_id, tok.pad_token_id)
    src = ck["ema"] if args.weights == "ema" else {"unet": ck["unet"], "te": ck["te"]}
    unet.load_state_dict(src["unet"])
    te.load_state_dict(src["te"])
    pipe = StableDiffusionPipeline(vae=vae, text_encoder=te, tokenizer=tok, unet=unet,
                                   scheduler=models.make_sample_scheduler(), safety_checker=None,
                                   feature_extractor=None, requires_safety_checker=False)
    out = args.out
    tmp = out.rstrip("/") + ".tmp"
    if os.path.exists(tmp):
        import shutil
        shutil.rmtree(tmp)
    # UNet and VAE in float16 (diffusers upcasts them to float32 when loading). The text encoder
    # is stored as float32 (its values rounded through float16 like the rest): transformers 5
    # loads with dtype="auto", and a float16 text encoder next to a float32 UNet would fail
    # for anyone who loads the folder without torch_dtype.
    pipe.to(torch.float16)
    pipe.text_encoder.to(torch.float32)
    pipe.save_pretrained(tmp, safe_serialization=True)
    # keys that other samplers read when the studio builds them with from_config (as in SD's own
    # scheduler config): without them DDIM would clip x0 to [-1, 1] and set alpha_0 = 1
    sc_path = os.path.join(tmp, "scheduler", "scheduler_config.json")
    with open(sc_path) as f:
        sc = json.load(f)
    sc.update({"clip_sample": False, "set_alpha_to_one": False, "skip_prk_steps": True})
    with open(sc_path, "w") as f:
        json.dump(sc, f, indent=2, sort_keys=True)
    # the slow-tokenizer files too (vocab.json + merges.txt) and a plain tokenizer_config.json
    # (without transformers-5-only keys), so transformers 4.x and 5.x both load it
    import shutil
    for f in ("vocab.json", "merges.txt", "special_tokens_map.json", "tokenizer_config.json"):
        shutil.copy(os.path.join(args.run, "tokenizer", f), os.path.join(tmp, "tokenizer", f))
    # keep hand-written files (model card) that live in the target folder
    if os.path.isdir(out):
        import shutil
        for f in os.listdir(out):
            if f.endswith(".md") and not os.path.exists(os.path.join(tmp, f)):
                shutil.copy(os.path.join(out, f), os.path.join(tmp, f))
        shutil.rmtree(out)
    os.replace(tmp, out)
    with open(os.path.join(args.run, "export_info.json"), "w") as f:
        json.dump({"step": ck["step"], "weights": args.weights, "vae_mae": data["vae_mae"]}, f)
    log("exported step", ck["step"], "to", out)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("stage", choices=["vae", "latents", "unet", "export", "all"])
    p.add_argument("--run", default="training/runs/main")
    p.add_argument("--out", default="darkroom/models/mini")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--vae-steps", type=int, default=900)
    p.add_argument("--vae-batch", type=int, default=16)
    p.add_argument("--vae-lr", type=float, default=2e-3)
    p.add_argument("--vae-kl", type=float, default=1e-6)
    p.add_argument("--vae-crop", type=int, default=32)
    p.add_argument("--vae-full-from", type=float, default=0.93)
    p.add_argument("--n-scenes", type=int, default=40000)
    p.add_argument("--p-two", type=float, default=0.25, help="share of two-object scenes in the cache")
    p.add_argument("--two-weight", type=float, default=0.1, help="sampling weight of two-object scenes")
    p.add_argument("--steps", type=int, default=3800)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--t-high", type=int, default=400, help="half of each batch samples t in [t_high, 1000)")
    p.add_argument("--warmup", type=int, default=200)
    p.add_argument("--decay-from", type=float, default=0.85)
    p.add_argument("--ema", type=float, default=0.999)
    p.add_argument("--p-uncond", type=float, default=0.1)
    p.add_argument("--p-drop", type=float, default=0.15)
    p.add_argument("--save-every", type=float, default=180)
    p.add_argument("--weights", choices=["ema", "raw"], default="ema")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    os.makedirs(args.run, exist_ok=True)
    stages = ["vae", "latents", "unet", "export"] if args.stage == "all" else [args.stage]
    for s in stages:
        t = time.time()
        {"vae": train_vae, "latents": cache_latents, "unet": train_unet, "export": export}[s](args)
        log(f"stage {s} took {time.time() - t:.0f}s")


if __name__ == "__main__":
    main()
