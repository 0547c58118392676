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

from ltplug.utils import (UnsafeCheckpointError, allowed_checkpoint_global,
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
