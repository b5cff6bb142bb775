"""darkroom users add NAME [--admin] | list | remove NAME: who may use a shared server."""

from __future__ import annotations

import argparse
import sys


def register(sub) -> None:
    parser = sub.add_parser("users", help="users of `darkroom serve` (tokens are shown once, stored hashed)")
    actions = parser.add_subparsers(dest="users_command", required=True, metavar="ACTION")
    add = actions.add_parser("add", help="add a user and print their token")
    add.add_argument("name")
    add.add_argument("--admin", action="store_true", help="may see every user's jobs, the audit log, erase anything")
    add.set_defaults(run=run_add)
    actions.add_parser("list", help="list the users").set_defaults(run=run_list)
    remove = actions.add_parser("remove", help="remove a user (their token stops working)")
    remove.add_argument("name")
    remove.set_defaults(run=run_remove)


def _users():
    from darkroom.serve.users import Users
    from darkroom.settings import Settings

    return Users(Settings())


def run_add(args: argparse.Namespace) -> int:
    token = _users().add(args.name, admin=args.admin)
    print(token)
    print(f"user {args.name} added{' (admin)' if args.admin else ''}; the token above is shown only now. "
          "Use it as `Authorization: Bearer TOKEN`, or as the password with HTTP Basic (A1111 clients).",
          file=sys.stderr)
    return 0


def run_list(args: argparse.Namespace) -> int:
    for user in _users().list():
        print(f"{user.name}{'  (admin)' if user.admin else ''}")
    return 0


def run_remove(args: argparse.Namespace) -> int:
    _users().remove(args.name)
    print(f"user {args.name} removed")
    return 0
