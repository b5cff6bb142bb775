"""What the job commands share: the Studio, scope flags, following a job in the terminal."""

from __future__ import annotations

import argparse
import gc
import sys
from contextlib import contextmanager

from darkroom.scope import BASES


_OPEN: list = []
_PAUSED = False


def pause_collections() -> None:
    """Pause the garbage collector while a job command starts (the `darkroom` program only).

    Start-up creates some 800,000 objects that live until the process ends (torch, diffusers,
    transformers, the policy). Python's full collections walked all of them about nine times while
    they were made, and once more at exit: 1.6-2.6 CPU-s of a generate on darkroom-mini (10-20%,
    benchmarks/startup.py)."""
    global _PAUSED
    if gc.isenabled():
        gc.disable()
        _PAUSED = True


def resume_collections() -> None:
    """Freeze what start-up made (gc.freeze: never scanned again, still freed by reference counting)
    and collect again from here on. Start-up leaves about 14,000 objects of cyclic garbage."""
    global _PAUSED
    if _PAUSED:
        _PAUSED = False
        gc.freeze()
        gc.enable()


def open_studio(**settings):
    """The Studio for this command (settings from the environment, overridden by `settings`);
    `main` closes it when the command ends."""
    from darkroom.settings import Settings
    from darkroom.studio import Studio

    config = Settings()
    for name, value in settings.items():
        setattr(config, name, value)
    studio = Studio(settings=config)
    _OPEN.append(studio)
    return studio


def close_studios() -> None:
    while _OPEN:
        _OPEN.pop().close()


def add_scope_arguments(parser: argparse.ArgumentParser) -> None:
    """--project, --consent, --basis, --label: who a run belongs to and what the user confirmed (not in the recipe)."""
    parser.add_argument("--project", help="library project the pictures belong to, for retention and erasure "
                        "(default: $DARKROOM_PROJECT or 'default')")
    parser.add_argument("--consent", action="store_true",
                        help="confirm you may edit the photos of people among the inputs: you have the person's "
                        "consent (GDPR Art. 6(1)(a)); recorded in the audit log")
    parser.add_argument("--basis", choices=BASES, help="confirm another lawful basis instead: contract (Art. "
                        "6(1)(b)) or legitimate-interests (Art. 6(1)(f))")
    parser.add_argument("--label", action="store_true", default=False,
                        help="draw a visible 'KI-generiert / AI-generated' band into pictures derived from "
                        "uploaded photos (deep-fake disclosure, AI Act Art. 50(4)); kept with the photo")


def add_output_arguments(parser: argparse.ArgumentParser) -> None:
    """--format, --quality, --comfyui: how exported pictures are written (the library keeps PNG)."""
    parser.add_argument("--format", choices=("png", "jpeg", "webp"), default="png",
                        help="file format of the exported pictures (default: png); JPEG/WebP carry the infotext in "
                        "EXIF UserComment as A1111 writes it, C2PA, XMP and the watermark")
    parser.add_argument("--quality", type=int, default=95, help="JPEG/WebP quality 1-100 (default: 95)")
    parser.add_argument("--comfyui", action="store_true",
                        help="PNG: also write a ComfyUI API-format 'prompt' graph of the recipe (core nodes), so "
                        "ComfyUI can load and run the picture")


def output_options(args: argparse.Namespace) -> dict:
    """The `Studio.submit` keywords of add_output_arguments."""
    return {"format": getattr(args, "format", "png"), "quality": getattr(args, "quality", 95),
            "comfyui": bool(getattr(args, "comfyui", False))}


def scope_options(args: argparse.Namespace) -> dict:
    """The scope keywords of `Studio.submit` that the command line asks for."""
    basis = getattr(args, "basis", None) or ("consent" if getattr(args, "consent", False) else None)
    return {"project": getattr(args, "project", None), "consent": basis, "label": bool(getattr(args, "label", False))}


def follow(job) -> list:
    """Show a job's progress on stderr and wait for its pictures. Ctrl-C cancels it: the pictures
    of chains already finished stay saved (the error says which), the rest is not written."""
    with cancel_on_ctrl_c(job), progress_bar() as update:
        for event in job.events():
            if event.kind == "step":
                resume_collections()  # the model is loaded: start-up is over
                update(event.step, event.total)
    return job.result()


@contextmanager
def cancel_on_ctrl_c(job):
    """SIGINT cancels the job instead of raising inside a wait (which can break a lock's state)."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum, frame):
        if job.cancel_requested:
            raise KeyboardInterrupt
        job.cancel()
        print("\ndarkroom: cancelling after this denoising step; the pictures already saved stay",
              file=sys.stderr)

    previous = signal.signal(signal.SIGINT, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


@contextmanager
def progress_bar():
    """A tqdm bar on stderr, restarted for each denoising run (one per picture and step)."""
    from tqdm import tqdm

    bar = None

    def update(done: int, total: int) -> None:
        nonlocal bar
        if bar is None or done == 1:
            if bar is not None:
                bar.close()
            bar = tqdm(total=total, unit="step", file=sys.stderr, leave=False)
        bar.update(1)

    try:
        yield update
    finally:
        if bar is not None:
            bar.close()
