# Copyright (c) ltplug contributors. All rights reserved.
"""Kill-and-resume: a run SIGKILLed right after a checkpoint and resumed
ends with the same weights as an uninterrupted run (CPU, deterministic)."""
import os.path as osp

import torch

from tests.helpers import run_tool
from tests.support.tiny_data import make_image_list, write_tiny_config

EXTRA = """
custom_imports = dict(imports=['ltplug', 'tests.support.record_hook',
                               'tests.support.kill_hook'],
                      allow_failed_imports=False)
pipeline = [dict(type='LoadImageFromFile'),
            dict(type='RandomResizedCrop', scale=32, crop_ratio_range=(0.5, 1.)),
            dict(type='RandomFlip', prob=0.5, direction='horizontal'),
            dict(type='PackInputs')]
train_dataloader['dataset'] = dict(dataset, pipeline=pipeline)
custom_hooks = [dict(type='RNGStateHook'), dict(type='RecordTrainingHook'),
                dict(type='KillAfterCheckpointHook', epoch=2)]
"""


def _final_weights(work):
    return torch.load(osp.join(work, 'weights_rank0.pth'))


def test_sigkill_after_checkpoint_then_resume_matches(tmp_path):
    data = str(tmp_path / 'data')
    make_image_list(data)
    cfg = write_tiny_config(str(tmp_path / 'cfg.py'), data, extra=EXTRA,
                            max_epochs=3)
    ref = str(tmp_path / 'uninterrupted')
    run_tool(['tools/train.py', cfg, '--work-dir', ref])

    work = str(tmp_path / 'killed')
    proc = run_tool(['tools/train.py', cfg, '--work-dir', work],
                    env={'LTPLUG_TEST_KILL': '1'}, check=False)
    assert proc.returncode == -9, proc.stdout[-2000:]  # SIGKILL
    assert osp.isfile(osp.join(work, 'epoch_2.pth'))
    assert not osp.exists(osp.join(work, 'epoch_3.pth'))
    out = run_tool(['tools/train.py', cfg, '--work-dir', work,
                    '--resume']).stdout
    assert 'restored the random generators' in out

    a, b = _final_weights(ref), _final_weights(work)
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k
