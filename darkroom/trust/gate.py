"""The trust gate of a run: the policy decides before any pixel is made, and every step
becomes an audit event. The studio (`darkroom.studio`) goes through here for every job;
there is no other way to run a recipe.

A run belongs to a `darkroom.scope.Scope` (project, lawful basis, label, owner), passed
explicitly: the project is its audit subject, so erasing one project shreds only its events.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict
from pathlib import Path

from darkroom.scope import Scope
from darkroom.trust.audit import DEFAULT_PERSONAL
from darkroom.settings import Settings

_POLICIES: "OrderedDict[tuple, object]" = OrderedDict()
KEEP_POLICIES = 4  # a loaded policy holds its lexicon index (about 300 MB); a process serves one data dir
_POLICIES_LOCK = threading.Lock()
# the words that fired are the user's: encrypted per subject like the prompt (the rule names stay readable)
POLICY_PERSONAL = DEFAULT_PERSONAL | {"evidence", "hits", "concepts"}


def audit_subject(project: str) -> str:
    """The audit subject whose key encrypts a project's personal fields."""
    return f"project:{project}"


class ScopedAudit:
    """An AuditLog as `finish_image` sees it: export events go under the project's subject,
    with the file hashes encrypted too, so erasing the project leaves no hash readable."""

    PERSONAL_EXTRA = frozenset({"sha256", "parent_sha256"})

    def __init__(self, log, subject: str):
        self.log, self.subject, self.settings = log, subject, log.settings

    def append(self, kind: str, payload: dict, subject: str | None = None, *, personal=None):
        from darkroom.trust.audit import DEFAULT_PERSONAL

        personal = (DEFAULT_PERSONAL if personal is None else frozenset(personal)) | self.PERSONAL_EXTRA
        return self.log.append(kind, payload, subject or self.subject, personal=personal)

    def __getattr__(self, name):
        return getattr(self.log, name)


def scoped_audit(log, project: str) -> ScopedAudit:
    return ScopedAudit(log, audit_subject(project))


def policy_for(settings: Settings):
    """The policy for a data dir, loaded once per process (reloaded when policy.yaml changes)."""
    from darkroom.trust.policy import Policy

    admin = Path(settings.home) / "policy.yaml"
    key = (str(settings.home), admin.stat().st_mtime_ns if admin.is_file() else None)
    with _POLICIES_LOCK:  # one load also when a warm-up thread and a request ask at once
        if key not in _POLICIES:
            _POLICIES[key] = Policy.load(settings)
            while len(_POLICIES) > KEEP_POLICIES:
                _POLICIES.popitem(last=False)
        _POLICIES.move_to_end(key)
        return _POLICIES[key]


def warm_policy(settings: Settings) -> None:
    """Load the policy and its sentence model and check one harmless prompt, so that the first real
    check is fast (a background thread of the studio runs this); errors are left to that check."""
    try:
        policy_for(settings).check({"prompt": "a photograph of a garden"})
    except Exception:  # noqa: BLE001 - the real check raises it again, with its message
        pass


def prompt_texts(recipe) -> dict[str, str]:
    """Every text of a recipe that conditions generation, named by step and field."""
    texts = {}
    for index, step in enumerate(recipe.steps):
        for field in ("prompt", "negative_prompt"):
            value = getattr(step, field, None)
            if value:
                texts[f"steps.{index}.{field}"] = value
    return texts


def pixel_sha256(image) -> str:
    """A hash of an image's decoded pixels (its size and mode included)."""
    header = f"{image.mode}:{image.width}x{image.height}:".encode()
    return hashlib.sha256(header + image.tobytes()).hexdigest()


class RunAudit:
    """Audit events of one run: the admission decision, then one event per step."""

    def __init__(self, log, recipe, scope: Scope):
        self.log = log
        self.settings = log.settings
        self.scope = scope
        self.subject = audit_subject(self.scope.project)
        self.recipe_sha256 = recipe.sha256()
        self.networks = [n.model_dump(mode="json") for n in getattr(recipe, "networks", [])]  # LoRAs, embeddings
        self.job_id: str | None = None
        self._last = time.perf_counter()

    def admit(self, recipe) -> None:
        """Check every prompt of the recipe; log the decision; raise PolicyBlocked if blocked."""
        decision = policy_for(self.settings).check(prompt_texts(recipe) or {"prompt": ""})
        self.log.append("policy", {"job": self.job_id, "actor": self.scope.owner,
                                   "recipe_sha256": self.recipe_sha256, "recipe": recipe.canonical_json(),
                                   **decision.to_dict()}, subject=self.subject, personal=POLICY_PERSONAL)
        decision.raise_if_blocked()
        from darkroom.trust.consent import check_inputs

        check_inputs(recipe, self.settings, self.scope, self.log, self.subject)

    def model_loaded(self, engine) -> None:
        self.log.append("model", {"job": self.job_id, "actor": self.scope.owner, "recipe_sha256": self.recipe_sha256,
                                  "name": engine.entry.name,
                                  "sha256": engine.entry.sha256, "device": str(engine.device),
                                  "dtype": str(engine.dtype).removeprefix("torch."),
                                  **({"networks": self.networks} if self.networks else {})})
        self._last = time.perf_counter()

    def step_done(self, developed) -> None:
        """One event per executed step: parameters, input and output pixel hashes, duration."""
        now = time.perf_counter()
        step = developed.recipe.steps[-1]
        entry = self.log.append("step", {
            "job": self.job_id,
            "actor": self.scope.owner,
            "recipe_sha256": self.recipe_sha256,
            "image_recipe_sha256": developed.recipe.sha256(),
            "op": step.op,
            "step_index": developed.step_index,
            "batch_index": developed.batch_index,
            "recipe": developed.recipe.canonical_json(),
            "input_pixels_sha256": pixel_sha256(developed.parent.image) if developed.parent else None,
            "output_pixels_sha256": pixel_sha256(developed.image),
            "seconds": round(now - self._last, 4),
        }, subject=self.subject)
        developed.audit_ref = entry.ref
        self._last = now

    def ended(self, state: str, detail: dict | None = None) -> None:
        """How a job that was admitted ended, when it did not end with its pictures (cancelled, failed)."""
        self.log.append(state, {"job": self.job_id, "actor": self.scope.owner, "recipe_sha256": self.recipe_sha256,
                                **(detail or {})},
                        subject=self.subject)
