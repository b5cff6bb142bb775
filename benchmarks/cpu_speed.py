"""How fast a picture is made on a plain CPU: darkroom against plain diffusers, stable-diffusion.cpp and
OpenVINO, on the same weights, steps, size, prompt and seed.

    .venv/bin/python benchmarks/cpu_speed.py [--model sd15,mini] [--size 512] [--steps 20] [--cfg 7]
        [--contenders diffusers,darkroom,darkroom-fast,sdcpp-f16,sdcpp-q8,openvino] [--threads 1]
        [--packages build/bench-pkgs] [--memory] [--fast-values feature_cache=3,token_merge=0.5]

Weights: `sd15` is the SD1.5 architecture (darkroom's bundled configs) with random weights from a
fixed seed, saved once as a diffusers folder in build/cpu-speed/ (real compute, the pictures are
noise); `mini` is darkroom-mini (64x64, pictures that mean something: the mini checker reads
each one back and scores how much of its prompt it shows).

Contenders, each in its own process, alternated over --repeats:
  diffusers      StableDiffusionPipeline, float32, its defaults, DPM++ 2M Karras
  darkroom       darkroom's develop runner, precision "auto" (bfloat16 only on a CPU with bf16 hardware)
  darkroom-fast  the same with `--preset fast` (darkroom.develop.presets); --fast-values replaces the
                 preset's step values, to compare combinations (e.g. token_merge=0.5,feature_cache=0)
  darkroom-fp32  the fidelity reference (run only when "auto" is not float32 here)
  sdcpp-f16/q8   stable-diffusion.cpp through stable-diffusion-cpp-python (benchmark only, never a
                 darkroom dependency: `pip install --target build/bench-pkgs/sdcpp stable-diffusion-cpp-python`),
                 reading the same diffusers folder, weights converted to f16 / q8_0, dpm++2m + karras
  openvino       the same diffusers pipeline with its UNet and VAE decoder converted by
                 `openvino.convert_model` (`pip install --target build/bench-pkgs/openvino openvino`)
Timed: one picture after a warm-up (loading and conversion not timed, shown as "load s"); CPU s is
the process's user+system time, steadier than wall time on a shared machine; per UNet step is the
time inside the UNet divided by the steps (sd.cpp: between its first and last progress callback).
Fidelity: max abs pixel difference and PSNR against darkroom's float32 picture of the same recipe.
`--memory`: peak RSS of a hires fix to 1024x1024 and to 2048x2048 (SD1.5 architecture, 1 step),
where darkroom's VAE tiling switches itself on above 1536x1536. The last line is
`speedup_vs_diffusers: X.XX` (darkroom-fast against diffusers, by CPU time, first model measured).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PROMPT = "a photograph of an astronaut riding a horse, detailed"
NEGATIVE = "blurry"
SEED = 1
TORCH_CONTENDERS = ("diffusers", "darkroom", "darkroom-fast", "darkroom-fp32", "openvino")
CONTENDERS = ("diffusers", "darkroom", "darkroom-fast", "sdcpp-f16", "sdcpp-q8", "openvino")
MINI_PROMPTS = 6


# ---------------------------------------------------------------------------- weights
def build_sd15(folder: Path) -> Path:
    """SD1.5's UNet, VAE and CLIP text encoder with random weights (seed 0), as a diffusers folder."""
    if (folder / "model_index.json").is_file():
        return folder
    import torch
    from diffusers import AutoencoderKL, StableDiffusionPipeline, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel

    from darkroom.develop.samplers import make_scheduler
    from darkroom.models.detect import config_dir_for
    from darkroom.models.engine import load_tokenizer

    torch.manual_seed(0)
    configs = config_dir_for("sd1")
    pipe = StableDiffusionPipeline(
        vae=AutoencoderKL.from_config(AutoencoderKL.load_config(configs / "vae")),
        text_encoder=CLIPTextModel(CLIPTextConfig.from_pretrained(configs / "text_encoder")),
        tokenizer=load_tokenizer(configs / "tokenizer"),
        unet=UNet2DConditionModel.from_config(UNet2DConditionModel.load_config(configs / "unet")),
        scheduler=make_scheduler("DPM++ 2M Karras", json.loads((configs / "scheduler/scheduler_config.json")
                                                                .read_text())),
        safety_checker=None, feature_extractor=None, requires_safety_checker=False)
    pipe.save_pretrained(folder)
    return folder


