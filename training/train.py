"""Train darkroom-mini from scratch on the synthetic shapes world.

Stages (all resumable, deterministic by --seed):
  vae      train the AutoencoderKL on rendered scenes               -> RUN/vae.pt
  latents  render N scenes (and N' at 128x128), encode them once    -> RUN/latents.pt
  decoder  fine-tune the VAE decoder, encoder frozen (sharper edges) -> RUN/vae.pt
  unet     train UNet + CLIP text encoder jointly on cached latents  -> RUN/unet_ckpt.pt
           (zero terminal SNR, v-prediction, EMA weights)
  export   write the diffusers StableDiffusionPipeline folder (fp16 safetensors)
  all      the five in order

Usage (the defaults are the shipped recipe; about 2 hours on this 2-core machine):
  OMP_NUM_THREADS=2 python -m training.train all --threads 2 --run training/runs/main --out darkroom/models/mini
  python -m training.train all --device cuda ...      # the same recipe on a GPU
"""
from __future__ import annotations

import argparse
import copy
import json
import math
import os
import shutil
import time

import numpy as np
import torch
import torch.nn.functional as F

from darkroom.mini import world

from . import models, tokenizer


def log(*a):
    print(time.strftime("%H:%M:%S"), *a, flush=True)


def to_tensor(imgs) -> torch.Tensor:
    a = np.stack([np.asarray(i, dtype=np.float32) for i in imgs]) / 127.5 - 1.0
    return torch.from_numpy(a).permute(0, 3, 1, 2).contiguous()


def load(path):
    return torch.load(path, weights_only=False, map_location="cpu")


def csv_ints(text: str) -> tuple[int, ...]:
    return tuple(int(v) for v in text.split(","))


def atomic_save(obj, path):
    tmp = path + ".tmp"
    torch.save(obj, tmp)
    os.replace(tmp, path)


# ---------------------------------------------------------------- VAE
def train_vae(args):
    path = os.path.join(args.run, "vae.pt")
    arch = {"channels": csv_ints(args.vae_channels), "layers": args.vae_layers}
    vae = models.make_vae(**arch).to(args.device)
    opt = torch.optim.AdamW(vae.parameters(), lr=args.vae_lr, weight_decay=0.0)
    step = 0
    if os.path.exists(path):
        ck = load(path)
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
        x = x.to(args.device)
        g = torch.Generator().manual_seed(args.seed * 7919 + step)
        lr = args.vae_lr * min(1.0, (step + 1) / 100) * (0.5 * (1 + math.cos(math.pi * step / args.vae_steps)) * 0.9 + 0.1)
        for pg in opt.param_groups:
            pg["lr"] = lr
        post = vae.encode(x).latent_dist
        z = post.mean + post.std * torch.randn(post.mean.shape, generator=g).to(args.device)
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
            atomic_save({"model": vae.state_dict(), "opt": opt.state_dict(), "step": step, "arch": arch}, path)
            last_save = time.time()


def load_vae(run: str, device: str = "cpu"):
    ck = load(os.path.join(run, "vae.pt"))
    vae = models.make_vae(**ck.get("arch", {}))
    vae.load_state_dict(ck["model"])
    return vae.eval().to(device)


