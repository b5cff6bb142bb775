"""darkroom keep IMAGE: mark the variant you chose (the library remembers it)."""

from __future__ import annotations

import argparse
from pathlib import Path

from darkroom.errors import ImageError


def register(sub) -> None:
    parser = sub.add_parser("keep", help="mark a picture as the kept one of its variants")
    parser.add_argument("image", help="a darkroom PNG, or sha256:HEX of one in the library")
    parser.set_defaults(run=run)


def find(library, image: str):
    """The library record of a file path or a sha256:HEX reference (a unique prefix is enough)."""
    if image.startswith("sha256:"):
        record = library.get(image)
        if record is None:
            raise ImageError(f"{image} is not in the library")
        return record
    path = Path(image)
    if not path.is_file():
        raise ImageError(f"{image} does not exist")
    record = library.find_file(path)
    if record is None:
        raise ImageError(f"{image} is not in the library (its bytes changed, or another studio made it)")
    return record


def run(args: argparse.Namespace) -> int:
    from darkroom.library import Library

    library = Library()
    record = find(library, args.image)
    groups = library.keep(record.sha256)
    where = ", ".join(f"{g} ({len(library.variants(g))} variants)" for g in groups) or "no variant group"
    print(f"kept sha256:{record.sha256[:12]} ({record.op or record.kind}, {record.width}x{record.height}); {where}")
    return 0