def write_single_file(folder: Path) -> Path:
    """The diffusers folder as one original-layout .safetensors (what stable-diffusion.cpp reads)."""
    target = folder.with_suffix(".safetensors")
    if target.is_file():
        return target
    from diffusers import StableDiffusionPipeline
    from safetensors.torch import save_file

    sys.path.insert(0, str(ROOT / "tests"))
    from tinymodels import to_ldm  # the diffusers -> original-layout key mapping the tests check

    pipe = StableDiffusionPipeline.from_pretrained(folder, local_files_only=True, safety_checker=None)
    tensors = to_ldm("sd1", pipe.components)
    save_file({k: v.contiguous() for k, v in tensors.items()}, str(target) + ".part")
    os.replace(str(target) + ".part", target)
    return target


def model_folder(model: str, workdir: Path) -> Path:
    if model == "mini":
        return ROOT / "darkroom" / "models" / "mini"
    return build_sd15(workdir / "sd15-random")


def prompts_for(model: str) -> list[str]:
    if model != "mini":
        return [PROMPT]
    import numpy as np

    from darkroom.mini import world

    rng = np.random.default_rng(0)
    return [world.full_caption(world.sample_scene(rng, p_two=0.0)) for _ in range(MINI_PROMPTS)]


# ---------------------------------------------------------------------------- one contender (child process)
class UNetClock:
    """CPU time spent inside the UNet (forward hooks), and how many calls."""

    def __init__(self, unet):
        self.seconds, self.calls, self._start = 0.0, 0, 0.0
        unet.register_forward_pre_hook(lambda *_: setattr(self, "_start", time.process_time()))
        unet.register_forward_hook(lambda *_: self._stop())

    def _stop(self):
        self.seconds += time.process_time() - self._start
        self.calls += 1


def diffusers_maker(folder: str, args, openvino: bool = False):
    import torch
    from diffusers import StableDiffusionPipeline

    from darkroom.develop.samplers import make_scheduler

    pipe = StableDiffusionPipeline.from_pretrained(folder, local_files_only=True, safety_checker=None,
                                                   requires_safety_checker=False)
    pipe.scheduler = make_scheduler("DPM++ 2M Karras", pipe.scheduler.config)
    pipe.set_progress_bar_config(disable=True)
    if openvino:
        to_openvino(pipe, args)
    clock = UNetClock(pipe.unet)

    def make(prompt: str, steps: int, size: int):
        return pipe(prompt, negative_prompt=NEGATIVE, num_inference_steps=steps, guidance_scale=args.cfg,
                    width=size, height=size, generator=torch.Generator("cpu").manual_seed(SEED)).images[0]

    return make, clock


