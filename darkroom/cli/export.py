"""darkroom export PICTURE --format jpeg|webp|png [-o DIR]: a library picture as a new marked file."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(sub) -> None:
    parser = sub.add_parser("export", help="write a library picture as PNG, JPEG or WebP, marked and signed anew",
                            description="Write a picture of the library (its file, or sha256:HEX) in another format: "
                            "the same pixels (the watermark they carry is kept, not added again), the A1111 infotext "
                            "(EXIF UserComment in JPEG/WebP, as A1111 writes it), the recipe and IPTC XMP, and a new "
                            "C2PA manifest that names the library picture as the one it was transcoded from. Also "
                            "the way to re-sign a picture whose signing certificate has expired.")
    parser.add_argument("picture", help="a picture file the studio made, or sha256:HEX")
    parser.add_argument("--format", choices=("png", "jpeg", "webp"), default="jpeg", help="default: jpeg")
    parser.add_argument("--quality", type=int, default=95, help="JPEG/WebP quality 1-100 (default: 95)")
    parser.add_argument("-o", "--output", type=Path, default=Path("out"), help="output folder (default: ./out)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from darkroom.cli.common import open_studio
    from darkroom.errors import InvalidParameter

    if not 1 <= args.quality <= 100:
        raise InvalidParameter("--quality must be between 1 and 100")
    print(open_studio().export(args.picture, out_dir=args.output, format=args.format, quality=args.quality))
    return 0
