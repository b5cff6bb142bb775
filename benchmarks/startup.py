"""Start-up cost of the command line: what a one-shot `darkroom ...` spends before and around its work.

    .venv/bin/python benchmarks/startup.py [--repeats 3] [--before DIR] [--fresh-home] [--skip-imports]
                                           [--skip-timeline] [--skip-floor]

Each command runs in a fresh process (`python -m darkroom ...`), HF_HUB_OFFLINE=1, in one data dir
that a first, untimed `generate` prepared (keys, databases, the mini model's hash): the timed runs
are what a user sees from the second command on. Commands, each `--repeats` times (median):

    --help                                  the parser alone
    verify PICTURE                          C2PA, XMP, watermark, recipe and audit look-up of a picture
    generate "a red circle" -o DIR          darkroom-mini, its defaults (64x64, 20 steps)

Wall time and CPU time (user + system of the child) per command. Every timed generate must save its
picture, and the newest one must pass `darkroom verify` (C2PA signed by the studio, XMP, recipe, audit
entry): nothing of the trust path is skipped. `--fresh-home` runs each timed generate in a new, empty
data dir instead (what a first command costs: keys made, the mini model hashed, databases created).

Then one generate under `python -X importtime`: its import time (self time, summed) per module
group, the modules with the largest cumulative import time, and which groups `--help` and `verify`
import at all. (The warm-up threads import at the same time: a module waiting for another thread's
import counts that wait as its own time, so cumulative times overlap and add up to more than the wall.)

The timeline: one more generate in a fresh process with a probe that wraps a few functions after
their module is imported (no other change to the program) and notes the wall time since the
process was spawned and the process's CPU time at each stage, with the thread it ran on: imports
done, policy rules loaded, policy warm (sentence model, reference vectors), torch imported, engine
loaded, prompt admitted, first denoising step, picture saved, exit. `--before DIR` measures a second checkout the same way (e.g.
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

# The timeline probe: runs `python -m darkroom ARGV` in this interpreter after installing an import
# hook that wraps a few functions once their module has been executed (TRACE: module -> functions).
# Each wrapped call notes (label, wall s since the parent spawned the process, process CPU s, thread)
# when it starts and ends; the events are written as JSON to $STARTUP_EVENTS at exit.
PROBE = r"""
import atexit, functools, importlib.abc, json, os, runpy, sys, threading, time
T0 = float(os.environ["STARTUP_T0"])
EVENTS = []
def note(label):
    EVENTS.append((label, time.time() - T0, time.process_time(), threading.current_thread().name))
note("interpreter up")
TRACE = {
    "darkroom.cli.generate": ["run"],
    "darkroom.cli.common": ["open_studio"],
    "darkroom.trust.gate": ["warm_policy", "RunAudit.admit"],
    "darkroom.trust.policy.rules": ["load_rules"],
    "darkroom.trust.policy.semantic": ["Embedder.__init__"],
    "darkroom.models.engine": ["load_engine"],
    "darkroom.studio.saving": ["save_picture"],
    "darkroom.studio.jobs": ["Job.emit"],
}
IMPORTS = {"torch", "transformers", "diffusers", "darkroom.develop.runner"}
def wrap(module, qualname):
    owner = module
    *path, name = qualname.split(".")
    for part in path:
        owner = getattr(owner, part)
    fn = owner.__dict__[name]
    label = qualname.removesuffix(".__init__")
    if name == "emit":  # the job's events: only the first denoising step
        @functools.wraps(fn)
        def emit(self, kind, **data):
            if kind == "step" and not getattr(emit, "seen", False):
                emit.seen = True
                note("first denoising step")
            return fn(self, kind, **data)
        setattr(owner, name, emit)
        return
    @functools.wraps(fn)
    def traced(*args, **kwargs):
        note(label + " start")
        try:
            return fn(*args, **kwargs)
        finally:
            note(label + " end")
    setattr(owner, name, traced)
