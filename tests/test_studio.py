"""The studio core: jobs with events, previews, cancellation, shared engines, crash-safe saving."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from darkroom import Recipe, Studio
from darkroom.errors import Cancelled, ImageError, InvalidParameter, ModelError, PolicyBlocked
from darkroom.library.jobs import JobStore
from darkroom.settings import Settings
from darkroom.studio.saving import export_new


def recipe(prompt="a lighthouse at dusk", seed=5, steps=3, batch=1, size=16, *later) -> Recipe:
    return Recipe.parse({"model": {"name": "tiny"}, "steps": [
        {"op": "generate", "prompt": prompt, "seed": seed, "steps": steps, "width": size, "height": size,
         "batch_size": batch}, *later]})


def pixels(path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"))


@pytest.fixture
def studio(tiny_model):
    with Studio() as studio:
        yield studio


def test_a_job_reports_every_event_and_saves_every_picture(studio, tmp_path):
    job = studio.submit(recipe(batch=2), out_dir=tmp_path / "out", project="p1")
    assert job.state in ("queued", "running", "done")
    kinds = [event.kind for event in job.events()]
    assert kinds[0] == "queued" and kinds[1] == "started" and kinds[-1] == "done"
    assert kinds.count("step") == 2 * 3 and kinds.count("picture") == 2
    pictures = job.result(timeout=60)
    assert [p.recipe.steps[0].seed for p in pictures] == [5, 6]
    for picture in pictures:
        assert picture.path.is_file() and picture.parent is None and picture.final
        record = studio.library.get(picture.sha256)
        assert record is not None and record.source_path == str(picture.path.resolve())
        assert studio.library.projects(picture.sha256) == ["p1"]  # the scope reached the worker thread
    stored = studio.job_records.get(job.id)
    assert stored.state == "done" and stored.pictures == [p.sha256 for p in pictures] and stored.project == "p1"
    steps = [e for e in studio.audit.entries() if e.kind == "step"]
    assert {e.payload.get("job") for e in steps} == {job.id}


def test_step_events_carry_previews_when_asked(studio):
    studio.settings.preview_every = 1
    events = [e for e in studio.submit(recipe(), previews=True).events() if e.kind == "step"]
    assert [(e.step, e.total, e.batch_index, e.step_index, e.op) for e in events] == \
        [(i, 3, 0, 0, "generate") for i in (1, 2, 3)]
    for event in events:
        assert isinstance(event.preview, Image.Image) and isinstance(event.preview_x0, Image.Image)
    plain = [e for e in studio.submit(recipe()).events() if e.kind == "step"]
    assert plain and all(e.preview is None and e.preview_x0 is None for e in plain)


def test_previews_are_throttled_by_time(studio):
    studio.settings.preview_every, studio.settings.preview_interval = 0, 3600.0
    events = [e for e in studio.submit(recipe(steps=6), previews=True).events() if e.kind == "step"]
    with_preview = [e.step for e in events if e.preview is not None]
    assert with_preview == [1, 6]  # the first (nothing shown yet) and the last step


def test_a_job_can_preview_every_step_beside_one_paced_by_the_settings(studio):
    from darkroom.studio import EVERY_STEP, PreviewPlan

    studio.settings.preview_every, studio.settings.preview_interval = 0, 3600.0
    every, paced, third = (studio.submit(recipe(steps=6), previews=p) for p in (EVERY_STEP, True, PreviewPlan(every=3)))
    shown = [[e.step for e in job.events() if e.kind == "step" and e.preview_x0 is not None]
             for job in (every, paced, third)]
    assert shown == [[1, 2, 3, 4, 5, 6], [1, 6], [1, 3, 6]]
    with pytest.raises(InvalidParameter, match="previews"):
        PreviewPlan(interval=-1)


def test_cancel_takes_effect_within_one_step_and_saves_nothing(studio, tmp_path):
    out = tmp_path / "out"
    job = studio.submit(recipe(steps=40), out_dir=out)
    after_cancel = 0
    for event in job.events():
        if event.kind == "step":
            if job.cancel_requested:
                after_cancel += 1
            else:
                job.cancel()
    assert job.state == "cancelled" and after_cancel <= 1
    with pytest.raises(Cancelled, match="nothing was saved"):
        job.result()
    assert not out.exists() and studio.library.records() == []
    cancels = [e for e in studio.audit.entries() if e.kind == "cancel"]
    assert len(cancels) == 1 and cancels[0].payload["job"] == job.id
    assert studio.job_records.get(job.id).state == "cancelled"


def test_a_cancelled_batch_keeps_the_chains_it_finished_and_says_which(studio, tmp_path):
    out = tmp_path / "out"
    job = studio.submit(recipe(batch=3), out_dir=out)
    for event in job.events():
        if event.kind == "picture":
            job.cancel()
    with pytest.raises(Cancelled) as err:
        job.result()
    saved = sorted(out.glob("*.png"))
    assert len(saved) == 1 and str(saved[0]) in str(err.value) and "1 picture(s) were saved" in str(err.value)
    assert [r.sha256 for r in studio.library.records()] == [job.pictures[0].sha256]


def test_a_job_cancelled_while_queued_never_starts(tiny_model):
    with Studio() as studio:
        first = studio.submit(recipe(steps=20))
        second = studio.submit(recipe(seed=9))
        second.cancel()
        first.result(timeout=60)
        with pytest.raises(Cancelled, match="before it started"):
            second.result(timeout=60)
        assert [e.kind for e in second.events()] == ["queued", "cancelled"]


def test_admission_errors_come_before_a_job_exists(studio):
    with pytest.raises(PolicyBlocked):
        studio.submit(recipe(prompt="a naked child"))
    with pytest.raises(InvalidParameter):
        studio.submit({"model": {"name": "tiny"}, "steps": []})
    assert studio.job_records.list() == []


def test_a_failing_step_fails_the_job_with_its_error(studio):
    bad = Recipe.parse({"model": {"name": "tiny"}, "steps": [
        {"op": "generate", "prompt": "a boat", "width": 16, "height": 16, "steps": 1},
        {"op": "inpaint", "prompt": "a face", "zone": {"kind": "detect", "detector": "face"}}]})
    job = studio.submit(bad)  # whether a face is there is known only once the picture is made
    with pytest.raises(ImageError, match="no face found"):
        job.result(timeout=60)
    assert job.state == "failed" and studio.job_records.get(job.id).state == "failed"


def test_two_jobs_on_one_engine_at_once_match_each_run_alone(tiny_model, tmp_path):
    hires = {"op": "hires", "scale": 2, "steps": 3, "denoise": 0.5}
    inpaint = {"op": "inpaint", "zone": {"kind": "box", "x": 4, "y": 4, "width": 8, "height": 8}, "steps": 4,
               "prompt": "a red door", "sampler": "Euler a"}
    recipes = [recipe("a fox", 1, 6, 1, 16, hires), recipe("a boat", 2, 6, 1, 16, inpaint)]
    settings = Settings()
    settings.concurrent_jobs = 2
    with Studio(settings=settings) as studio:
        alone = [pixels(studio.run(r, out_dir=tmp_path / f"alone{i}")[-1].path) for i, r in enumerate(recipes)]
        overlap = []
        jobs = [studio.submit(r, out_dir=tmp_path / f"both{i}") for i, r in enumerate(recipes)]
        for job in jobs:  # both must be running at the same time at some point
            for event in job.events():
                if event.kind == "step":
                    overlap.append(tuple(j.state for j in jobs))
                    break
        together = [pixels(job.result(timeout=120)[-1].path) for job in jobs]
    assert ("running", "running") in overlap
    for a, b in zip(alone, together):
        assert np.array_equal(a, b)


def test_an_engine_in_use_is_never_evicted(tiny_model, tiny_sd1_dir):
    from darkroom.cli import main
    from darkroom.models.cache import EngineCache
    from darkroom.models.registry import Registry

    assert main(["models", "add", str(tiny_sd1_dir), "--name", "tiny-b", "--prediction", "v"]) == 0
    settings = Settings()
    settings.model_cache_size = 1
    cache = EngineCache()
    a, b = Registry(settings).resolve("tiny"), Registry(settings).resolve("tiny-b")
    with cache.lease(a, settings) as first:
        with cache.lease(b, settings) as second:
            assert not first.closed and not second.closed  # over budget while both are in use
            assert cache.in_use() == {"tiny": 1, "tiny-b": 1}
        assert not first.closed and cache.engines() == [first]  # the idle one went, not the one in use
        assert second.closed
    with cache.lease(a, settings) as again:
        assert again is first  # still cached after its lease ended
    cache.clear()
    assert first.closed


def test_a_job_that_was_running_in_a_dead_process_is_marked_interrupted(tiny_model):
    store = JobStore(Settings())
    store.add("deadbeef", recipe="{}", project="default", owner=None)
    store.set_state("deadbeef", "running")
    with __import__("sqlite3").connect(Settings().database_file) as db:
        db.execute("UPDATE jobs SET pid = ? WHERE id = 'deadbeef'", (2**22 + 12345,))  # no such process
    with Studio() as studio:
        assert [r.id for r in studio.interrupted] == ["deadbeef"]
        record = studio.job_records.get("deadbeef")
        assert record.state == "interrupted" and "running" in record.error


def test_export_names_are_unique_under_concurrency(tmp_path):
    tmp_path = tmp_path / "out"
    data = [f"picture {i}".encode() for i in range(16)]
    paths: list[Path] = []
    threads = [threading.Thread(target=lambda d=d: paths.append(export_new(tmp_path, "42", d))) for d in data]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(paths)) == 16 and sorted(p.read_bytes() for p in paths) == sorted(data)
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"{i:05d}-42.png" for i in range(16)]


def test_two_processes_writing_one_folder_keep_every_picture(tiny_model, tmp_path):
    tmp_path = tmp_path / "out"
    command = [sys.executable, "-m", "darkroom", "generate", "a fox", "--model", "tiny", "--steps", "2",
               "--size", "16x16", "--seed", "7", "-o", str(tmp_path)]
    runs = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=os.environ)
            for _ in range(2)]
    done = [run.communicate(timeout=300) for run in runs]
    printed = [out.decode().split() for out, _ in done]
    assert all(run.returncode == 0 for run in runs), [err.decode()[-2000:] for _, err in done]
    assert len(set(printed[0] + printed[1])) == 2 and len(list(tmp_path.glob("*.png"))) == 2


def batch_in_a_process(out: Path, batch: int, until: str) -> subprocess.Popen:
    """`darkroom generate --batch N` in a process of its own, once a file matching `until` is in `out`."""
    command = [sys.executable, "-m", "darkroom", "generate", "a fox", "--model", "tiny", "--steps", "3",
               "--size", "16x16", "--batch", str(batch), "-o", str(out)]
    run = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=os.environ)
    deadline = time.time() + 300
    while not list(out.glob(until)) and time.time() < deadline and run.poll() is None:
        time.sleep(0.02)
    return run


def test_a_kill_during_a_batch_never_leaves_a_file_without_its_library_row(tiny_model, tmp_path):
    tmp_path = tmp_path / "out"
    run = batch_in_a_process(tmp_path, 12, until="0000[2-9]-*.png")
    run.send_signal(signal.SIGKILL)
    run.wait()
    with Studio() as studio:
        written = sorted(tmp_path.glob("*.png"))
        assert written, "the batch was killed before any picture was written"
        for path in written:
            assert studio.library.find_file(path) is not None, path
        (job,) = studio.interrupted
        assert job.state == "interrupted" and "while the job was running" in job.error
        left = {studio.library.find_file(path).sha256 for path in written}
        assert left <= set(job.pictures)  # its record names every picture it left


def test_big_pictures_preview_with_a_registered_taesd_or_the_linear_map(studio, tmp_path):
    from diffusers import AutoencoderTiny

    studio.settings.preview_every = 1
    big = recipe(size=72, steps=2)  # 36x36 latents: beyond what the full VAE previews
    approx = [e for e in studio.submit(big, previews=True).events() if e.kind == "step"]
    assert approx[-1].preview.size == (36, 36)  # one pixel per latent pixel
    folder = tmp_path / "taesd"
    AutoencoderTiny(encoder_block_out_channels=(8,) * 4, decoder_block_out_channels=(8,) * 4,
                    num_encoder_blocks=(1,) * 4, num_decoder_blocks=(1,) * 4).save_pretrained(folder)
    studio.settings.preview_decoder = str(folder)
    tiny = [e for e in studio.submit(big, previews=True).events() if e.kind == "step"]
    assert tiny[-1].preview.size == (256, 256) and tiny[-1].preview_x0.size == (256, 256)  # 288 px, shrunk
    studio.settings.preview_decoder = str(tmp_path / "missing")
    with pytest.raises(ModelError, match="preview decoder"):
        studio.submit(big, previews=True).result(timeout=60)


def test_ctrl_c_in_the_cli_cancels_and_says_exactly_what_was_written(tiny_model, tmp_path):
    out = tmp_path / "out"
    run = batch_in_a_process(out, 16, until="*.png")
    run.send_signal(signal.SIGINT)
    _, err = run.communicate(timeout=120)
    err = err.decode()
    assert run.returncode == 130, err
    written = sorted(out.glob("*.png"))
    assert 1 <= len(written) < 16
    assert f"{len(written)} picture(s) were saved before it stopped" in err
    with Studio() as studio:
        for path in written:
            assert str(path) in err and studio.library.find_file(path) is not None
        assert len(studio.library.records()) == len(written)


def test_the_words_a_policy_decision_names_are_encrypted_in_the_audit_log(studio):
    import sqlite3

    with pytest.raises(PolicyBlocked):
        studio.submit(recipe(prompt="a naked child on a beach"))
    (event,) = [e for e in studio.audit.entries() if e.kind == "policy"]
    assert event.payload["action"] == "block" and "naked" in json.dumps(event.payload)  # readable with the key
    with sqlite3.connect(studio.settings.database_file) as db:
        stored = " ".join(str(row) for row in db.execute("SELECT * FROM audit_entries"))
    assert "naked" not in stored and "child" not in stored


def test_replay_uses_the_thread_count_a_picture_records_or_says_it_differs(tiny_model, tmp_path, monkeypatch,
                                                                           capsys):
    import torch

    from darkroom.cli import main

    monkeypatch.setattr("darkroom.studio.studio._threads_set", True)  # the test process keeps its own count
    try:
        with Studio(settings=Settings(threads=2, concurrent_jobs=2)) as two:
            jobs = [two.submit(recipe(seed=seed, size=32), out_dir=tmp_path) for seed in (1, 2)]
            pictures = [job.result()[-1] for job in jobs]
        assert [p.recipe.runtime.threads for p in pictures] == [2, 2]  # each worker ran, and recorded, two
        assert main(["replay", str(pictures[0].path)]) == 0  # a one-shot replay takes the recorded count
        assert capsys.readouterr().out.startswith("identical: ")
        with Studio(settings=Settings(threads=1)) as one:  # a studio whose count is fixed otherwise (a server)
            replayed = one.replay(pictures[0].path)
        assert replayed["identical"] or "threads 2 -> 1" in replayed["why"]
    finally:
        torch.set_num_threads(1)  # as conftest set it, also for the threads later tests start
