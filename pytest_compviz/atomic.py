"""Writing a file so that a reader sees the old one or the new one, never half of one (stdlib only:
the baseline store and the report both use it)."""

from __future__ import annotations

import errno
import os
import stat
import tempfile
from pathlib import Path

_KINDS = ((stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
          (stat.S_ISSOCK, "a socket"))  # a directory: os.replace says so itself


def write_target(path: Path) -> Path:
    """Where writing ``path`` lands: a symlink is written through (the link stays a link and its
    target gets the data; a lock or temp file goes beside the target), and anything that exists
    but is not a regular file (a FIFO, a device such as /dev/null, a socket) is refused
    with an OSError saying what it is: replacing it with a file would break whatever uses it."""
    real = Path(os.path.realpath(path))
    try:
        mode = os.stat(real).st_mode
    except FileNotFoundError:
        return real
    for test, kind in _KINDS:
        if test(mode):
            raise OSError(errno.EINVAL, f"is {kind}, not a regular file; not replaced", str(path))
    return real


def atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so a reader sees the old file or the new one, never half of one.

    The temp file sits in the target folder (``os.replace`` is atomic only within one file system);
    concurrent writers each rename their own whole file, and the last one wins. ``path`` goes
    through ``write_target`` first: links are written through, non-regular files refused."""
    path = write_target(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(temp, 0o644)
        os.replace(temp, path)
    except BaseException:
        try:
            os.unlink(temp)
        except FileNotFoundError:
            pass
        raise