def to_openvino(pipe, args) -> None:
    """The pipeline's UNet and VAE decoder compiled by OpenVINO for this size (static shapes)."""
    import openvino as ov
    import torch

    core, latent = ov.Core(), args.size // 8
    core.set_property("CPU", {"INFERENCE_NUM_THREADS": args.threads})
    batch = 2 if args.cfg > 1 else 1
    channels = pipe.unet.config.in_channels
    width = pipe.text_encoder.config.hidden_size

    class UNetCall(torch.nn.Module):
        def __init__(self, unet):
            super().__init__()
            self.unet = unet

        def forward(self, sample, timestep, context):
            return self.unet(sample, timestep, encoder_hidden_states=context, return_dict=False)[0]

    class Decode(torch.nn.Module):
        def __init__(self, vae):
            super().__init__()
            self.vae = vae

        def forward(self, z):
            return self.vae.decode(z, return_dict=False)[0]

    with torch.no_grad():
        unet_ov = core.compile_model(ov.convert_model(UNetCall(pipe.unet), example_input=(
            torch.randn(batch, channels, latent, latent), torch.tensor(999.0), torch.randn(batch, 77, width))), "CPU")
        vae_ov = core.compile_model(ov.convert_model(Decode(pipe.vae), example_input=(
            torch.randn(1, pipe.vae.config.latent_channels, latent, latent),)), "CPU")

    class OVUNet(torch.nn.Module):
        def __init__(self, config):
            super().__init__()
            self.config, self.device, self.dtype = config, torch.device("cpu"), torch.float32

        def forward(self, sample, timestep, encoder_hidden_states=None, **_):
            out = unet_ov([sample.numpy(), torch.as_tensor(timestep, dtype=torch.float32).numpy(),
                           encoder_hidden_states.numpy()])[0]
            return (torch.from_numpy(out),)

    class OVDecoder(torch.nn.Module):
        def __init__(self, vae):
            super().__init__()
            self.config, self.device, self.dtype = vae.config, torch.device("cpu"), torch.float32

        def decode(self, z, return_dict=False, **_):
            return (torch.from_numpy(vae_ov([z.numpy()])[0]),)

    pipe.unet, pipe.vae = OVUNet(pipe.unet.config), OVDecoder(pipe.vae)


def fast_values(text: str | None) -> dict | None:
    """'feature_cache=3,token_merge=0.5' as step values (numbers parsed as JSON)."""
    if not text:
        return None
    pairs = [item.split("=", 1) for item in text.split(",") if item]
    if any(len(pair) != 2 for pair in pairs):
        raise SystemExit(f"--fast-values {text!r}: write NAME=VALUE,NAME=VALUE")
    return {name.strip(): json.loads(value) for name, value in pairs}


def darkroom_maker(folder: str, args, dtype: str, preset: str | None):
    from darkroom.develop.presets import apply_preset
    from darkroom.develop.recipe import Recipe
    from darkroom.develop.runner import Run, develop
    from darkroom.models.engine import load_engine
    from darkroom.models.registry import Registry
    from darkroom.settings import Settings

    settings = Settings(home=Path(args.workdir) / "darkroom-home", dtype=dtype, threads=args.threads)
    registry = Registry(settings)
    entry = registry.builtin() if args.model == "mini" else registry.resolve(folder)
    engine = load_engine(entry, dtype=dtype, settings=settings)
    clock = UNetClock(engine.components["unet"])

    def make(prompt: str, steps: int, size: int):
        step = {"op": "generate", "prompt": prompt, "negative_prompt": NEGATIVE, "seed": SEED, "steps": steps,
                "cfg": args.cfg, "sampler": "DPM++ 2M Karras", "width": size, "height": size}
        own = fast_values(args.fast_values) if preset else None
        step = {**step, **own} if own is not None else apply_preset(preset, step, settings)
        recipe = Recipe.parse({"model": {"name": entry.name}, "steps": [step]})
        return develop(Run(engine, recipe, load_input=None))[-1].image

    return make, clock, str(engine.dtype).removeprefix("torch.")


def sdcpp_maker(folder: str, args, wtype: str):
    sys.path.insert(0, str(Path(args.packages) / "sdcpp"))
    from stable_diffusion_cpp import StableDiffusion

    if args.model == "mini":
        raise SystemExit("darkroom-mini's UNet is no SD layout that stable-diffusion.cpp knows")
    checkpoint = write_single_file(Path(folder))
    sd = StableDiffusion(model_path=str(checkpoint), wtype=wtype, n_threads=args.threads, verbose=False)
    ticks: list[float] = []

    def make(prompt: str, steps: int, size: int):
        ticks.clear()
        return sd.generate_image(prompt=prompt, negative_prompt=NEGATIVE, cfg_scale=args.cfg, width=size, height=size,
                                 sample_method="dpm++2m", scheduler="karras", sample_steps=steps, seed=SEED,
                                 progress_callback=lambda step, total, _: ticks.append(time.perf_counter()))[0]

    return make, ticks


