"""Private file helpers: all-or-nothing writes, stale temporaries, one-line error details.

On the bottom floor with ``models`` and ``data``: it imports nothing from the package.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO

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
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
