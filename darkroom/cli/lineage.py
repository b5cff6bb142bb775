"""darkroom lineage IMAGE: the chain of pictures from the raw negative to this one."""

from __future__ import annotations

import argparse
import json


def register(sub) -> None:
    parser = sub.add_parser("lineage", help="print the chain of steps from the raw picture to this one")
    parser.add_argument("image", help="a darkroom PNG, or sha256:HEX of one in the library")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.set_defaults(run=run)


def describe(record) -> str:
    step = json.loads(record.recipe)["steps"][-1] if record.recipe else {}
    detail = {"generate": lambda s: f"seed {s.get('seed')}, {s.get('steps')} steps",
              "hires": lambda s: f"{s.get('upscaler')}, denoise {s.get('denoise')}",
              "img2img": lambda s: f"denoise {s.get('denoise')}",
              "inpaint": lambda s: f"{(s.get('zone') or {}).get('kind')} zone, denoise {s.get('denoise')}"}
    extra = detail.get(record.op, lambda s: "")(step)
    return extra


def run(args: argparse.Namespace) -> int:
    from darkroom.cli.common import open_studio

    chain = open_studio().lineage(args.image)
    if args.json:
        print(json.dumps([{"sha256": r.sha256, "parent": r.parent_sha256, "step": r.step_index, "op": r.op,
                           "size": [r.width, r.height], "path": r.source_path} for r in chain], indent=2))
        return 0
    for r in chain:
        label = "raw" if r.parent_sha256 is None else f"step {r.step_index}"
        print(f"{label:<7} {r.op or r.kind:<8} sha256:{r.sha256[:12]}  {r.width}x{r.height}  {describe(r)}"
              f"  {r.source_path or ''}".rstrip())
    if chain and chain[0].parent_sha256:
        print(f"(parent sha256:{chain[0].parent_sha256[:12]} is not in the library)")
    return 0
