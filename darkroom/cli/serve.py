"""darkroom serve [--host 127.0.0.1] [--port 7860]: the studio over HTTP (native /api/v1 and A1111's /sdapi/v1)."""

from __future__ import annotations

import argparse


def register(sub) -> None:
    parser = sub.add_parser("serve", help="serve the studio over HTTP: /api/v1 and AUTOMATIC1111's /sdapi/v1")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1; any other "
                        "needs users: `darkroom users add NAME --admin`)")
    parser.add_argument("--port", type=int, default=7860, help="port (default: 7860, A1111's; 0 picks a free one)")
    parser.add_argument("--allowed-host", action="append", default=[], metavar="NAME",
                        help="a host name clients use to reach this server (Host header allow-list), repeatable")
    parser.add_argument("--cors-origin", action="append", default=[], metavar="ORIGIN",
                        help="a web origin (https://host:port) allowed to call the API from a browser, repeatable")
    parser.add_argument("--no-preload", action="store_true", help="do not load the default model at start")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from darkroom.cli.common import open_studio
    from darkroom.errors import InvalidParameter
    from darkroom.serve.app import ServerConfig
    from darkroom.serve.server import serve

    if not 0 <= args.port <= 65535:
        raise InvalidParameter(f"--port {args.port}: use 0-65535")
    config = ServerConfig(host=args.host, port=args.port, allowed_hosts=tuple(args.allowed_host),
                          cors_origins=tuple(args.cors_origin))
    serve(open_studio(), config, preload=not args.no_preload)
    return 0
