"""`darkroom verify FILE...`: is this file marked as AI-generated, and is it intact?"""

from __future__ import annotations

import argparse
import json


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "verify",
        help="check a file's C2PA manifest, XMP, watermark, recipe and audit link",
        description="Report what a file says about its origin: C2PA (Trusted/Valid/Invalid/none), IPTC XMP, "
        "the invisible watermark, the embedded recipe and the audit entry it links to. Exit status 0 only "
        "if every file is marked as AI-generated and intact, 1 otherwise (the report says whether a failing "
        "signature was tampered with or only outlived its certificate).",
    )
    parser.add_argument("files", nargs="+", metavar="FILE", help="image files (PNG, JPEG, WebP, ...)")
    parser.add_argument("--json", action="store_true", help="print the reports as JSON")
    parser.add_argument("--no-audit", action="store_true", help="do not look the file up in the audit log")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from darkroom.cli.common import open_studio
    from darkroom.trust.verify import format_report

    studio = open_studio()
    reports = [studio.verify(path, use_audit=not args.no_audit) for path in args.files]
    if args.json:
        print(json.dumps([_as_dict(r) for r in reports], indent=2, default=str))
    else:
        print("\n\n".join(format_report(r) for r in reports))
    return 0 if all(r.ok for r in reports) else 1


def _as_dict(report) -> dict:
    from dataclasses import asdict

    out = asdict(report)
    out["ok"], out["verdict"], out["expired"] = report.ok, report.verdict, report.expired
    out["verdict_code"], out["verdict_params"] = report.verdict_code
    out["notes"] = report.notes  # the English texts; `findings` holds each with its code and parameters
    if report.audit is not None:
        out["audit"] = {"ref": report.audit.entry.ref, "kind": report.audit.entry.kind,
                        "time": report.audit.entry.time, "found_by": report.audit.found_by,
                        "entry_hash_ok": report.audit.entry_hash_ok}
    return out
