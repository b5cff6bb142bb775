"""Errors a user can cause. Each message says what is wrong and what to do.

The CLI prints them without a traceback and exits with `exit_code`; the HTTP API
returns them as JSON with `status`.
"""


class DarkroomError(Exception):
    exit_code = 2
    status = 400


class InvalidParameter(DarkroomError):
    """A parameter is out of range or malformed."""


class ModelError(DarkroomError):
    """A model file or folder cannot be used."""

    status = 422


class UnknownModel(ModelError):
    status = 404


class UnsafeModelFile(ModelError):
    """A checkpoint that could run code when loaded (pickle)."""


class ImageError(DarkroomError):
    """An input image or mask cannot be used."""

    status = 422


class PolicyBlocked(DarkroomError):
    status = 403
    exit_code = 3


class IntegrityError(DarkroomError):
    """Stored data does not match its hash, signature or chain."""

    exit_code = 1
    status = 409


class Cancelled(DarkroomError):
    """A job was cancelled (between two denoising steps); nothing of it was saved."""

    exit_code = 130
    status = 409


class JobInterrupted(DarkroomError):
    """The studio stopped (crash, kill, shutdown) while a job was queued or running."""

    exit_code = 1
    status = 409


class Skipped(DarkroomError):
    """The rest of one batch image was skipped (A1111's "skip"); the job goes on with the next."""

    exit_code = 130
    status = 409