class Hook(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name not in TRACE and name not in IMPORTS:
            return None
        for finder in sys.meta_path:
            spec = None if finder is self else getattr(finder, "find_spec", lambda *a: None)(name, path, target)
            if spec is not None:
                break
        else:
            return None
        run = spec.loader.exec_module
        def exec_module(module):
            note("import " + name + " start")
            run(module)
            note("import " + name + " end")
            for qualname in TRACE.get(name, ()):
                wrap(module, qualname)
        spec.loader.exec_module = exec_module
        return spec
sys.meta_path.insert(0, Hook())
def dump():  # at exit, from an atexit handler
    if not any(label == "exit" for label, *_ in EVENTS):
        note("exit")
        with open(os.environ["STARTUP_EVENTS"], "w") as f:
            json.dump(EVENTS, f)
atexit.register(dump)
sys.argv = ["darkroom", *sys.argv[1:]]
try:
    runpy.run_module("darkroom", run_name="__main__", alter_sys=True)
finally:
    dump()
"""
# the stages of the timeline: (what, the event that marks it)
STAGES = (
    ("interpreter up", "interpreter up"),
    ("command parsed (generate.run)", "run start"),
    ("studio open", "open_studio end"),
    ("policy rules loaded", "load_rules end"),
    ("torch imported", "import torch end"),
    ("transformers imported", "import transformers end"),
    ("sentence model loaded", "Embedder end"),
    ("policy warm", "warm_policy end"),
    ("diffusers imported", "import diffusers end"),
    ("engine loaded", "load_engine end"),
    ("prompt admitted (policy)", "RunAudit.admit end"),
    ("first denoising step", "first denoising step"),
    ("picture saved (C2PA, XMP, audit)", "save_picture end"),
    ("exit", "exit"),
)


def env_for(root: Path, home: Path) -> dict:
    """The environment that runs `root`'s darkroom (its folder first on the path) with data dir `home`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DARKROOM_")}
    env.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", DARKROOM_HOME=str(home),
               PYTHONPATH=str(root) + os.pathsep + env.get("PYTHONPATH", ""))
    return env


def run(argv: list[str], env: dict, *, importtime: bool = False, probe: bool = False) -> tuple[float, float, str]:
    """Wall seconds, CPU seconds (user + system) and output of one `python -m darkroom ARGV`, run in
    the checkout's folder (first on sys.path, ahead of an editable install of another one); `probe`:
    under the timeline probe instead (env has STARTUP_EVENTS)."""
    program = ["-c", PROBE] if probe else ["-m", "darkroom"]
    if probe:
        env = {**env, "STARTUP_T0": repr(time.time())}
    wall, cpu, out = timed([sys.executable, *(["-X", "importtime"] if importtime else []), *program, *argv],
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


def top_cumulative(stderr: str, count: int = 15) -> list[tuple[float, str]]:
    """The modules with the largest cumulative import time (seconds), largest first, each module once
    (a package and its one big child both show: read them as a tree, not a sum)."""
    best: dict[str, float] = {}
    for line in stderr.splitlines():
        match = re.match(r"import time:\s+\d+ \|\s+(\d+) \| \s*(\S+)", line)
        if match:
            best[match.group(2)] = max(best.get(match.group(2), 0.0), int(match.group(1)) / 1e6)
    return sorted(((t, m) for m, t in best.items()), reverse=True)[:count]


def imported(stderr: str) -> set[str]:
    return {m.group(1).split(".")[0] for m in re.finditer(r"import time:\s+\d+ \|\s+\d+ \| \s*(\S+)", stderr)}


GENERATE = ["generate", "a red circle", "--seed", "1"]


class Checkout:
    def __init__(self, name: str, root: Path, tmp: Path, fresh_home: bool = False):
        self.name, self.root, self.tmp, self.fresh_home = name, root, tmp, fresh_home
        self.home, self.out = tmp / f"{name}-home", tmp / f"{name}-out"
        self.env = env_for(root, self.home)
        self.times: dict[str, list[tuple[float, float]]] = {}
        self.runs = 0
        _, _, text = run([*GENERATE, "-o", str(self.out)], self.env)  # prepares the data dir
        self.picture = next(self.out.glob("*.png"))
        self.commands = {"--help": ["--help"], "verify": ["verify", str(self.picture)],
                         "generate": [*GENERATE, "-o", str(self.out)]}

    def measure(self, command: str) -> None:
        env = self.env
        if command == "generate" and self.fresh_home:
            self.runs += 1
            env = env_for(self.root, self.tmp / f"{self.name}-home-{self.runs}")
        before = set(self.out.glob("*.png"))
        wall, cpu, _ = run(self.commands[command], env)
        if command == "generate":
            made = set(self.out.glob("*.png")) - before
            if len(made) != 1:
                sys.exit(f"{self.name}: a timed generate saved {len(made)} pictures, not 1")
            self.newest = (made.pop(), env)
        self.times.setdefault(command, []).append((wall, cpu))

    def check_newest(self) -> str:
        """The last timed generate's picture passes `darkroom verify` (in its own data dir): its verdict."""
        picture, env = self.newest
        _, _, text = run(["verify", str(picture)], env)
        if "verdict     marked as AI-generated and intact" not in text:
            sys.exit(f"{self.name}: {picture} does not verify:\n{text[-2000:]}")
        return next(line for line in text.splitlines() if line.startswith("verdict")).split(None, 1)[1]

    def timeline(self) -> list:
        """The events of one generate under the timeline probe (see PROBE)."""
        events = self.tmp / f"{self.name}-events.json"
        wall, cpu, _ = run([*GENERATE, "-o", str(self.out)], {**self.env, "STARTUP_EVENTS": str(events)}, probe=True)
        return [wall, cpu, json.loads(events.read_text())]

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
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--before", type=Path, help="a second checkout to measure the same way (e.g. a git worktree)")
    parser.add_argument("--fresh-home", action="store_true",
                        help="each timed generate in a new, empty data dir (first-run costs included)")
    parser.add_argument("--skip-imports", action="store_true", help="no -X importtime table")
    parser.add_argument("--skip-timeline", action="store_true", help="no timeline of a generate's stages")
    parser.add_argument("--skip-floor", action="store_true", help="no table of the import-only floor")
    args = parser.parse_args()
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="darkroom-startup-") as tmp:
        sides = [Checkout("after", HERE, Path(tmp), args.fresh_home)]
        if args.before:
            sides.insert(0, Checkout("before", args.before.resolve(), Path(tmp), args.fresh_home))
        for repeat in range(args.repeats):
            for side in sides if repeat % 2 == 0 else sides[::-1]:
                for command in side.commands:
                    side.measure(command)
        verdicts = {side.name: side.check_newest() for side in sides}
        imports = {} if args.skip_imports else {side.name: side.imports() for side in sides}
        timelines = {} if args.skip_timeline else {side.name: side.timeline() for side in sides}
    floor = None if args.skip_floor else measure_floor(args.repeats)
    print_tables(sides, imports, args.repeats, load_before, os.getloadavg(), args.fresh_home)
    for name, verdict in verdicts.items():
        print(f"{name}: the last timed picture verifies: {verdict}")
    if timelines:
        print_timelines(timelines)
    if floor:
        print_floor(floor)


