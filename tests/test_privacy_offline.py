"""Privacy by default: a whole session (generate, develop, export, verify) opens no socket
and resolves no host name. pytest-socket already blocks sockets; this test also catches
code that would swallow the error."""

from __future__ import annotations

import json
import socket

import pytest

from darkroom.cli import main


@pytest.fixture
def attempts(monkeypatch):
    seen: list[str] = []

    class Recorder:
        def __new__(cls, *args, **kwargs):
            seen.append(f"socket{args}")
            raise OSError("darkroom tests: network access attempted")

    def lookup(host, *args, **kwargs):
        seen.append(f"getaddrinfo({host!r})")
        raise OSError("darkroom tests: host name lookup attempted")

    monkeypatch.setattr(socket, "socket", Recorder)
    monkeypatch.setattr(socket, "create_connection", lambda address, *a, **k: Recorder(address))
    monkeypatch.setattr(socket, "getaddrinfo", lookup)
    return seen


def test_a_whole_session_makes_no_network_attempt(tiny_sd1_dir, tmp_path, capsys, attempts):
    assert main(["models", "add", str(tiny_sd1_dir), "--name", "tiny"]) == 0
    recipe = tmp_path / "recipe.json"
    recipe.write_text(json.dumps({"darkroom_recipe": 1, "model": {"name": "tiny"}, "steps": [
        {"op": "generate", "prompt": "a red circle", "seed": 1, "steps": 2, "width": 32, "height": 32},
        {"op": "hires", "scale": 2, "denoise": 0.4},
        {"op": "inpaint", "zone": {"kind": "box", "x": 0, "y": 0, "width": 32, "height": 64},
         "prompt": "a blue star", "denoise": 0.8},
    ]}))
    assert main(["develop", str(recipe), "-o", str(tmp_path / "out")]) == 0
    final = capsys.readouterr().out.split()[-1]
    assert main(["verify", final]) == 0
    assert main(["replay", final]) == 0
    assert main(["audit", "verify"]) == 0
    assert attempts == []
