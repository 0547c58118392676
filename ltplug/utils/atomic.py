# Copyright (c) ltplug contributors. All rights reserved.
"""Write files so that a reader never sees a half-written one."""
import contextlib
import os
import os.path as osp
import tempfile
from typing import IO, Iterator

__all__ = ['atomic_open']


@contextlib.contextmanager
def atomic_open(path: str, mode: str = 'w', **kwargs) -> Iterator[IO]:
    """Open ``path`` for writing through a temporary file and a rename.

    The data goes to a temporary file in the same folder (so the rename stays
    on one file system); it is flushed and ``fsync``-ed, then moved over
    ``path`` with :func:`os.replace`, which is atomic on POSIX and Windows.
    If the block raises (a full disk, a kill during the write, a failing
    serialiser), the temporary file is removed and ``path`` keeps its old
    content, or stays absent.

    Args:
        path (str): The file to write.
        mode (str): ``'w'`` (text) or ``'wb'`` (bytes). Defaults to ``'w'``.
        **kwargs: Passed to :func:`open` (e.g. ``encoding``).

    Yields:
        IO: The open temporary file.

    Raises:
        ValueError: If ``mode`` is not a plain write mode.
    """
    if mode not in ('w', 'wb'):
        raise ValueError(f"atomic_open: mode must be 'w' or 'wb', got {mode!r}")
    folder = osp.dirname(osp.abspath(path))
    fd, tmp = tempfile.mkstemp(
        prefix=f'.{osp.basename(path)}.', suffix='.tmp', dir=folder)
    try:
        with os.fdopen(fd, mode, **kwargs) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        # mkstemp creates 0600; give the file the permissions open() would.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.remove(tmp)
        raise
