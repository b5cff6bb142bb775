"""The policy against its labelled evaluation set: confusion table, calibration, latency.

    .venv/bin/python benchmarks/policy.py               # table for terms only and terms+semantic
    .venv/bin/python benchmarks/policy.py --calibrate   # semantic score distributions -> thresholds
    .venv/bin/python benchmarks/policy.py --misses      # list what was missed / wrongly blocked
                                                        # (multilingual: the tuned half only)

The evaluation set lives in darkroom/trust/policy/eval/ (seeds + code-generated variants).
Targets (asserted in tests/test_policy_eval.py): >= 98 % of obfuscated variants blocked for
every absolute category, <= 1 % of benign prompts blocked. The multilingual set (issue #18,
eval/multilingual*.yaml): per language and per obfuscation kind, tuned and held-out half, and
the blind set written later (multilingual_blind.yaml; never tuned on, its misses never listed);
goals >= 99 % / >= 97 % of harmful requests blocked, <= 0.5 % of benign ones, a warm check
under 50 ms.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from darkroom.settings import Settings  # noqa: E402
from darkroom.trust.policy import Policy  # noqa: E402
from darkroom.trust.policy import eval as evalset  # noqa: E402
from darkroom.trust.policy.evaluate import OBFUSCATED, evaluate, table  # noqa: E402
from darkroom.trust.policy.normalize import canonical  # noqa: E402


def _settings() -> Settings:
    # a fresh data dir: the shipped defaults, no administrator file
    return Settings(home=Path(tempfile.mkdtemp(prefix="darkroom-policy-bench-")))


def calibrate(policy: Policy, items) -> None:
    """Print, per semantic category, how thresholds trade benign blocks for recall.

    Only prompts the term rules did not already block matter to the semantic layer.
    """
    from darkroom.trust.policy.semantic import SemanticIndex, get_embedder

    get_embedder()
    index = SemanticIndex(policy.rules.categories)
    terms_only = Policy.load(_settings(), layers=("terms",))
    # calibrate on the tuning set only; the held-out prompts stay unseen
    residual = [i for i in items if not i.variant.startswith("holdout") and not terms_only.check(i.texts).blocked]
    for cid, cat in index.categories.items():
        sem = cat.semantic
        rows = []
        for i in residual:
            pos = [canonical(v) for k, v in i.texts.items() if "negative" not in k and v]
            sim, margin, seg, ref = index.scores([" ".join(pos)], [cid])[cid][0]
            rows.append((i, sim, margin))
        ben = [(s, m) for i, s, m in rows if i.label is None]
        own = [(s, m) for i, s, m in rows if i.label == cid]
        print(f"\n{cid}: threshold {sem.threshold}, margin {sem.margin}; residual benign {len(ben)}, "
              f"residual harmful {len(own)}")
        top = sorted(rows, key=lambda r: -r[1])
        print("  highest benign:", [(round(s, 3), round(m, 3), i.seed[:50]) for i, s, m in top if i.label is None][:5])
        print("  own residual  :", [(round(s, 3), round(m, 3), i.seed[:50]) for i, s, m in top if i.label == cid][:12])
        for thr in (0.45, 0.5, 0.52, 0.54, 0.56, 0.58, 0.6, 0.62, 0.64, 0.66, 0.7):
            fp = sum(1 for s, m in ben if s >= thr and m >= sem.margin)
            tp = sum(1 for s, m in own if s >= thr and m >= sem.margin)
            print(f"  thr {thr:.2f}: benign fired {fp:3d}   harmful residual caught {tp:3d}/{len(own)}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--calibrate", action="store_true")
    ap.add_argument("--misses", action="store_true")
    ap.add_argument("--terms-only", action="store_true", help="skip the semantic layer")
    ap.add_argument("--heldout-misses", action="store_true",
                    help="with --misses: list the held-out half's misses too (not for tuning)")
    ap.add_argument("--langs", help="comma-separated: the multilingual set of these languages only "
                    "(skips the English set and the latency run)")
    ap.add_argument("--no-blind", action="store_true", help="leave the blind set out")
    args = ap.parse_args()
    langs = set(args.langs.split(",")) if args.langs else None
    if langs:
        return multilingual(args, [("terms", "semantic")] if not args.terms_only else [("terms",)], langs)

    items = evalset.build() + evalset.holdout()
    n_h = sum(1 for i in items if i.label)
    print(f"evaluation set: {n_h} harmful ({sum(1 for i in items if i.label and i.variant in OBFUSCATED)} "
          f"obfuscated/German variants, {sum(1 for i in items if i.variant == 'holdout')} held out), "
          f"{len(items) - n_h} benign ({sum(1 for i in items if i.variant == 'holdout_benign')} held out)\n")

    layers_list = [("terms",)] if args.terms_only else [("terms",), ("terms", "semantic")]
    for layers in layers_list:
        policy = Policy.load(_settings(), layers=layers)
        t0 = time.perf_counter()
        report = evaluate(policy, items)
        dt = time.perf_counter() - t0
        print(f"== layers: {' + '.join(layers)}  (policy {policy.version}, {dt:.1f} s for {len(items)} requests)")
        print(table(report))
        if args.misses:
            for lab in sorted({i.label for i in items if i.label}):
                for item, d in report.misses(lab):
                    print(f"  MISS {lab:24} {item.variant:10} {item.texts}  -> {d.action}")
            for item, d in report.false_blocks():
                print(f"  FALSE BLOCK  {item.seed!r} -> {d.rule} {d.evidence}")
            for item, d in report.benign_warnings():
                print(f"  benign warn  {item.seed!r} -> {d.rule} {d.evidence}")
        print()

    if args.calibrate:
        calibrate(Policy.load(_settings()), items)

    multilingual(args, layers_list)
    latency()
    return 0


def multilingual(args, layers_list, langs=None) -> int:
    """The multilingual set (issue #18): per language and per obfuscation kind, tuned and held out."""
    from darkroom.trust.policy.eval.multilingual import blind as ml_blind
    from darkroom.trust.policy.eval.multilingual import build as ml_build
    from darkroom.trust.policy.evaluate import evaluate_multilingual, multilingual_tables

    mitems = ml_build() + ([] if args.no_blind else ml_blind())  # blind: totals only, misses never listed
    if langs:
        mitems = [i for i in mitems if i.lang in langs]
    print(f"multilingual set: {sum(1 for i in mitems if i.label)} harmful requests "
          f"({len({i.seed for i in mitems if i.label})} seeds, {len({i.lang for i in mitems if i.label})} languages), "
          f"{sum(1 for i in mitems if not i.label)} benign requests ({len({i.seed for i in mitems if not i.label})} "
          f"distinct prompts, {len({i.lang for i in mitems if not i.label})} languages)\n")
    for layers in layers_list:
        policy = Policy.load(_settings(), layers=layers)
        t0 = time.perf_counter()
        mitems, mdec = evaluate_multilingual(policy, mitems)
        print(f"== multilingual, layers: {' + '.join(layers)} ({time.perf_counter() - t0:.1f} s, "
              f"{len(mitems)} requests)")
        print(multilingual_tables(mitems, mdec))
        if args.misses:
            for it, d in zip(mitems, mdec):
                if bool(it.label) != d.blocked and (it.half == "tuned" or (args.heldout_misses and it.half == "heldout")):
                    print(f"  {'MISS' if it.label else 'FALSE BLOCK'} {it.half} {it.lang} {it.kind} "
                          f"{it.texts['prompt'][:80]!r} {d.rule} {d.evidence}")
        print()
    return 0


def latency() -> None:
    """Model load, then one request at a time (cold cache per prompt)."""
    from darkroom.trust.policy import semantic

    t0 = time.perf_counter()
    emb = semantic.get_embedder()
    load = time.perf_counter() - t0
    policy = Policy.load(_settings())
    policy.check("warm up")  # reference vectors
    from darkroom.trust.policy.eval import multilingual as ml

    mseeds = ml.seeds()
    prompts = [f"{p}, variation {k}" for k, p in enumerate(evalset.benign()[:30])]
    prompts += [f"{s}, variation {k}" for k, s in enumerate(s for d in mseeds.values() for s in d["benign"][:2])]
    import torch

    def timed(tag: str) -> tuple[list[float], list[float], float]:
        lat, cpu = [], []
        for p in prompts:  # a new suffix per run: the embedding cache does not answer
            t, c = time.perf_counter(), time.process_time()
            policy.check(f"{p}, {tag}")
            lat.append((time.perf_counter() - t) * 1000)
            cpu.append((time.process_time() - c) * 1000)  # the encoder thread's time included
        t = time.perf_counter()
        policy.check(f"{long_prompt}, {tag}")
        return lat, cpu, (time.perf_counter() - t) * 1000

    long_prompt = ", ".join(evalset.benign()[200:212])
    lat, cpu, long_ms = timed("run a")
    again, _cpu, _long = timed("run a")  # the same prompts again: from the embedding cache
    terms = Policy.load(_settings(), layers=("terms",))
    tl = []
    for p in prompts:
        t = time.perf_counter()
        terms.check(p)
        tl.append((time.perf_counter() - t) * 1000)
    print(f"latency: model load {emb.load_seconds:.2f} s (first get_embedder call {load:.2f} s); "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    print(f"  check, terms only                     median {statistics.median(tl):6.2f} ms   max {max(tl):6.2f} ms")
    print(f"  check, terms + semantic (encoder thread, 1 torch thread; caller {torch.get_num_threads()})  "
          f"median {statistics.median(lat):6.2f} ms   p90 {sorted(lat)[int(len(lat) * 0.9)]:6.2f} ms   "
          f"mean {statistics.mean(lat):6.2f} ms   {len(long_prompt.split())}-word prompt {long_ms:6.2f} ms")
    print(f"  CPU time per check (process, all threads)  "
          f"median {statistics.median(cpu):6.2f} ms   p90 {sorted(cpu)[int(len(cpu) * 0.9)]:6.2f} ms")
    print(f"  the same prompts again (embedding cache)  median {statistics.median(again):6.2f} ms")


if __name__ == "__main__":
    sys.exit(main())
