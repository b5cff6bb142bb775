"""Resident memory of a process and the peak of each stage of it, from /proc/self/status (Linux).

`Stages.wrap(module, name, label)` replaces a function of a module (or a method of a class) with one
that records the peak resident set (VmHWM) while it runs: the peak is reset when a stage begins
(/proc/self/clear_refs, "5"), and every stage still open gets the peaks of the stages inside it.
The process's own peak is kept in `process_peak` across the resets. torch's memory is invisible
to tracemalloc; these are the kernel's numbers, anonymous (RssAnon: tensors, heap) and file-backed
(RssFile: memory-mapped weights, libraries) apart.
"""

from __future__ import annotations

import functools
import threading
import time
from pathlib import Path

KEYS = ("VmRSS", "VmHWM", "RssAnon", "RssFile")


def status_mb() -> dict[str, float]:
    try:
        lines = Path("/proc/self/status").read_text().splitlines()
    except OSError:
        return {key: float("nan") for key in KEYS}
    fields = dict(line.split(":", 1) for line in lines if ":" in line)
    return {key: int(fields[key].split()[0]) / 1024 if key in fields else float("nan") for key in KEYS}


def reset_peak() -> None:
    """Start VmHWM again from the current resident set (ignored where the kernel does not allow it)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass


class Stages:
    """With `sample` seconds, a thread also reads RssAnon that often and keeps each stage's highest
    ("anon peak"): unlike VmHWM it does not shrink when the kernel drops mapped weight pages under
    memory pressure (a shared machine), but it can miss a peak shorter than the interval."""

    def __init__(self, sample: float = 0.005):
        self.rows: dict[str, dict[str, float]] = {}  # label -> before, peak, after (MB), anon/file after
        self.process_peak = 0.0
        self.anon_peak = 0.0
        self._open: list[str] = []
        if sample:
            threading.Thread(target=self._sample, args=(sample,), daemon=True, name="memstages").start()

    def _sample(self, interval: float) -> None:
        while True:
            anon = status_mb()["RssAnon"]
            self.anon_peak = max(self.anon_peak, anon)
            for label in list(self._open):
                row = self.rows.get(label)
                if row is not None:
                    row["anon_peak"] = max(row.get("anon_peak", 0.0), anon)
            time.sleep(interval)

    def _note_peak(self) -> float:
        peak = status_mb()["VmHWM"]
        self.process_peak = max(self.process_peak, peak)
        for label in self._open:
            self.rows[label]["peak"] = max(self.rows[label]["peak"], peak)
        return peak

    def mark(self, label: str) -> None:
        """A point between stages: the resident set now, and the peak since the last reset."""
        self._note_peak()
        now = status_mb()
        self.rows[label] = {"before": now["VmRSS"], "peak": now["VmHWM"], "after": now["VmRSS"],
                            "anon": now["RssAnon"], "file": now["RssFile"], "anon_peak": self.anon_peak}

    def wrap(self, owner, name: str, label: str) -> None:
        inner = getattr(owner, name)

        @functools.wraps(inner)
        def measured(*args, **kwargs):
            self._note_peak()
            before = status_mb()["VmRSS"]
            row = self.rows.setdefault(label, {"before": before, "peak": 0.0, "anon_peak": 0.0})
            row["before"] = before
            reset_peak()
            self._open.append(label)
            try:
                return inner(*args, **kwargs)
            finally:
                self._note_peak()
                self._open.remove(label)
                now = status_mb()
                row.update(after=now["VmRSS"], anon=now["RssAnon"], file=now["RssFile"])

        setattr(owner, name, measured)

    def peak(self) -> float:
        return max(self.process_peak, self._note_peak())
