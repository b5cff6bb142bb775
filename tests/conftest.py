"""Test set-up: offline, one thread, a private data dir per test."""

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
# tests compare with plain diffusers in float32; "auto" would be bfloat16 on a CPU with bf16 hardware
os.environ.setdefault("DARKROOM_DTYPE", "float32")

import pytest  # noqa: E402
import torch  # noqa: E402

torch.set_num_threads(1)


@pytest.fixture(autouse=True)
def darkroom_home(tmp_path, monkeypatch):
    home = tmp_path / "darkroom-home"
    monkeypatch.setenv("DARKROOM_HOME", str(home))
    return home


@pytest.fixture(scope="session")
def tiny_sd1_dir(tmp_path_factory):
    """A tiny SD1-layout diffusers folder, built once per test session from fixed seeds."""
    from tinymodels import save_diffusers, tiny_pipeline

    return save_diffusers(tiny_pipeline("sd1"), tmp_path_factory.mktemp("tiny-sd1") / "tiny-sd1")


@pytest.fixture
def tiny_model(tiny_sd1_dir):
    """The tiny SD1 model registered as "tiny" in this test's data dir."""
    from darkroom.cli import main

    assert main(["models", "add", str(tiny_sd1_dir), "--name", "tiny"]) == 0
    return "tiny"


if os.environ.get("DARKROOM_TEST_CPU_LOG"):  # opt-in: CPU seconds per test (this process and its children)
    import resource

    def _cpu_seconds() -> float:
        own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
        return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_protocol(item, nextitem):
        start = _cpu_seconds()
        yield
        with open(os.environ["DARKROOM_TEST_CPU_LOG"], "a") as log:
            worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
            log.write(f"{_cpu_seconds() - start:.2f} {worker} {item.nodeid}\n")
