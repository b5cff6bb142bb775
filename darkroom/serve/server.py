"""`darkroom serve`: uvicorn running the app over one Studio, stopped cleanly by SIGTERM or Ctrl-C."""

from __future__ import annotations

import signal
import socket
import sys

import uvicorn

from darkroom.errors import InvalidParameter
from darkroom.serve.app import ServerConfig, create_app, is_loopback
from darkroom.serve.users import Users


class _Server(uvicorn.Server):
    """Cancels running jobs as soon as the stop signal arrives, before waiting for connections."""

    studio = None

    def handle_exit(self, sig, frame):
        if self.studio is not None:
            self.studio.stop_jobs()
        super().handle_exit(sig, frame)


def check_bind(host: str, users: Users) -> None:
    if not is_loopback(host) and not users.any():
        raise InvalidParameter(
            f"refusing to listen on {host} without authentication: anyone on the network could use this studio. "
            "Add a user first (`darkroom users add NAME --admin` prints their token), or listen on 127.0.0.1")


def open_socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as err:
        sock.close()
        raise InvalidParameter(f"cannot listen on {host}:{port}: {err.strerror}; choose another --port") from None
    return sock


def serve(studio, config: ServerConfig, *, preload: bool = True) -> None:
    """Listen until stopped; print the URL first. Port 0 picks a free port."""
    check_bind(config.host, Users(studio.settings))
    for record in studio.interrupted:
        print(f"darkroom: job {record.id} was interrupted when the studio last stopped ({record.error}); "
              f"{len(record.pictures)} picture(s) of it were saved", file=sys.stderr)
    if preload:
        with studio.engines.lease(studio.registry.default(), studio.settings):
            pass  # the default model stays in the cache, warm for the first request
        studio.policy
    sock = open_socket(config.host, config.port)
    config.port = sock.getsockname()[1]
    app = create_app(studio, config)
    server = _Server(uvicorn.Config(app, log_level="warning", timeout_graceful_shutdown=10))
    server.studio = studio
    shown = f"[{config.host}]" if ":" in config.host else config.host
    print(f"darkroom serving on http://{shown}:{config.port}", flush=True)
    # uvicorn re-raises the stop signal after its graceful shutdown; these handlers take it, so the
    # studio's own shutdown below still runs and the process ends with exit code 0.
    previous = {sig: signal.signal(sig, lambda *_: None) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        server.run(sockets=[sock])
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        waiting = studio.shutdown()
        if waiting:
            print(f"darkroom: {len(waiting)} queued job(s) were not started; the next start reports them",
                  file=sys.stderr)