def run_contender(name: str, args) -> dict:
    """One contender in this process: warm up, then time one picture per prompt."""
    import torch

    torch.set_num_threads(args.threads)
    folder = str(model_folder(args.model, Path(args.workdir)))
    start = time.perf_counter()
    clock, ticks, dtype = None, None, "float32"
    if name in ("diffusers", "openvino"):
        make, clock = diffusers_maker(folder, args, openvino=name == "openvino")
    elif name.startswith("darkroom"):
        dtype_setting = "float32" if name == "darkroom-fp32" else "auto"
        make, clock, dtype = darkroom_maker(folder, args, dtype_setting, "fast" if name == "darkroom-fast" else None)
    else:
        wtype = {"sdcpp-f16": "f16", "sdcpp-q8": "q8_0"}[name]
        make, ticks = sdcpp_maker(folder, args, wtype)
        dtype = wtype
    if name != "openvino":  # openvino is compiled for one size
        make(PROMPT, 1, 64)
    load = time.perf_counter() - start
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    walls, cpus, unet, calls, step_times = [], [], 0.0, 0, []
    for index, prompt in enumerate(prompts_for(args.model)):
        if clock is not None:
            clock.seconds = clock.calls = 0
        wall, cpu = time.perf_counter(), time.process_time()
        image = make(prompt, args.steps, args.size)
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
        if clock is not None:
            step_times.append(clock.seconds / args.steps)
        elif ticks and len(ticks) > 1:
            step_times.append((ticks[-1] - ticks[0]) / (len(ticks) - 1))
        image.convert("RGB").save(out / f"{name}-{index}.png")
    peak = peak_rss_mb()
    return {"wall": statistics.mean(walls), "cpu": statistics.mean(cpus), "load": load, "peak_mb": peak,
            "step": statistics.mean(step_times) if step_times else None, "dtype": dtype,
            "loadavg": os.getloadavg()[0]}