def print_timelines(timelines: dict) -> None:
    """Per checkout: each stage's wall time since the process was spawned, the process's CPU time by
    then (all threads), and the thread it happened on."""
    print("\ntimeline of one generate under the probe (wall s since spawn / process CPU s by then / thread)")
    names = list(timelines)
    print(f"{'stage':34}" + "".join(f" {n + ' wall':>12} {n + ' CPU':>11}" for n in names) + "   thread")
    firsts = {}
    for name, (_, _, events) in timelines.items():
        firsts[name] = {}
        for label, wall, cpu, thread in events:
            firsts[name].setdefault(label, (wall, cpu, thread))
    for what, label in STAGES:
        cells, thread = "", ""
        for name in names:
            if label in firsts[name]:
                wall, cpu, thread = firsts[name][label]
                cells += f" {wall:12.2f} {cpu:11.2f}"
            else:
                cells += f" {'-':>12} {'-':>11}"
        print(f"{what:34}{cells}   {thread.replace('darkroom-', '')}")
    print(f"{'process (parent: wait)':34}" + "".join(f" {w:12.2f} {c:11.2f}" for w, c, _ in timelines.values()))


def print_tables(sides, imports, repeats, load_before, load_after, fresh_home=False) -> None:
    print(f"darkroom start-up, {repeats} runs per command (median), {os.cpu_count()} cores, load average "
          f"before {'/'.join(f'{x:.2f}' for x in load_before)}, after {'/'.join(f'{x:.2f}' for x in load_after)}"
          + (", each generate in a fresh data dir" if fresh_home else ""))
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
    for name, texts in imports.items():
        print(f"\n{name}: largest cumulative import times of that generate (s; a tree, not a sum)")
        for seconds, module in top_cumulative(texts["generate"]):
            print(f"  {seconds:6.2f}  {module}")
    print("\nheavy packages each command imports")
    for name, texts in imports.items():
        for command, text in texts.items():
            heavy = sorted(imported(text) & set(HEAVY))
            print(f"{name:8} {command:10} {', '.join(heavy) or 'none of ' + ', '.join(HEAVY)}")


if __name__ == "__main__":
    main()
