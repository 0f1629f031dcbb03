"""The one atomic file writer: a reader sees the old file or the new one, never a torn one.

On a file system the bytes go to a hidden temporary name in the same folder, are fsynced, then
renamed over the target (and the folder is fsynced, so the rename survives a crash); the file
gets the usual mode (0666 less the umask). Anywhere else (S3 through fsspec) the object is one
PUT, which the store makes visible whole or not at all.
"""

from __future__ import annotations

import os
import uuid

from upath import UPath


def is_local(path: UPath) -> bool:
    return path.protocol in ("", "file", "local")


def write_bytes_atomic(path: UPath | str | os.PathLike, data: bytes) -> None:
    """Write `data` to `path` (a UPath, or a local path) atomically."""
    upath = path if isinstance(path, UPath) else UPath(os.fspath(path))
    if is_local(upath):
        _replace_local(str(upath.path), data)
    else:
        upath.fs.pipe_file(upath.path, data)


def _replace_local(target: str, data: bytes) -> None:
    # a bare file name ("DKEntries-upload.csv") lives in the working folder
    folder = os.path.dirname(os.path.abspath(target))
    os.makedirs(folder, exist_ok=True)
    tmp = os.path.join(folder, f".{os.path.basename(target)}.{uuid.uuid4().hex}.tmp")
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    dir_fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
