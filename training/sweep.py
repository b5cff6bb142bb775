"""Train and evaluate several variants of the darkroom-mini recipe side by side.

Each variant is `training.train all` with its own flags in its own run folder, followed by
`training.evaluate` on the exported pipeline; all run as parallel processes (on a GPU they
share it). The summary is one table, a row per variant.

  python -m training.sweep --root /tmp/sweep --device cuda --variants variants.json

variants.json maps a name to extra flags of `training.train`, e.g.
  {"shipped": [], "one_cycle": ["--cycles", "7400:3700"], "no_hires": ["--hires-share", "0"]}
"""
from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor, as_completed

COLUMNS = [("vae", "shape"), ("vae", "MAE/255"), ("txt2img", "color"), ("txt2img", "position"),
           ("txt2img", "size"), ("txt2img", "shape"), ("hires", "size"), ("hires", "shape"),
           ("hires", "agreement")]


def run_variant(name: str, flags: list[str], args) -> dict:
    run = os.path.join(args.root, name)
    os.makedirs(run, exist_ok=True)
    out = os.path.join(args.root, "models", name)
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1")
    t = time.time()
    with open(os.path.join(run, "train.log"), "w") as log:
        rc = subprocess.call([sys.executable, "-m", "training.train", "all", "--run", run, "--out", out,
                              "--device", args.device, *flags], stdout=log, stderr=subprocess.STDOUT, env=env)
    result = {"name": name, "flags": " ".join(flags), "train_rc": rc, "train_s": round(time.time() - t)}
    if rc != 0:
        return result
    with open(os.path.join(run, "eval.log"), "w") as log:
        subprocess.call([sys.executable, "-m", "training.evaluate", "--model", out, "--device", args.device,
                         "--sets", args.sets, "--n", str(args.n), "--m", str(args.m)],
                        stdout=log, stderr=subprocess.STDOUT, env=env)
    with open(os.path.join(run, "eval.log")) as f:
        result.update(parse_table(f.read()))
    return result


def parse_table(text: str) -> dict:
    rows = {}
    for m in re.finditer(r"^\| ([^|]+) \| ([^|]+) \| ([-\d.na]+) \|", text, re.MULTILINE):
        rows[f"{m.group(1).strip()}/{m.group(2).strip()}"] = float(m.group(3))
    return rows


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--root", required=True)
    p.add_argument("--variants", required=True, help="JSON object: name -> list of train.py flags")
    p.add_argument("--device", default="cpu")
    p.add_argument("--jobs", type=int, default=8)
    p.add_argument("--sets", default="vae,txt2img,hires")
    p.add_argument("--n", type=int, default=200)
    p.add_argument("--m", type=int, default=100)
    args = p.parse_args(argv)
    with open(args.variants) as f:
        variants = json.load(f)
    os.makedirs(args.root, exist_ok=True)
    summary = os.path.join(args.root, "summary.jsonl")
    with ThreadPoolExecutor(args.jobs) as pool:
        futures = [pool.submit(run_variant, name, flags, args) for name, flags in variants.items()]
        for fut in as_completed(futures):
            res = fut.result()
            with open(summary, "a") as f:
                f.write(json.dumps(res) + "\n")
            print(json.dumps(res), flush=True)
    with open(summary) as f:
        print_table([json.loads(line) for line in f])


def print_table(results: list[dict]) -> None:
    print("| variant | train s | " + " | ".join(f"{s} {k}" for s, k in COLUMNS) + " |")
    print("|---" * (len(COLUMNS) + 2) + "|")
    for r in results:
        cells = [f"{r[f'{s}/{k}']:.3f}" if f"{s}/{k}" in r else "-" for s, k in COLUMNS]
        print(f"| {r['name']} | {r['train_s']} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