def train_decoder(args):
    """Fine-tune the VAE decoder with the encoder frozen: sharper edges (shapes) for the same
    latents, so a UNet trained on them needs no retraining."""
    path = os.path.join(args.run, "vae.pt")
    ck = load(path)
    vae = models.make_vae(**ck.get("arch", {})).to(args.device)
    vae.load_state_dict(ck["model"])
    step = ck.get("decoder_step", 0)
    if step >= args.decoder_steps:
        log("decoder: done already", step)
        return
    vae.requires_grad_(False)
    params = list(vae.decoder.parameters()) + list(vae.post_quant_conv.parameters())
    for p in params:
        p.requires_grad_(True)
    opt = torch.optim.AdamW(params, lr=args.decoder_lr, weight_decay=0.0)
    if "decoder_opt" in ck:
        opt.load_state_dict(ck["decoder_opt"])
    last_save, t0, s0 = time.time(), time.time(), step
    while step < args.decoder_steps:
        rng = np.random.default_rng([args.seed, 4, step])
        x = to_tensor([world.render(world.sample_scene(rng, heldout="any")) for _ in range(args.vae_batch)]).to(args.device)
        g = torch.Generator().manual_seed(args.seed * 15485863 + step)
        with torch.no_grad():
            post = vae.encode(x).latent_dist
            z = post.mean + post.std * torch.randn(post.mean.shape, generator=g).to(args.device)
        if step < args.vae_full_from * args.decoder_steps:  # 32x32 crops on the latent grid
            oy, ox = (rng.integers(0, 9, 2)).tolist()
            z, x = z[:, :, oy:oy + 8, ox:ox + 8], x[:, :, 4 * oy:4 * oy + 32, 4 * ox:4 * ox + 32]
        frac = step / args.decoder_steps
        for pg in opt.param_groups:
            pg["lr"] = args.decoder_lr * min(1.0, (step + 1) / 50) * (0.5 * (1 + math.cos(math.pi * frac)) * 0.9 + 0.1)
        rec = vae.decode(z).sample
        loss = F.mse_loss(rec, x) + (rec - x).abs().mean() + edge_loss(rec, x)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        step += 1
        if step % 25 == 0:
            log(f"decoder step {step} loss {loss.item():.4f} {(time.time() - t0) / (step - s0):.2f}s/it")
        if time.time() - last_save > 120 or step == args.decoder_steps:
            ck.update(model=vae.state_dict(), decoder_step=step, decoder_opt=opt.state_dict())
            atomic_save(ck, path)
            last_save = time.time()


