# Copyright (c) ltplug contributors. All rights reserved.
"""Safe checkpoint loading: MMEngine's full checkpoints load with
weights_only=True, code-executing pickles are refused and never run."""
import os
import os.path as osp
import pickle

import numpy as np
import pytest
import torch
from mmengine.logging import HistoryBuffer
from mmengine.runner.checkpoint import _load_checkpoint

from ltplug.utils import (CheckpointReadError, UnsafeCheckpointError,
                          allowed_checkpoint_global,
                          load_checkpoint_safely)
from tests.helpers import run_tool


class _Payload:
    """Unpickling this calls os.system, which creates a marker file."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f'touch {self.marker}', ))


def _full_checkpoint(path):
    buf = HistoryBuffer()
    buf.update(0.5)
    buf.update(np.float64(0.25))
    torch.save(
        dict(
            meta=dict(epoch=3, seed=np.int64(7), dataset_meta=dict(
                classes=('a', 'b'))),
            state_dict={'w': torch.ones(2, 2)},
            message_hub=dict(log_scalars={'train/loss': buf},
                             runtime_info={'arr': np.arange(3)}),
            optimizer={'state': {}, 'param_groups': [{'lr': 0.1}]}), path)


def test_full_mmengine_checkpoint_loads(tmp_path):
    path = str(tmp_path / 'full.pth')
    _full_checkpoint(path)
    # plain torch.load (weights_only=True by default) refuses it ...
    with pytest.raises(pickle.UnpicklingError):
        torch.load(path)
    # ... ltplug loads it without turning weights_only off
    ckpt = load_checkpoint_safely(path)
    assert ckpt['meta']['epoch'] == 3
    assert ckpt['message_hub']['log_scalars']['train/loss'].current() == 0.25
    np.testing.assert_array_equal(
        ckpt['message_hub']['runtime_info']['arr'], np.arange(3))
    # and it is MMEngine's loader for local files (resume, load_from)
    assert torch.equal(_load_checkpoint(path)['state_dict']['w'],
                       torch.ones(2, 2))


@pytest.mark.parametrize('via_mmengine', [False, True])
def test_code_executing_pickle_is_refused(tmp_path, via_mmengine):
    marker = tmp_path / 'pwned'
    path = str(tmp_path / 'evil.pth')
    torch.save(dict(state_dict={'w': torch.zeros(1)},
                    meta=_Payload(str(marker))), path)
    load = _load_checkpoint if via_mmengine else load_checkpoint_safely
    with pytest.raises(UnsafeCheckpointError) as err:
        load(path)
    msg = str(err.value)
    assert path in msg  # names the file
    assert 'system' in msg  # names the offending global
    assert 'convert_trusted_checkpoint.py' in msg  # says how to load it
    assert not marker.exists()


def test_legacy_format_payload_is_refused(tmp_path):
    marker = tmp_path / 'pwned_legacy'
    path = str(tmp_path / 'evil_legacy.pth')
    torch.save({'meta': _Payload(str(marker))}, path,
               _use_new_zipfile_serialization=False)
    with pytest.raises(UnsafeCheckpointError, match='evil_legacy.pth'):
        load_checkpoint_safely(path)
    assert not marker.exists()


def test_missing_file_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match='nope.pth'):
        load_checkpoint_safely(str(tmp_path / 'nope.pth'))


@pytest.mark.parametrize('name,ok', [
    ('numpy.ndarray', True),
    ('numpy.dtypes.Float64DType', True),
    ('mmengine.logging.history_buffer.HistoryBuffer', True),
    ('posix.system', False),
    ('os.system', False),
    ('builtins.eval', False),
    ('subprocess.Popen', False),
    ('numpy.dtypes.Float64DTypeX.evil', False),
])
def test_allow_list(name, ok):
    assert allowed_checkpoint_global(name) is ok


def test_convert_trusted_checkpoint(tmp_path):
    src = str(tmp_path / 'trusted.pth')
    torch.save(dict(state_dict={'w': torch.arange(3.)},
                    meta=dict(note=object.__new__(_Plain))), src)
    with pytest.raises(UnsafeCheckpointError):
        load_checkpoint_safely(src)
    dst = str(tmp_path / 'slim.pth')
    run_tool(['tools/misc/convert_trusted_checkpoint.py', src, dst])
    assert torch.equal(load_checkpoint_safely(dst)['state_dict']['w'],
                       torch.arange(3.))
    assert osp.getsize(dst) > 0


class _Plain:
    """A harmless user class: not data-only for the safe loader."""


def _good_bytes(tmp_path):
    path = str(tmp_path / 'good.pth')
    torch.save({'state_dict': {'w': torch.ones(64, 64)}}, path)
    with open(path, 'rb') as f:
        return f.read()


def _write(path, data):
    mode = 'w' if isinstance(data, str) else 'wb'
    with open(path, mode) as f:
        f.write(data)
    return str(path)


@pytest.mark.parametrize('case,kind,phrase', [
    ('empty', 'empty', 'is empty (0 bytes)'),
    ('truncated_zip', 'truncated', 'is truncated'),
    ('truncated_legacy', 'truncated', 'truncated'),
    ('random_bytes', 'not_checkpoint', 'is not a torch checkpoint'),
    ('config_py', 'text', 'did you pass a config as the checkpoint'),
    ('plain_zip', 'not_checkpoint', 'zip archive without data.pkl'),
    ('plain_pickle', 'not_checkpoint', "without torch.save's header"),
])
@pytest.mark.parametrize('via_mmengine', [False, True])
def test_unreadable_file_gets_one_named_error(tmp_path, case, kind, phrase,
                                              via_mmengine):
    good = _good_bytes(tmp_path)
    path = str(tmp_path / f'{case}.pth')
    if case == 'empty':
        _write(path, b'')
    elif case == 'truncated_zip':
        _write(path, good[:len(good) // 2])
    elif case == 'truncated_legacy':
        torch.save({'w': torch.ones(64, 64)}, path,
                   _use_new_zipfile_serialization=False)
        with open(path, 'rb') as f:
            data = f.read()
        _write(path, data[:len(data) // 2])
    elif case == 'random_bytes':
        _write(path, np.random.default_rng(0).bytes(4096))
    elif case == 'config_py':
        path = _write(tmp_path / 'ce_resnet32.py',
                      "_base_ = ['../_base_/default_runtime.py']\n"
                      "model = dict(type='ImageClassifier')\n")
    elif case == 'plain_zip':
        import zipfile
        with zipfile.ZipFile(path, 'w') as z:
            z.writestr('notes.txt', 'hello')
    elif case == 'plain_pickle':
        with open(path, 'wb') as f:
            pickle.dump({'state_dict': {'w': 1}}, f, protocol=4)
    load = _load_checkpoint if via_mmengine else load_checkpoint_safely
    with pytest.raises(CheckpointReadError) as err:
        load(path)
    assert err.value.kind == kind
    assert err.value.filename == path
    msg = str(err.value)
    assert f'"{path}"' in msg and phrase in msg, msg
    # not mistaken for a code-carrying file
    assert not isinstance(err.value, UnsafeCheckpointError)
    assert 'execute code' not in msg


def test_code_in_a_plain_pickle_is_still_refused(tmp_path):
    marker = tmp_path / 'pwned_plain'
    path = str(tmp_path / 'evil_plain.pkl')
    with open(path, 'wb') as f:
        pickle.dump({'meta': _Payload(str(marker))}, f, protocol=4)
    with pytest.raises(UnsafeCheckpointError, match='system'):
        load_checkpoint_safely(path)
    assert not marker.exists()


def test_owner_starts_the_message(tmp_path):
    path = _write(tmp_path / 'empty.pth', b'')
    with pytest.raises(CheckpointReadError,
                       match=r'^teacher 0 \("t.py"\): checkpoint'):
        load_checkpoint_safely(path, owner='teacher 0 ("t.py")')
    with pytest.raises(FileNotFoundError, match=r'^teacher 1: checkpoint'):
        load_checkpoint_safely(str(tmp_path / 'nope.pth'), owner='teacher 1')
