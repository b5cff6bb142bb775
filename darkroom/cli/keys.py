"""darkroom keys show|rotate: the studio's signing certificate, and a new one before it expires."""

from __future__ import annotations

import argparse


def register(sub) -> None:
    parser = sub.add_parser("keys", help="show or rotate the studio's signing certificate")
    actions = parser.add_subparsers(dest="keys_command", required=True, metavar="ACTION")
    actions.add_parser("show", help="when the signing certificate expires, and whether a time-stamp authority is set")
    actions.add_parser("rotate", help="make a new signing certificate under the same root now (pictures signed "
                       "before keep verifying); its lifetime is DARKROOM_CERTIFICATE_DAYS (default 730)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from darkroom.settings import Settings
    from darkroom.trust.keys import certificate_status, rotate_leaf

    settings = Settings()
    if args.keys_command == "rotate":
        identity = rotate_leaf(settings)
        print(f"new signing certificate, serial {identity.leaf.serial_number:x}, valid until "
              f"{identity.leaf.not_valid_after_utc:%Y-%m-%d}")
    status = certificate_status(settings)
    if status.source == "none":
        print("no signing certificate yet (one is made with the first picture)")
        return 0
    print(f"signer      {status.subject} ({status.source})")
    print(f"valid until {status.not_after:%Y-%m-%d} ({status.days_left} days left)")
    if status.root_not_after:
        print(f"root until  {status.root_not_after:%Y-%m-%d}")
    print(f"time-stamps {status.tsa_url or 'none: signatures turn invalid when the certificate expires; set DARKROOM_TSA_URL'}")
    return 0
