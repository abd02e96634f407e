"""Private file helpers: all-or-nothing writes, stale temporaries, one-line error details.

On the bottom floor with ``models`` and ``data``: it imports nothing from the package.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

#: A folder with less free space than this (bytes) is full, for a failed write's message.
FULL_BELOW_BYTES = 1 << 20
#: A temporary file whose writer cannot be identified is stale after this long (seconds).
STALE_AFTER_S = 3600


def first_line(err: BaseException) -> str:
    """The first line of an exception's message, or its type's name when the message is empty."""
    lines = str(err).strip().splitlines()
    return lines[0] if lines else type(err).__name__


def _writer_is_gone(tmp: Path, name: str) -> bool:
    """Whether the process that wrote ``tmp`` (``<name>.<pid>.<random>.tmp``) has ended."""
    pid_text = tmp.name[len(name) + 1 :].split(".", 1)[0]
    if pid_text.isdigit():
        try:
            os.kill(int(pid_text), 0)
        except ProcessLookupError:
            return True
        except PermissionError:  # alive, another user's
            return False
        return False
    try:  # no process id in the name (an older version wrote it): judge by age
        return time.time() - tmp.stat().st_mtime > STALE_AFTER_S
    except FileNotFoundError:
        return False


def remove_stale_temporaries(path: Path) -> list[Path]:
    """Delete the temporary files that interrupted writes of ``path`` left behind.

    A process killed during :func:`atomic_write` (``kill -9``, a power cut) leaves its
    ``<name>.<pid>.<random>.tmp`` next to ``path``. Those of processes that have ended
    are removed; those of live processes (a write in progress) are kept.

    Returns:
        The files removed.
    """
    removed = []
    for tmp in path.parent.glob(f"{path.name}.*.tmp") if path.parent.is_dir() else []:
        if _writer_is_gone(tmp, path.name):
            tmp.unlink(missing_ok=True)
            removed.append(tmp)
    return removed


def atomic_write(path: Path, write: Callable[[IO], None], mode: str = "wb") -> None:
    """Write ``path`` all or nothing: ``write(fh)`` into a temporary file in the same
    folder, then ``os.replace`` it into place (an interruption leaves no partial file).

    Temporaries left by earlier, killed writes of ``path`` are removed first.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(path)
    fd, tmp = tempfile.mkstemp(
        dir=path.parent, prefix=f"{path.name}.{os.getpid()}.", suffix=".tmp"
    )
    try:
        with os.fdopen(fd, mode) as fh:
            write(fh)
        os.chmod(tmp, 0o644)  # mkstemp makes it private
        os.replace(tmp, path)
    except (OSError, RuntimeError) as err:
        failed = _write_error(path, err)  # before the temporary goes: it fills the disk
        Path(tmp).unlink(missing_ok=True)
        raise failed from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _write_error(path: Path, err: BaseException) -> OSError:
    """A failed write as one OSError naming ``path``; a full disk says so.

    ``torch.save`` reports a full disk as ``RuntimeError: ... unexpected pos ...``; a
    plain ``write`` as ``OSError(ENOSPC)``. Both become "no space left on <folder>".
    """
    try:
        full = shutil.disk_usage(path.parent).free < FULL_BELOW_BYTES
    except OSError:
        full = False
    if getattr(err, "errno", None) == errno.ENOSPC or (
        isinstance(err, RuntimeError) and full
    ):
        return OSError(
            errno.ENOSPC,
            f"cannot write {path}: no space left on {path.parent}; free some space "
            "or write elsewhere",
        )
    if isinstance(err, OSError):
        return err
    return OSError(errno.EIO, f"cannot write {path}: {first_line(err)}")


# ---- a run folder's lock ---------------------------------------------------------------
#: The lock file in a run folder: it holds the process id of the run that writes there.
LOCK = ".lock"
_HELD: dict[Path, int] = {}  # run folders this process has locked: how many times


def _lock_owner(lock: Path) -> str:
    try:
        return lock.read_text().strip() or "an unknown process"
    except OSError:
        return "an unknown process"


@contextlib.contextmanager
def run_folder_lock(folder: Path) -> Iterator[Path]:
    """Hold the lock of run folder ``folder`` (made if missing) while the block runs.

    The lock is ``folder/.lock``, holding this process's id, with an exclusive
    ``flock`` on it: the kernel lets go when the process ends however it ends, so a
    lock left by a killed run is stale and taken over. The same process may take it
    again inside the block (the command line holds it around :func:`fit`).

    Raises:
        ValueError: another live process holds the lock (the message names it).
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    key = folder.resolve()
    if key in _HELD:
        _HELD[key] += 1
        try:
            yield folder / LOCK
        finally:
            _HELD[key] -= 1
        return
    fh = _take_lock(folder / LOCK)
    _HELD[key] = 1
    try:
        yield folder / LOCK
    finally:
        del _HELD[key]
        (folder / LOCK).unlink(missing_ok=True)
        fh.close()


def _take_lock(lock: Path) -> IO:
    """The open, ``flock``-ed lock file, holding this process's id."""
    while True:
        fh = open(lock, "a+")
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            fh.close()
            raise ValueError(
                f"{lock.parent} is in use by another run (process "
                f"{_lock_owner(lock)}, lock {lock}); wait for it to end or choose "
                "another output folder"
            ) from None
        try:  # the file may have been removed by its last owner before we locked it
            if os.fstat(fh.fileno()).st_ino == os.stat(lock).st_ino:
                break
        except FileNotFoundError:
            pass
        fh.close()
    try:
        fh.seek(0)
        fh.truncate()
        fh.write(f"{os.getpid()}\n")
        fh.flush()
    except OSError:  # a full disk: leave no lock behind
        lock.unlink(missing_ok=True)
        fh.close()
        raise
    return fh
