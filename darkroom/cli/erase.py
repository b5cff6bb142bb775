"""darkroom erase --project P | --image SHA256 [--exports] --yes: erasure (GDPR Art. 17)."""

from __future__ import annotations

import argparse

from darkroom.errors import InvalidParameter


def register(sub) -> None:
    parser = sub.add_parser("erase", help="delete a project (or one picture and what was developed from it) "
                            "and shred its personal audit fields")
    scope = parser.add_mutually_exclusive_group(required=True)
    scope.add_argument("--project", help="every input, mask, intermediate, output and contact sheet of a project")
    scope.add_argument("--image", metavar="SHA256", help="one library picture (sha256 or a unique prefix of 8+ "
                       "hex digits) and its descendants")
    parser.add_argument("--exports", action="store_true",
                        help="also delete the exported output files darkroom wrote (never uploaded originals)")
    parser.add_argument("--dry-run", action="store_true", help="list what would be erased, erase nothing")
    parser.add_argument("--yes", action="store_true", help="erase without asking (this cannot be undone)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from darkroom.cli.common import open_studio
    from darkroom.scope import check_project

    if args.project:
        check_project(args.project)
    studio = open_studio()
    what = studio.erase_plan(project=args.project, image=args.image)
    if args.image:
        from darkroom.trust.erasure import IMAGE_AUDIT_NOTE

        what += f" ({IMAGE_AUDIT_NOTE})"
    if args.dry_run:
        print(f"would erase {what}")
        return 0
    if not args.yes:
        raise InvalidParameter(f"erasing {what} cannot be undone; run again with --yes (or --dry-run to look first)")
    print(studio.erase(project=args.project, image=args.image, exports=args.exports).summary())
    return 0
