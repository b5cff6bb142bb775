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
    from darkroom.library import Library
    from darkroom.settings import Settings
    from darkroom.trust import erasure
    from darkroom.trust.gate import check_project

    settings = Settings()
    if args.project:
        check_project(args.project)
        delete, leave = erasure.plan_project(settings, args.project)
        what = f"project {args.project!r}: {len(delete)} file(s)" + (
            f", {len(leave)} shared with other projects (kept for them)" if leave else "")
    else:
        library = Library(settings)
        sha = args.image.removeprefix("sha256:").lower()
        if library.get(sha) is None and not any(r.sha256.startswith(sha) for r in library.records()):
            raise InvalidParameter(f"sha256:{sha[:12]} is not in the library")
        what = f"picture sha256:{sha[:12]} and its descendants"
    if args.dry_run:
        print(f"would erase {what}")
        return 0
    if not args.yes:
        raise InvalidParameter(f"erasing {what} cannot be undone; run again with --yes (or --dry-run to look first)")
    if args.project:
        report = erasure.erase_project(settings, args.project, exports=args.exports)
    else:
        report = erasure.erase_image(settings, args.image, exports=args.exports)
    print(report.summary())
    return 0
