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


# the commands that follow a job in the terminal: their start-up runs with the collector paused
JOB_COMMANDS = {"generate", "img2img", "inpaint", "develop", "variants"}


def command() -> int:
    """The `darkroom` program (console script and `python -m darkroom`): `main` in a process of its own."""
    import gc

    from darkroom.cli.common import pause_collections

    pause_collections()
    try:
        return main()
    finally:
        gc.freeze()  # the process ends: its objects need no last walk by the collector (~1 CPU-s)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command not in JOB_COMMANDS:
        from darkroom.cli.common import resume_collections

        resume_collections()  # e.g. serve: collect as usual from the start
    try:
        return args.run(args) or 0
    except DarkroomError as err:
        print(f"darkroom: error: {err}", file=sys.stderr)
        return err.exit_code
    except KeyboardInterrupt:
        print("darkroom: interrupted.", file=sys.stderr)
        return 130
    finally:
        from darkroom.cli.common import close_studios, resume_collections

        close_studios()
        resume_collections()
