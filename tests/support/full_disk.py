# Copyright (c) ltplug contributors. All rights reserved.
"""A full disk for tests: writes that fail halfway with ``ENOSPC``."""
import builtins
import errno
import os

__all__ = ['FullDisk']


class FullDisk:
    """Files opened for writing while ``armed`` (and whose path contains
    ``match``) take only the bytes that fit, then raise ENOSPC."""

    def __init__(self, monkeypatch, match: str = '', room: int = 100):
        self.armed = False
        self.match = match
        self.room = room
        real_open, real_fdopen = builtins.open, os.fdopen
        disk = self

        class _File:

            def __init__(self, f, path):
                self._f, self._path, self._left = f, path, disk.room

            def write(self, data):
                if len(data) > self._left:
                    self._f.write(data[:self._left])
                    self._f.flush()
                    self._left = 0
                    raise OSError(errno.ENOSPC, 'No space left on device',
                                  self._path)
                self._left -= len(data)
                return self._f.write(data)

            def __enter__(self):
                return self

            def __exit__(self, *exc):
                return self._f.__exit__(*exc)

            def __getattr__(self, name):
                return getattr(self._f, name)

        def wrap(f, path, mode):
            if disk.armed and mode in ('w', 'wb') and disk.match in str(path):
                return _File(f, path)
            return f

        def fake_open(file, mode='r', *args, **kwargs):
            return wrap(real_open(file, mode, *args, **kwargs), file, mode)

        def fake_fdopen(fd, mode='r', *args, **kwargs):
            path = os.readlink(f'/proc/self/fd/{fd}')
            return wrap(real_fdopen(fd, mode, *args, **kwargs), path, mode)

        monkeypatch.setattr(builtins, 'open', fake_open)
        monkeypatch.setattr(os, 'fdopen', fake_fdopen)
