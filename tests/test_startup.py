"""Commands import only what they use: `--help`, `verify` and the library commands never load torch,
and what a generate runs never loads the web server. Each check runs in a fresh interpreter."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
HEAVY = {"torch", "diffusers", "transformers", "scipy", "fastapi", "uvicorn", "starlette"}
# runs a CLI command in this interpreter, then prints the heavy packages it imported and its exit status
RUN_CLI = """
import json, sys
from darkroom.cli import main
try:
    status = main(sys.argv[1:])
except SystemExit as stop:
    status = stop.code
print(json.dumps({"status": status, "heavy": sorted(set(m.split(".")[0] for m in sys.modules) & %r)}))
""" % HEAVY


def fresh_python(code: str, *args: str, home: Path) -> dict:
    env = {**os.environ, "DARKROOM_HOME": str(home), "HF_HUB_OFFLINE": "1"}
    out = subprocess.run([sys.executable, "-c", code, *args], env=env, capture_output=True, text=True, cwd=REPO,
                         timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    return tmp_path_factory.mktemp("startup-home")


@pytest.mark.parametrize("argv", [["--help"], ["generate", "--help"], ["models", "list"], ["audit", "verify"]])
def test_commands_that_make_no_pixels_do_not_import_torch(argv, home):
    result = fresh_python(RUN_CLI, *argv, home=home)
    assert result["status"] == 0 and result["heavy"] == []


def test_verify_does_not_import_torch(home, tmp_path):
    picture = tmp_path / "plain.png"
    Image.new("RGB", (32, 32), (200, 40, 40)).save(picture)
    result = fresh_python(RUN_CLI, "verify", str(picture), home=home)
    assert result["status"] == 1  # a plain PNG is not marked as AI-generated
    assert result["heavy"] == []


def test_warm_up_loads_the_engine_the_job_then_leases_and_the_policy_still_decides(tiny_model):
    from darkroom import Recipe, Studio
    from darkroom.errors import ModelError, PolicyBlocked

    def recipe(prompt: str) -> Recipe:
        return Recipe.parse({"model": {"name": tiny_model}, "steps": [
            {"op": "generate", "prompt": prompt, "seed": 3, "steps": 2, "width": 16, "height": 16}]})

    with Studio() as studio:
        studio.engines.clear()  # other tests' engines
        studio.warm_up(recipe("a lighthouse"))
        for thread in studio._warming:
            thread.join(120)
        warmed = set(map(id, studio.engines.engines()))
        assert [e.entry.name for e in studio.engines.engines()] == [tiny_model]  # loaded before a job asked
        pictures = studio.run(recipe("a lighthouse"))
        assert pictures and set(map(id, studio.engines.engines())) == warmed  # the job took it over, no reload
        with pytest.raises(PolicyBlocked):
            studio.submit(recipe("a naked child"))
        studio.warm_up(recipe("a lighthouse"))  # once per studio: nothing more starts
        assert all(not thread.is_alive() for thread in studio._warming)

    with Studio() as studio:  # a model the registry does not know: the job's admission says so
        studio.warm_up(Recipe.parse({"model": {"name": "no-such-model"}, "steps": [{"op": "generate", "prompt": "x"}]}))
        for thread in studio._warming:
            thread.join(120)
        with pytest.raises(ModelError):
            studio.submit({"model": {"name": "no-such-model"}, "steps": [{"op": "generate", "prompt": "x"}]})


@pytest.fixture
def collector():
    """Leaves the garbage collector as it was: enabled, nothing frozen by the test."""
    import gc

    frozen = gc.get_freeze_count()
    yield gc
    gc.enable()
    if gc.get_freeze_count() != frozen:
        gc.unfreeze()


def test_the_program_pauses_the_collector_only_while_a_job_command_starts(collector):
    from darkroom.cli import main
    from darkroom.cli.common import follow, pause_collections
    from darkroom.studio.jobs import Job

    def job(*kinds: str) -> Job:  # a job whose worker already emitted these events
        job = Job(work=None)
        for kind in kinds:
            job.emit(kind, step=1, total=1)
        return job

    frozen = collector.get_freeze_count()
    assert main(["models", "list"]) == 0 and collector.get_freeze_count() == frozen  # in-process: left alone
    pause_collections()  # what the `darkroom` program (cli.command) does first
    assert not collector.isenabled()
    assert main(["models", "list"]) == 0
    assert collector.isenabled()  # not a job command: collecting again before it ran
    pause_collections()
    assert follow(job("queued", "started", "done")) == [] and not collector.isenabled()
    follow(job("queued", "started", "step", "step", "done"))
    assert collector.isenabled() and collector.get_freeze_count() > frozen  # start-up's objects frozen


def test_python_m_darkroom_runs_the_program(home):
    env = {**os.environ, "DARKROOM_HOME": str(home), "HF_HUB_OFFLINE": "1"}
    out = subprocess.run([sys.executable, "-m", "darkroom", "models", "list"], env=env, capture_output=True,
                         text=True, cwd=REPO, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "darkroom-mini" in out.stdout
