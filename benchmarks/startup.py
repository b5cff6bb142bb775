"""Start-up cost of the command line: what a one-shot `darkroom ...` spends before and around its work.

    .venv/bin/python benchmarks/startup.py [--repeats 5] [--before DIR] [--skip-imports] [--skip-floor]

Each command runs in a fresh process (`python -m darkroom ...`), HF_HUB_OFFLINE=1, in one data dir
that a first, untimed `generate` prepared (keys, databases, the mini model's hash): the timed runs
are what a user sees from the second command on. Commands, each `--repeats` times (median):

    --help                                  the parser alone
    verify PICTURE                          C2PA, XMP, watermark, recipe and audit look-up of a picture
    generate "a red circle" -o DIR          darkroom-mini, its defaults (64x64, 20 steps)

Wall time and CPU time (user + system of the child) per command. Then one generate under
`python -X importtime`, its import time (self time, summed) per module group, and which groups
`--help` and `verify` import at all. `--before DIR` measures a second checkout the same way (e.g.
`git worktree add /tmp/before HEAD`), runs alternating with this one, and prints both side by side.
Wall time is disturbed by other work on the machine (the load average is printed); CPU time less so.

The floor: fresh processes that only import what a generate cannot do without (torch; torch._dynamo,
which diffusers.utils imports unconditionally; the UNet, VAE, scheduler, CLIP and pipeline modules, whose
packages import every other model of their kind, peft and scipy), with the collector paused as the
`darkroom` program pauses it. No one-shot generate can be faster than that.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parents[1]
GROUPS = ("torch", "diffusers", "transformers", "scipy", "sympy", "peft", "accelerate", "numpy", "PIL",
          "pydantic", "yaml", "c2pa", "cryptography", "fastapi", "uvicorn", "starlette", "tokenizers", "darkroom")
HEAVY = ("torch", "diffusers", "transformers", "scipy", "fastapi", "uvicorn")
SD_MODULES = ("diffusers.models.unets.unet_2d_condition", "diffusers.models.autoencoders.autoencoder_kl",
              "diffusers.schedulers.scheduling_euler_ancestral_discrete", "transformers.models.clip.modeling_clip",
              "diffusers.pipelines.stable_diffusion.pipeline_stable_diffusion")
FLOOR = {  # name: what the fresh process imports
    "python": (),
    "torch": ("torch",),
    "+ torch._dynamo": ("torch", "torch._dynamo"),
    "+ SD modules": ("torch", "torch._dynamo", *SD_MODULES),
}
FORCED = ("sympy", "scipy", "peft", "accelerate", "torchvision", "matplotlib", "fastapi")


def env_for(root: Path, home: Path) -> dict:
    """The environment that runs `root`'s darkroom (its folder first on the path) with data dir `home`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DARKROOM_")}
    env.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", DARKROOM_HOME=str(home),
               PYTHONPATH=str(root) + os.pathsep + env.get("PYTHONPATH", ""))
    return env


def run(argv: list[str], env: dict, *, importtime: bool = False) -> tuple[float, float, str]:
    """Wall seconds, CPU seconds (user + system) and output of one `python -m darkroom ARGV`, run in
    the checkout's folder (first on sys.path, ahead of an editable install of another one)."""
    wall, cpu, out = timed([sys.executable, *(["-X", "importtime"] if importtime else []), "-m", "darkroom", *argv],
                           env, cwd=env["PYTHONPATH"].split(os.pathsep)[0])
    if out.returncode not in (0, 1) or (out.returncode and argv[0] != "verify"):
        sys.exit(f"darkroom {' '.join(argv)} failed ({out.returncode}):\n{out.stderr[-3000:]}")
    return wall, cpu, out.stderr + "\n" + out.stdout


