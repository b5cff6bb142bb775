"""`darkroom audit verify|show|checkpoint|export`: the studio's tamper-evident log."""

from __future__ import annotations

import argparse
import json


def register(subparsers) -> None:
    parser = subparsers.add_parser("audit", help="verify, show, checkpoint or export the audit log")
    sub = parser.add_subparsers(dest="audit_command", required=True, metavar="ACTION")

    verify = sub.add_parser("verify", help="recompute the hash chain, Merkle roots and checkpoint signatures")
    verify.set_defaults(run=run_verify)

    show = sub.add_parser("show", help="print entries (personal fields decrypted unless erased)")
    show.add_argument("--last", type=int, default=20, metavar="N", help="the last N entries (default 20)")
    show.add_argument("--image", metavar="FILE", help="the history of one exported image")
    show.add_argument("--json", action="store_true", help="print JSON lines")
    show.set_defaults(run=run_show)

    checkpoint = sub.add_parser("checkpoint", help="sign the current size and root with the studio key")
    checkpoint.set_defaults(run=run_checkpoint)

    export = sub.add_parser("export", help="write a bundle an auditor can verify without this database")
    export.add_argument("output", help="the bundle file to write (JSON)")
    export.set_defaults(run=run_export)


def _log():
    from darkroom.trust.audit import AuditLog

    return AuditLog(checkpoint_every=0)


def run_verify(args: argparse.Namespace) -> int:
    report = _log().verify()
    print(report.summary())
    return 0 if report.ok else 1


def run_show(args: argparse.Namespace) -> int:
    from darkroom.trust.history import image_history

    log = _log()
    if args.image:
        entries = image_history(log, args.image)
        if not entries:
            print(f"{args.image}: no audit entries link to this file")
            return 1
    else:
        if args.last < 1:
            from darkroom.errors import InvalidParameter

            raise InvalidParameter("--last must be at least 1")
        entries = log.last(args.last)
    for entry in entries:
        if args.json:
            print(json.dumps({"index": entry.index, "time": entry.time, "kind": entry.kind,
                              "subject": entry.subject, "payload": entry.payload, "hash": entry.hash},
                             ensure_ascii=False))
        else:
            payload = json.dumps(entry.payload, ensure_ascii=False, sort_keys=True)
            if len(payload) > 160:
                payload = payload[:157] + "..."
            who = f" [{entry.subject}]" if entry.subject else ""
            print(f"#{entry.index:<5} {entry.time}  {entry.kind:<10}{who} {payload}")
    if not entries and not args.json:
        print("the audit log is empty")
    return 0


def run_checkpoint(args: argparse.Namespace) -> int:
    cp = _log().checkpoint()
    print(f"checkpoint #{cp.id}: {cp.size} entries, root {cp.root}, signed {cp.time}")
    return 0


def run_export(args: argparse.Namespace) -> int:
    log = _log()
    path = log.export(args.output)
    print(f"wrote {path} ({len(log)} entries). Verify it anywhere with: python auditor.py {path} "
          f"(darkroom/trust/auditor.py needs only Python and `cryptography`)")
    return 0
