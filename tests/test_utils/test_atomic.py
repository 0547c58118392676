# Copyright (c) ltplug contributors. All rights reserved.
import os

import pytest

from ltplug.utils.atomic import atomic_open


def test_atomic_open_writes_and_leaves_no_temp(tmp_path):
    path = tmp_path / 'a.json'
    with atomic_open(str(path)) as f:
        f.write('{"x": 1}')
    assert path.read_text() == '{"x": 1}'
    assert os.listdir(tmp_path) == ['a.json']
    umask = os.umask(0)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask


def test_failure_halfway_keeps_old_content(tmp_path):
    path = tmp_path / 'ckpt.pth'
    path.write_bytes(b'good')
    with pytest.raises(OSError, match='disk full'):
        with atomic_open(str(path), 'wb') as f:
            f.write(b'half')
            raise OSError('disk full')
    assert path.read_bytes() == b'good'
    assert os.listdir(tmp_path) == ['ckpt.pth']


def test_failure_on_new_file_leaves_nothing(tmp_path):
    path = tmp_path / 'new.txt'
    with pytest.raises(RuntimeError):
        with atomic_open(str(path)) as f:
            f.write('x')
            raise RuntimeError('boom')
    assert os.listdir(tmp_path) == []


def test_bad_mode_is_named(tmp_path):
    with pytest.raises(ValueError, match="'a'"):
        with atomic_open(str(tmp_path / 'x'), 'a'):
            pass