def peak_rss_mb() -> float:
    """This process's peak resident set (VmHWM; ru_maxrss would carry the parent's over exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# ---------------------------------------------------------------------------- memory (tiled VAE)
def run_memory(args) -> dict:
    """Peak RSS of generate 512 + hires to `args.size` (1 step each), SD1.5 architecture."""
    import torch

    from darkroom.develop.recipe import Recipe
    from darkroom.develop.runner import Run, develop
    from darkroom.models.engine import load_engine
    from darkroom.models.registry import Registry
    from darkroom.settings import Settings

    torch.set_num_threads(args.threads)
    folder = model_folder("sd15", Path(args.workdir))
    settings = Settings(home=Path(args.workdir) / "darkroom-home", threads=args.threads)
    engine = load_engine(Registry(settings).resolve(str(folder)), settings=settings)
    recipe = Recipe.parse({"model": {"name": engine.entry.name}, "steps": [
        {"op": "generate", "prompt": PROMPT, "seed": SEED, "steps": 1, "cfg": 1.0, "width": 512, "height": 512},
        {"op": "hires", "scale": args.size / 512, "denoise": 0.5, "steps": 1, "upscaler": "Lanczos"}]})
    wall = time.perf_counter()
    image = develop(Run(engine, recipe, load_input=None))[-1].image
    return {"size": list(image.size), "wall": time.perf_counter() - wall,
            "peak_mb": peak_rss_mb()}


# ---------------------------------------------------------------------------- the parent
def child(args, name: str, extra: list[str]) -> dict:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "OMP_NUM_THREADS": str(args.threads),
           "OMP_WAIT_POLICY": "PASSIVE", "DARKROOM_HOME": str(Path(args.workdir) / "darkroom-home")}
    cmd = [sys.executable, __file__, "--child", name, "--model", args.model, "--size", str(args.size), "--steps",
           str(args.steps), "--cfg", str(args.cfg), "--threads", str(args.threads), "--workdir", str(args.workdir),
           "--packages", str(args.packages), *(["--fast-values", args.fast_values] if args.fast_values else []),
           *extra]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True)
    lines = done.stdout.strip().splitlines()
    if done.returncode or not lines:
        reason = (done.stderr.strip().splitlines() or [f"exit status {done.returncode}, no output"])[-1]
        return {"error": reason[:160]}
    return json.loads(lines[-1])


def fidelity(out: Path, name: str, reference: str, count: int) -> tuple[float, float]:
    import numpy as np
    from PIL import Image

    from darkroom.studio.replay import compare

    found = [compare(np.asarray(Image.open(out / f"{reference}-{i}.png")), np.asarray(Image.open(out / f"{name}-{i}.png")))
             for i in range(count) if (out / f"{name}-{i}.png").is_file() and (out / f"{reference}-{i}.png").is_file()]
    if not found or "max_abs" not in found[0]:
        return math.nan, math.nan
    return max(f["max_abs"] for f in found), statistics.mean(min(f["psnr"], 99.0) for f in found)


def prompt_score(out: Path, name: str) -> float:
    """Share of the attributes the mini checker reads back right, over the mini prompts."""
    import numpy as np
    from PIL import Image

    from darkroom.mini import checker, world

    rng, right, total = np.random.default_rng(0), 0, 0
    for i in range(MINI_PROMPTS):
        scene = world.sample_scene(rng, p_two=0.0)
        path = out / f"{name}-{i}.png"
        if path.is_file():
            marks = checker.score(checker.analyze(Image.open(path)), scene)
            right, total = right + sum(marks.values()), total + len(marks)
    return right / total if total else math.nan


def measure(args, names: list[str]) -> dict:
    results: dict[str, list[dict]] = {name: [] for name in names}
    for repeat in range(args.repeats):
        order = names if repeat % 2 == 0 else names[::-1]
        for name in order:
            out = Path(args.workdir) / f"images-{args.model}-{args.size}-{args.steps}" / f"r{repeat}"
            results[name].append({**child(args, name, ["--out", str(out)]), "out": str(out)})
            print(f"  {args.model} {name} run {repeat + 1}: {json.dumps(results[name][-1])}", file=sys.stderr)
    return results


def table(args, results: dict, reference: str) -> float | None:
    count = len(prompts_for(args.model))
    print(f"\n{args.model}: {args.size}x{args.size}, {args.steps} steps, CFG {args.cfg}, DPM++ 2M Karras, seed {SEED}, "
          f"{args.threads} thread(s), {count} prompt(s), {args.repeats} run(s) each (median); "
          f"load average now {os.getloadavg()[0]:.2f} (machine shared with other work)")
    head = f"{'contender':14} {'dtype':8} {'wall s':>8} {'CPU s':>8} {'UNet step s':>11} {'load s':>7} " \
           f"{'peak RSS MB':>11} {'max abs':>7} {'PSNR dB':>8} {'x diffusers':>11}"
    print(head + (f" {'prompt score':>12}" if args.model == "mini" else ""))

    def med(name, key):
        values = [r[key] for r in results[name] if r.get(key) is not None]
        return statistics.median(values) if values else None

    base = med("diffusers", "cpu") if "diffusers" in results else None
    for name, runs in results.items():
        if any("error" in r for r in runs):
            print(f"{name:14} not run here: {next(r['error'] for r in runs if 'error' in r)}")
            continue
        out = Path(runs[0]["out"])
        max_abs, psnr = fidelity(out, name, reference, count)
        speed = base / med(name, "cpu") if base else math.nan
        step = med(name, "step")
        row = (f"{name:14} {runs[0]['dtype']:8} {med(name, 'wall'):8.2f} {med(name, 'cpu'):8.2f} "
               f"{step if step is not None else math.nan:11.2f} {med(name, 'load'):7.1f} {med(name, 'peak_mb'):11.0f} "
               f"{max_abs:7.0f} {psnr:8.2f} {speed:11.2f}")
        print(row + (f" {prompt_score(out, name):12.2f}" if args.model == "mini" else ""))
    fast = med("darkroom-fast", "cpu") if "darkroom-fast" in results and not any(
        "error" in r for r in results["darkroom-fast"]) else None
    return base / fast if base and fast else None


def memory_table(args) -> None:
    rows = []
    for size in (1024, 2048):
        args.size = size
        rows.append(child(args, "memory", []))
    print("\nhires fix (generate 512, Lanczos to the size, 1 step each, CFG 1), SD1.5 architecture, darkroom auto")
    for size, row in zip((1024, 2048), rows):
        print(f"  {size}x{size}: " + (row.get("error") or f"peak RSS {row['peak_mb']:.0f} MB, {row['wall']:.0f} s"))
    if all("peak_mb" in r for r in rows):
        print(f"  ratio 2048/1024: {rows[1]['peak_mb'] / rows[0]['peak_mb']:.3f} (goal <= 1.3)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="sd15,mini", help="sd15, mini or both (comma-separated)")
    parser.add_argument("--size", type=int, default=None, help="picture side (default: 512 for sd15, 64 for mini)")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--cfg", type=float, default=7.0)
    parser.add_argument("--contenders", default=",".join(CONTENDERS))
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--workdir", type=Path, default=ROOT / "build" / "cpu-speed")
    parser.add_argument("--packages", type=Path, default=ROOT / "build" / "bench-pkgs",
                        help="folder with the benchmark-only packages (sdcpp/, openvino/)")
    parser.add_argument("--memory", action="store_true", help="also the hires 1024 vs 2048 peak-memory check")
    parser.add_argument("--fast-values", help="step values for darkroom-fast instead of the preset's, "
                        "e.g. feature_cache=3,token_merge=0.5")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        if (Path(args.packages) / "openvino").is_dir():
            sys.path.insert(0, str(Path(args.packages) / "openvino"))
        result = run_memory(args) if args.child == "memory" else run_contender(args.child, args)
        print(json.dumps(result))
        return
    unknown = set(args.contenders.split(",")) - set(CONTENDERS) - {"darkroom-fp32"}
    if unknown:
        sys.exit(f"unknown contenders: {', '.join(sorted(unknown))}; choose from {', '.join(CONTENDERS)}")
    speedups = []
    for model in args.model.split(","):
        run_args = argparse.Namespace(**{**vars(args), "model": model,
                                         "size": args.size or (64 if model == "mini" else 512)})
        model_folder(model, args.workdir)  # built once, before anything is timed
        names = [n for n in args.contenders.split(",") if n]
        reference = reference_name()
        if reference not in names:
            names.append(reference)
        speedups.append(table(run_args, measure(run_args, names), reference))
    if args.memory:
        memory_table(argparse.Namespace(**{**vars(args), "model": "sd15"}))
    first = next((s for s in speedups if s), None)
    print(f"speedup_vs_diffusers: {first:.2f}" if first else "speedup_vs_diffusers: n/a")


def reference_name() -> str:
    """darkroom's float32 picture: the 'darkroom' contender where auto is float32 here."""
    import torch

    from darkroom.models.engine import resolve_dtype

    return "darkroom" if resolve_dtype("auto", torch.device("cpu")) == torch.float32 else "darkroom-fp32"


if __name__ == "__main__":
    main()
