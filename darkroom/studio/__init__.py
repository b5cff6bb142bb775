"""The studio core: one service that runs recipes as jobs for every front end.

    studio.py   Studio: owns settings, library, audit log, registry, engines, policy; submit, replay, ...
    jobs.py     Job (events, cancel, result), JobEvent, Picture, PreviewPlan (how often a job previews)
    worker.py   Work (what a worker receives), compute (the pixels), LocalExecutor (threads)
    saving.py   render + store + export, in the order that survives a kill
    inputs.py   input pictures into the library (metadata stripped, consent checked)
    variants.py variant groups and contact sheets;  replay.py  replay and compare
"""

from darkroom.studio.jobs import EVERY_STEP, Job, JobEvent, Picture, PreviewPlan
from darkroom.studio.studio import Studio

__all__ = ["EVERY_STEP", "Job", "JobEvent", "Picture", "PreviewPlan", "Studio"]
