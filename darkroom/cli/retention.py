"""darkroom retention show|run [--dry-run] [--project P]: delete what has outlived its time-to-live."""

from __future__ import annotations

import argparse
import datetime as dt


def register(sub) -> None:
    parser = sub.add_parser("retention", help="show the time-to-live per kind of picture, or delete what expired")
    actions = parser.add_subparsers(dest="retention_command", required=True, metavar="ACTION")
    show = actions.add_parser("show", help="print the retention policy (<data dir>/retention.yaml or defaults)")
    show.add_argument("--project", help="the TTLs that apply to this project")
    show.set_defaults(run=run_show)
    run = actions.add_parser("run", help="delete expired library files and rows; one audit event per project")
    run.add_argument("--dry-run", action="store_true", help="list what would be deleted, delete nothing")
    run.add_argument("--project", help="only this project")
    run.add_argument("--now", type=_when, metavar="ISO-TIME",
                     help="evaluate the TTLs at this time instead of now, e.g. 2027-01-31 (to plan ahead)")
    run.set_defaults(run=run_run)


def _when(text: str) -> float:
    try:
        when = dt.datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an ISO date or time, e.g. 2027-01-31T12:00") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.timezone.utc)
    return when.timestamp()


def run_show(args: argparse.Namespace) -> int:
    from darkroom.trust.retention import CATEGORIES, format_ttl, load_policy

    policy = load_policy()
    print(f"retention policy: {policy.source}")
    project = args.project or "default"
    for category in CATEGORIES:
        print(f"  {category:<14} {format_ttl(policy.ttl(project, category))}")
    return 0


def run_run(args: argparse.Namespace) -> int:
    from darkroom.cli.common import open_studio
    from darkroom.scope import check_project

    if args.project:
        check_project(args.project)
    report = open_studio().retention(now=args.now, dry_run=args.dry_run, project=args.project)
    days = lambda seconds: f"{seconds / 86400:.1f}d"  # noqa: E731
    for item in report.expired:
        print(f"{'would delete' if report.dry_run else 'deleted'} sha256:{item.sha256[:12]}  {item.category:<13} "
              f"project {item.project}  age {days(item.age)}  {item.size} bytes")
    total = len(report.expired)
    if report.dry_run:
        print(f"dry run: {total} file(s) expired, nothing deleted")
    else:
        print(f"deleted {total} file(s), {report.freed} bytes"
              + (f"; audit {', '.join(report.events)}" if report.events else ""))
    return 0
