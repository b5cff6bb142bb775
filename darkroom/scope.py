"""Who a run belongs to and what the user confirmed: passed explicitly with every request.

The scope is not a generation parameter, so it stays out of the recipe and its hash. It is
never read from a context variable: a worker thread (or a remote worker) gets it as data.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

from darkroom.errors import InvalidParameter

DEFAULT_PROJECT = "default"
_PROJECT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
BASES = ("consent", "contract", "legitimate-interests")


def check_project(name: str) -> str:
    if not isinstance(name, str) or not _PROJECT_NAME.fullmatch(name):
        raise InvalidParameter(f"project name {name!r}: use 1-64 letters, digits, '.', '_' or '-', "
                               "starting with a letter or digit")
    return name


@dataclass(frozen=True)
class Scope:
    project: str = DEFAULT_PROJECT
    consent: str | None = None  # the lawful basis the user confirmed for photos of people in the inputs
    label: bool = False  # draw "KI-generiert / AI-generated" into outputs derived from such photos
    owner: str | None = None  # the user who asked (HTTP); None: the local user

    def __post_init__(self):
        check_project(self.project)
        if self.consent is not None and self.consent not in BASES:
            raise InvalidParameter(f"lawful basis {self.consent!r}: use one of {', '.join(BASES)}")


def default_project() -> str:
    """$DARKROOM_PROJECT, or "default"."""
    return os.environ.get("DARKROOM_PROJECT") or DEFAULT_PROJECT