def timed(command: list[str], env: dict, cwd=None) -> tuple[float, float, subprocess.CompletedProcess]:
    """Wall seconds, CPU seconds (user + system of the child) and result of one child process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    out = subprocess.run(command, env=env, capture_output=True, text=True, cwd=cwd)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), out


def import_groups(stderr: str) -> tuple[Counter, float]:
    """Self import time (seconds) per module group from `-X importtime` output, and the total."""
    groups: Counter = Counter()
    for line in stderr.splitlines():
        match = re.match(r"import time:\s+(\d+) \|\s+\d+ \| \s*(\S+)", line)
        if match:
            top = match.group(2).split(".")[0]
            groups[top if top in GROUPS else "other"] += int(match.group(1)) / 1e6
    return groups, sum(groups.values())


def imported(stderr: str) -> set[str]:
    return {m.group(1).split(".")[0] for m in re.finditer(r"import time:\s+\d+ \|\s+\d+ \| \s*(\S+)", stderr)}


class Checkout:
    def __init__(self, name: str, root: Path, tmp: Path):
        self.name, self.root = name, root
        self.home, self.out = tmp / f"{name}-home", tmp / f"{name}-out"
        self.env = env_for(root, self.home)
        self.times: dict[str, list[tuple[float, float]]] = {}
        _, _, text = run(["generate", "a red circle", "-o", str(self.out)], self.env)  # prepares the data dir
        self.picture = next(self.out.glob("*.png"))
        self.commands = {"--help": ["--help"], "verify": ["verify", str(self.picture)],
                         "generate": ["generate", "a red circle", "-o", str(self.out)]}

    def measure(self, command: str) -> None:
        wall, cpu, _ = run(self.commands[command], self.env)
        self.times.setdefault(command, []).append((wall, cpu))

    def median(self, command: str) -> tuple[float, float]:
        runs = self.times[command]
        return statistics.median(w for w, _ in runs), statistics.median(c for _, c in runs)

    def imports(self) -> dict:
        return {command: run(argv, self.env, importtime=True)[2] for command, argv in self.commands.items()}


def floor_process(modules: tuple[str, ...], env: dict) -> tuple[float, float, set[str]]:
    """Wall and CPU seconds of a fresh interpreter importing `modules` (collector paused), and the
    top-level packages it ended up with."""
    code = ("import gc, importlib, json, sys\ngc.disable()\n"
            f"for name in {list(modules)!r}:\n    importlib.import_module(name)\n"
            "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))\ngc.freeze()")
    wall, cpu, out = timed([sys.executable, "-c", code], env)
    if out.returncode:
        sys.exit(f"importing {', '.join(modules)} failed:\n{out.stderr[-3000:]}")
    return wall, cpu, set(json.loads(out.stdout.strip().splitlines()[-1]))


def measure_floor(repeats: int) -> dict:
    env = env_for(HERE, Path(tempfile.gettempdir()))
    runs: dict = {name: [] for name in FLOOR}
    packages: set[str] = set()
    for _ in range(repeats):
        for name, modules in FLOOR.items():
            wall, cpu, packages_now = floor_process(modules, env)
            runs[name].append((wall, cpu))
            packages |= packages_now
    return {"runs": runs, "forced": sorted(packages & set(FORCED))}


def print_floor(floor: dict) -> None:
    print("\nthe floor: fresh processes that only import (collector paused; median wall s / CPU s)")
    for name, runs in floor["runs"].items():
        wall, cpu = statistics.median(w for w, _ in runs), statistics.median(c for _, c in runs)
        print(f"{name:18} {wall:7.2f} {cpu:7.2f}   runs (wall s) {' '.join(f'{w:.1f}' for w, _ in runs)}")
    print(f"packages those imports pull in beside torch, diffusers, transformers: {', '.join(floor['forced'])}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--before", type=Path, help="a second checkout to measure the same way (e.g. a git worktree)")
    parser.add_argument("--skip-imports", action="store_true", help="no -X importtime table")
    parser.add_argument("--skip-floor", action="store_true", help="no table of the import-only floor")
    args = parser.parse_args()
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="darkroom-startup-") as tmp:
        sides = [Checkout("after", HERE, Path(tmp))]
        if args.before:
            sides.insert(0, Checkout("before", args.before.resolve(), Path(tmp)))
        for repeat in range(args.repeats):
            for side in sides if repeat % 2 == 0 else sides[::-1]:
                for command in side.commands:
                    side.measure(command)
        imports = {} if args.skip_imports else {side.name: side.imports() for side in sides}
    floor = None if args.skip_floor else measure_floor(args.repeats)
    print_tables(sides, imports, args.repeats, load_before, os.getloadavg())
    if floor:
        print_floor(floor)


def print_tables(sides, imports, repeats, load_before, load_after) -> None:
    print(f"darkroom start-up, {repeats} runs per command (median), {os.cpu_count()} cores, load average "
          f"before {'/'.join(f'{x:.2f}' for x in load_before)}, after {'/'.join(f'{x:.2f}' for x in load_after)}")
    print(f"{'command':12}" + "".join(f" {s.name + ' wall s':>14} {s.name + ' CPU s':>13}" for s in sides)
          + "   runs (wall s)")
    for command in sides[0].commands:
        cells = "".join(f" {s.median(command)[0]:14.2f} {s.median(command)[1]:13.2f}" for s in sides)
        runs = " | ".join(" ".join(f"{w:.1f}" for w, _ in s.times[command]) for s in sides)
        print(f"{command:12}{cells}   {runs}")
    if not imports:
        return
    print("\nimport time of one generate under -X importtime (self time summed per group, seconds; "
          "importtime itself adds to it)")
    tables = {name: import_groups(texts["generate"]) for name, texts in imports.items()}
    print(f"{'group':14}" + "".join(f" {name:>9}" for name in tables))
    for group in list(GROUPS) + ["other"]:
        if any(t[0][group] >= 0.005 for t in tables.values()):
            print(f"{group:14}" + "".join(f" {t[0][group]:9.2f}" for t in tables.values()))
    print(f"{'total':14}" + "".join(f" {t[1]:9.2f}" for t in tables.values()))
    print("\nheavy packages each command imports")
    for name, texts in imports.items():
        for command, text in texts.items():
            heavy = sorted(imported(text) & set(HEAVY))
            print(f"{name:8} {command:10} {', '.join(heavy) or 'none of ' + ', '.join(HEAVY)}")


if __name__ == "__main__":
    main()