def edge_loss(rec: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """L1 between horizontal and vertical pixel differences: penalises blurred outlines."""
    dx = (rec[..., :, 1:] - rec[..., :, :-1]) - (x[..., :, 1:] - x[..., :, :-1])
    dy = (rec[..., 1:, :] - rec[..., :-1, :]) - (x[..., 1:, :] - x[..., :-1, :])
    return dx.abs().mean() + dy.abs().mean()


# ---------------------------------------------------------------- latents
@torch.no_grad()
def cache_latents(args):
    path = os.path.join(args.run, "latents.pt")
    data = load(path) if os.path.exists(path) else None
    wants_hires = bool(args.n_hires) and (data is None or "latents_hires" not in data)
    if data is not None and not wants_hires:
        log("latents: cached already")
        return
    vae = load_vae(args.run, args.device)
    if data is None:
        rng = np.random.default_rng([args.seed, 2])
        scenes = [world.sample_scene(rng, p_two=args.p_two, heldout="exclude") for _ in range(args.n_scenes)]
        lat, errs = encode_scenes(vae, scenes, world.SIZE, args.device)
        std = lat.std().item()
        log(f"latents: std {std:.4f} mean {lat.mean().item():.4f} recon MAE {np.mean(errs):.2f}/255")
        data = {"latents": lat.half(), "scenes": scenes, "scaling_factor": 1.0 / std}
    if wants_hires:
        # the same world rendered at 128x128 (32x32 latents), so that hires fix, which
        # re-diffuses at twice the size, keeps sizes and shapes
        rng = np.random.default_rng([args.seed, 5])
        hires = [world.sample_scene(rng, p_two=args.p_two, heldout="exclude") for _ in range(args.n_hires)]
        lat, _ = encode_scenes(vae, hires, 2 * world.SIZE, args.device)
        data.update(latents_hires=lat.half(), scenes_hires=hires)
    atomic_save(data, path)


def encode_scenes(vae, scenes, size: int, device: str):
    lat, errs = [], []
    for i in range(0, len(scenes), 64):
        x = to_tensor([world.render(s, size) for s in scenes[i:i + 64]]).to(device)
        m = vae.encode(x).latent_dist.mean
        lat.append(m.cpu())
        if i < 640:
            errs.append((vae.decode(m).sample.clamp(-1, 1) - x).abs().mean().item() * 127.5)
        if i % 6400 == 0:
            log(f"latents {size}px {i}/{len(scenes)}")
    return torch.cat(lat), errs


# ---------------------------------------------------------------- UNet + text encoder
def load_tokenizer(args):
    from transformers import CLIPTokenizer
    tdir = os.path.join(args.run, "tokenizer")
    tokenizer.build(tdir)
    return CLIPTokenizer.from_pretrained(tdir)


def train_unet(args):
    path = os.path.join(args.run, "unet_ckpt.pt")
    data = load(os.path.join(args.run, "latents.pt"))
    sets = [(data["latents"].float() * data["scaling_factor"], data["scenes"], args.batch)]
    if args.hires_share and "latents_hires" in data:
        sets.append((data["latents_hires"].float() * data["scaling_factor"], data["scenes_hires"],
                     max(1, args.batch // 4)))
    tok = load_tokenizer(args)
    arch = {"channels": csv_ints(args.unet_channels), "layers": args.unet_layers}
    unet = models.make_unet(**arch).to(args.device)
    te = models.make_text_encoder(len(tok), tok.bos_token_id, tok.eos_token_id, tok.pad_token_id).to(args.device)
    sched = models.make_train_scheduler()
    params = list(unet.parameters()) + list(te.parameters())
    opt = torch.optim.AdamW(params, lr=args.lr, weight_decay=0.01)
    ema = {"unet": copy.deepcopy(unet.state_dict()), "te": copy.deepcopy(te.state_dict())}
    step = 0
    if os.path.exists(path):
        ck = load(path)
        unet.load_state_dict(ck["unet"])
        te.load_state_dict(ck["te"])
        opt.load_state_dict(ck["opt"])
        ema = {k: {n: v.to(args.device) for n, v in sd.items()} for k, sd in ck["ema"].items()}
        step = ck["step"]
        log("resumed unet at step", step)
    pairs = [(ema["unet"][k], v) for k, v in unet.state_dict().items() if v.dtype.is_floating_point] + \
            [(ema["te"][k], v) for k, v in te.state_dict().items() if v.dtype.is_floating_point]
    ema_list, live_list = [e for e, _ in pairs], [v for _, v in pairs]
    probs = [sampling_weights(sc, args.two_weight) for _, sc, _ in sets]
    last_save = time.time()
    t0, s0 = time.time(), step
    losses = []
    while step < args.steps:
        rng = np.random.default_rng([args.seed, 3, step])
        k = 1 if len(sets) > 1 and rng.random() < args.hires_share else 0
        lat, scenes, batch = sets[k]
        idx = rng.choice(len(scenes), batch, p=probs[k]) if probs[k] is not None else rng.integers(0, len(scenes), batch)
        caps = [("" if rng.random() < args.p_uncond else world.caption(scenes[i], rng, args.p_drop)) for i in idx]
        ids = tok(caps, padding="max_length", max_length=77, truncation=True, return_tensors="pt").input_ids
        x0 = lat[torch.from_numpy(idx)]
        g = torch.Generator().manual_seed(args.seed * 104729 + step)
        noise = torch.randn(x0.shape, generator=g)
        # half the batch uniform over all timesteps, half over the noisy end where the layout
        # (colours, position, size) is decided
        t = torch.randint(0, 1000, (batch,), generator=g)
        hi = torch.randint(args.t_high, 1000, (batch,), generator=g)
        t = torch.where(torch.arange(batch) % 2 == 1, hi, t)
        xt = sched.add_noise(x0, noise, t)
        target = sched.get_velocity(x0, noise, t)
        for pg in opt.param_groups:
            pg["lr"] = learning_rate(args, step)
        h = te(ids.to(args.device))[0]
        pred = unet(xt.to(args.device), t.to(args.device), h).sample
        err = (pred - target.to(args.device)) ** 2
        if args.object_weight != 1.0:
            w = 1.0 + (args.object_weight - 1.0) * object_masks([scenes[i] for i in idx], x0.shape[-1]).to(args.device)
            loss = (err * w).mean() / w.mean()
        else:
            loss = err.mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        step += 1
        decay = min(args.ema, (1 + step) / (10 + step))
        with torch.no_grad():
            torch._foreach_lerp_(ema_list, live_list, 1 - decay)
        losses.append(loss.item())
        if step % 50 == 0:
            log(f"unet step {step} loss {np.mean(losses[-50:]):.4f} lr {learning_rate(args, step):.2e} "
                f"{(time.time() - t0) / (step - s0):.2f}s/it")
        if time.time() - last_save > args.save_every or step == args.steps:
            atomic_save({"unet": unet.state_dict(), "te": te.state_dict(), "opt": opt.state_dict(),
                         "ema": ema, "step": step, "arch": arch}, path)
            last_save = time.time()
            log("saved", step)


def object_masks(scenes, latent_size: int) -> torch.Tensor:
    """1 on the latent pixels that an object touches (grown by one), else 0: (B, 1, S, S).
    For `--object-weight`: the background is most of every latent and easy, so weighting the
    object's pixels up aims the loss at shapes (tried at 4x: worse, see MODEL_CARD.md)."""
    masks = []
    for sc in scenes:
        m = np.zeros((world.SIZE, world.SIZE), bool)
        for o in sc.objects:
            m |= world.shape_mask(o.shape, *o.center, o.extent)
        masks.append(m)
    m = torch.from_numpy(np.stack(masks)).float()[:, None]
    m = F.max_pool2d(m, 4)  # 64 -> 16: any pixel of the object
    m = F.max_pool2d(m, 3, stride=1, padding=1)
    return F.interpolate(m, size=latent_size, mode="nearest")


def sampling_weights(scenes, two_weight: float):
    """Sample two-object scenes less (or more) often than they are cached."""
    if two_weight == 1.0:
        return None
    w = np.array([two_weight if len(sc.objects) == 2 else 1.0 for sc in scenes])
    return w / w.sum()


def parse_cycles(text: str) -> list[tuple[int, int]]:
    """'3800:3230,5600:4400' -> [(3800, 3230), (5600, 4400)]: cycle end, step its decay starts."""
    cycles = [tuple(int(v) for v in part.split(":")) for part in text.split(",")]
    if any(d >= e for e, d in cycles) or [e for e, _ in cycles] != sorted({e for e, _ in cycles}):
        raise SystemExit(f"--cycles {text!r}: each END:DECAY needs DECAY < END, with the ENDs rising")
    return cycles


def learning_rate(args, step: int) -> float:
    """Linear warm-up, then per cycle: constant, cosine decay to a tenth, back up (warm restart)."""
    lr = args.lr * min(1.0, (step + 1) / args.warmup)
    for end, start in parse_cycles(args.cycles):
        if step < end:
            if step > start:
                lr *= 0.5 * (1 + math.cos(math.pi * (step - start) / (end - start))) * 0.9 + 0.1
            break
    return lr


# ---------------------------------------------------------------- export
def pipeline_from_run(run: str, weights: str = "ema"):
    """The StableDiffusionPipeline of a run's checkpoints (EMA or raw weights), in memory, and
    the UNet step it holds."""
    from diffusers import StableDiffusionPipeline
    from transformers import CLIPTokenizer
    data = load(os.path.join(run, "latents.pt"))
    ck = load(os.path.join(run, "unet_ckpt.pt"))
    tok = CLIPTokenizer.from_pretrained(os.path.join(run, "tokenizer"))
    vae = load_vae(run)
    vae.register_to_config(scaling_factor=float(data["scaling_factor"]))
    unet = models.make_unet(**ck.get("arch", {}))
    te = models.make_text_encoder(len(tok), tok.bos_token_id, tok.eos_token_id, tok.pad_token_id)
    src = ck["ema"] if weights == "ema" else {"unet": ck["unet"], "te": ck["te"]}
    unet.load_state_dict(src["unet"])
    te.load_state_dict(src["te"])
    pipe = StableDiffusionPipeline(vae=vae, text_encoder=te.eval(), tokenizer=tok, unet=unet.eval(),
                                   scheduler=models.make_sample_scheduler(), safety_checker=None,
                                   feature_extractor=None, requires_safety_checker=False)
    return pipe, ck["step"]


def export(args):
    load_tokenizer(args)
    pipe, step = pipeline_from_run(args.run, args.weights)
    out = args.out
    tmp = out.rstrip("/") + ".tmp"
    if os.path.exists(tmp):
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
    for f in ("vocab.json", "merges.txt", "special_tokens_map.json", "tokenizer_config.json"):
        shutil.copy(os.path.join(args.run, "tokenizer", f), os.path.join(tmp, "tokenizer", f))
    # keep hand-written files (model card) that live in the target folder
    if os.path.isdir(out):
        for f in os.listdir(out):
            if f.endswith(".md") and not os.path.exists(os.path.join(tmp, f)):
                shutil.copy(os.path.join(out, f), os.path.join(tmp, f))
        shutil.rmtree(out)
    os.replace(tmp, out)
    with open(os.path.join(args.run, "export_info.json"), "w") as f:
        json.dump({"step": step, "weights": args.weights}, f)
    log("exported step", step, "to", out)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("stage", choices=["vae", "latents", "decoder", "unet", "export", "all"])
    p.add_argument("--run", default="training/runs/main")
    p.add_argument("--out", default="darkroom/models/mini")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--device", default="cpu", help="cpu or cuda")
    p.add_argument("--vae-channels", default="16,32,64")
    p.add_argument("--vae-layers", type=int, default=1)
    p.add_argument("--unet-channels", default="32,64,128")
    p.add_argument("--unet-layers", type=int, default=1)
    p.add_argument("--vae-steps", type=int, default=900)
    p.add_argument("--vae-batch", type=int, default=16)
    p.add_argument("--vae-lr", type=float, default=2e-3)
    p.add_argument("--vae-kl", type=float, default=1e-6)
    p.add_argument("--vae-crop", type=int, default=32)
    p.add_argument("--vae-full-from", type=float, default=0.93)
    p.add_argument("--decoder-steps", type=int, default=2000, help="decoder fine-tune steps (encoder frozen)")
    p.add_argument("--decoder-lr", type=float, default=1e-3)
    p.add_argument("--n-scenes", type=int, default=40000)
    p.add_argument("--n-hires", type=int, default=8000, help="scenes rendered at 128x128 for multi-size training")
    p.add_argument("--hires-share", type=float, default=0.15, help="share of steps on 128x128 scenes (batch / 4)")
    p.add_argument("--p-two", type=float, default=0.25, help="share of two-object scenes in the cache")
    p.add_argument("--two-weight", type=float, default=0.1, help="sampling weight of two-object scenes")
    p.add_argument("--cycles", default="3800:3230,5600:4400,7400:6200",
                   help="learning-rate cycles END:DECAY,... (the run ends at the last END)")
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--t-high", type=int, default=400, help="half of each batch samples t in [t_high, 1000)")
    p.add_argument("--warmup", type=int, default=200)
    p.add_argument("--ema", type=float, default=0.999)
    p.add_argument("--object-weight", type=float, default=1.0, help="loss weight of the latent pixels an object covers")
    p.add_argument("--p-uncond", type=float, default=0.1)
    p.add_argument("--p-drop", type=float, default=0.15)
    p.add_argument("--save-every", type=float, default=180)
    p.add_argument("--weights", choices=["ema", "raw"], default="ema")
    args = p.parse_args(argv)
    args.steps = parse_cycles(args.cycles)[-1][0]
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    os.makedirs(args.run, exist_ok=True)
    stages = ["vae", "latents", "decoder", "unet", "export"] if args.stage == "all" else [args.stage]
    for s in stages:
        t = time.time()
        {"vae": train_vae, "latents": cache_latents, "decoder": train_decoder, "unet": train_unet,
         "export": export}[s](args)
        log(f"stage {s} took {time.time() - t:.0f}s")


if __name__ == "__main__":
    main()
