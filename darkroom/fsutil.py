"""Files are written whole or not at all, and what the studio keeps is private to its user.

The one place that sets file modes: folders the studio creates for its data are 0700 and
files it writes there 0600, whatever the umask (`private_dir`, `write_atomic`,
`private_file`); the database (`darkroom.db`) and the library objects go through here.
Output folders the user chose are checked before anything is computed
(`prepare_output_dir`) and follow the umask.
"""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path

PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600


def private_dir(path: Path) -> Path:
    """`path` as a folder; every folder created on the way is 0700 (existing ones are left as they are)."""
    path = Path(path)
    missing = []
    probe = path
    while not probe.exists() and probe != probe.parent:
        missing.append(probe)
        probe = probe.parent
    for folder in reversed(missing):
        try:
            folder.mkdir(mode=PRIVATE_DIR)
        except FileExistsError:
            continue  # another process made it
        os.chmod(folder, PRIVATE_DIR)  # mkdir's mode is masked by the umask
    if not path.is_dir():
        path.mkdir(parents=True, exist_ok=True)  # raises the right OSError (a file in the way)
    return path


def make_private(path: Path) -> None:
    """Take group and other permissions off an existing file or folder (a data dir made by an older version)."""
    try:
        mode = stat.S_IMODE(os.stat(path).st_mode)
    except FileNotFoundError:
        return
    if mode & 0o077:
        os.chmod(path, mode & 0o700)


def private_file(path: Path) -> Path:
    """Create `path` empty with mode 0600 if it does not exist; make an existing one 0600."""
    path = Path(path)
    private_dir(path.parent)
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE))
        os.chmod(path, PRIVATE_FILE)
    except FileExistsError:
        make_private(path)
    return path


def write_atomic(path: Path, data: bytes, *, mode: int = PRIVATE_FILE) -> Path:
    """Write `data` to a temp file beside `path`, fsync, then rename over it. The file gets `mode`
    (0600 by default, whatever the umask); folders created for it are 0700."""
    path = Path(path)
    private_dir(path.parent)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")  # 0600
    try:
        with os.fdopen(fd, "wb") as handle:
            if mode != PRIVATE_FILE:
                os.fchmod(handle.fileno(), mode)
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


class OutputFolderError(ValueError):
    """An output folder that cannot be used (raised as a user error by the caller)."""


def prepare_output_dir(path: Path) -> list[Path]:
    """Make sure pictures can be written into the folder `path`, before anything is computed.

    Missing folders are created (with the umask: the user's own folder); returns those created,
    so a run that fails can take them away again (`remove_empty_dirs`). Raises OutputFolderError
    with a message for a file in the way, a folder that cannot be created or written."""
    path = Path(path)
    created: list[Path] = []
    missing, probe = [], path
    while not os.path.lexists(probe) and probe != probe.parent:
        missing.append(probe)
        probe = probe.parent
    if not probe.is_dir():
        what = "is a file" if probe.is_file() else "is not a folder"
        where = "" if probe == path else f" ({probe} {what})"
        raise OutputFolderError(f"cannot use the output folder {path}: "
                                + (f"{path} {what}, not a folder" if probe == path else f"a part of it{where}"))
    try:
        for folder in reversed(missing):
            folder.mkdir()
            created.append(folder)
        fd, tmp = tempfile.mkstemp(dir=path, prefix=".darkroom-probe-", suffix=".tmp")
        os.close(fd)
        os.unlink(tmp)
    except OSError as err:
        remove_empty_dirs(created)
        raise OutputFolderError(f"cannot write to the output folder {path}: {err.strerror or err}") from None
    return created


def remove_empty_dirs(folders: list[Path]) -> None:
    """Remove the folders (deepest first) that are still empty; others stay."""
    for folder in sorted(folders, key=lambda p: len(p.parts), reverse=True):
        try:
            folder.rmdir()
        except OSError:
            pass
