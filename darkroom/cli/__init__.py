"""The command line: `darkroom COMMAND ...`.

Each command group is one module in this package with a `register(subparsers)`
function; adding a group means adding its file and one line in COMMANDS.
Heavy imports (torch, diffusers) happen inside the commands, not here.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from darkroom.errors import DarkroomError

COMMANDS = [
    "generate",
    "models",
    "prompt",
    "verify",
    "audit",
    "policy",
    "develop",
    "img2img",
    "inpaint",
    "replay",
    "variants",
    "keep",
    "lineage",
    "retention",
    "erase",
    "export",
    "import_",
    "keys",
    "serve",
    "users",
    "learn",
    "train",
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="darkroom",
        description="A local, trustworthy studio for Stable Diffusion.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(f"darkroom.cli.{name}").register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.run(args) or 0
    except DarkroomError as err:
        print(f"darkroom: error: {err}", file=sys.stderr)
        return err.exit_code
    except KeyboardInterrupt:
        print("darkroom: interrupted.", file=sys.stderr)
        return 130
    finally:
        from darkroom.cli.common import close_studios

        close_studios()
