"""darkroom keep IMAGE: mark the variant you chose (the library remembers it)."""

from __future__ import annotations

import argparse


def register(sub) -> None:
    parser = sub.add_parser("keep", help="mark a picture as the kept one of its variants")
    parser.add_argument("image", help="a darkroom PNG, or sha256:HEX of one in the library")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from darkroom.cli.common import open_studio

    studio = open_studio()
    record, groups = studio.keep(args.image)
    where = ", ".join(f"{g} ({len(studio.library.variants(g))} variants)" for g in groups) or "no variant group"
    print(f"kept sha256:{record.sha256[:12]} ({record.op or record.kind}, {record.width}x{record.height}); {where}")
    return 0
