"""A real `darkroom serve` in the test process: uvicorn on 127.0.0.1, an ephemeral port, one Studio."""

from __future__ import annotations

import threading
import time
from types import SimpleNamespace

import httpx
import uvicorn

from darkroom.serve.app import ServerConfig, create_app
from darkroom.serve.server import open_socket


def start(studio, host: str = "127.0.0.1", **options) -> SimpleNamespace:
    """`host`: the address the server believes it is bound to (e.g. "0.0.0.0": a server beyond loopback,
    which asks for a token); the socket is always 127.0.0.1's."""
    config = ServerConfig(host=host, port=0, **options)
    sock = open_socket("127.0.0.1", 0)
    config.port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(studio, config), log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.time() + 30
    while not server.started and time.time() < deadline:
        time.sleep(0.02)
    url = f"http://127.0.0.1:{config.port}"
    return SimpleNamespace(url=url, port=config.port, server=server, thread=thread, studio=studio,
                           client=httpx.Client(base_url=url, timeout=120))


def stop(running) -> None:
    running.client.close()
    running.server.should_exit = True
    running.thread.join(30)
    running.studio.shutdown()
