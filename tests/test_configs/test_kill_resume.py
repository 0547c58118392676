# Copyright (c) ltplug contributors. All rights reserved.
"""Kill and resume for the stateful methods (issue 8.1): a run SIGKILLed
right after the epoch-1 checkpoint and resumed with ``--resume`` ends with
the same weights (MoCo queues and EMA encoders included), the same
validation metrics and the same sample order as an uninterrupted run (CPU,
deterministic mode, same seed).

The baseline case is ``tests/test_engine/test_hooks/test_rng_state_hook.py``;
the distillation stages add their own cases here as their configs land.
"""
import json
import os.path as osp

import pytest
import torch

from tests.helpers import ROOT, cfg_options, run_tool

RECORD_HOOKS = """
custom_imports = dict(
    imports=['ltplug', 'tests.support.record_hook', 'tests.support.kill_hook'],
    allow_failed_imports=False)
custom_hooks = [
    dict(type='ClassCountsHook'),
    dict(type='InvalidLossStopHook'),
    dict(type='RNGStateHook'),
    dict(type='RecordTrainingHook'),
    dict(type='KillAfterCheckpointHook', epoch=1),
]
randomness = dict(seed=0, deterministic=True)
"""


def _cifar_options(root: str, train_per_class: int = 12) -> dict:
    opts = {}
    for split, per_class in (('train', train_per_class), ('val', 4)):
        key = f'{split}_dataloader'
        opts.update({
            f'{key}.dataset.data_root': root,
            f'{key}.dataset.imbalance_ratio': 10.,
            f'{key}.dataset.max_per_class': per_class,
            f'{key}.dataset.check_md5': False,
            f'{key}.batch_size': 8,
            f'{key}.num_workers': 0,
            f'{key}.persistent_workers': False,
        })
    opts.update({
        'train_cfg.max_epochs': 2,
        'train_cfg.val_interval': 1,
        'default_hooks.logger.interval': 1,
        'default_hooks.checkpoint.interval': 1,
    })
    return opts


def _val_rows(work: str) -> list:
    rows = []
    for path in sorted(
            __import__('glob').glob(
                osp.join(work, '*', 'vis_data', 'scalars.json'))):
        with open(path) as f:
            rows += [json.loads(line) for line in f if line.strip()]
    return [r for r in rows if 'shot/top1' in r]


def _run_kill_resume(tmp_path, base_cfg: str, opts: dict, extra: str = ''):
    cfg = tmp_path / 'cfg.py'
    cfg.write_text(f'_base_ = [{osp.join(ROOT, base_cfg)!r}]\n' +
                   RECORD_HOOKS + extra)
    ref = str(tmp_path / 'uninterrupted')
    run_tool(['tools/train.py', str(cfg), '--work-dir', ref] +
             cfg_options(opts), timeout=400)
    work = str(tmp_path / 'killed')
    proc = run_tool(['tools/train.py', str(cfg), '--work-dir', work] +
                    cfg_options(opts), env={'LTPLUG_TEST_KILL': '1'},
                    check=False, timeout=400)
    assert proc.returncode == -9, proc.stdout[-3000:]  # SIGKILL
    assert osp.isfile(osp.join(work, 'epoch_1.pth'))
    assert not osp.exists(osp.join(work, 'epoch_2.pth'))
    run_tool(['tools/train.py', str(cfg), '--work-dir', work, '--resume'] +
             cfg_options(opts), timeout=400)

    a = torch.load(osp.join(ref, 'weights_rank0.pth'))
    b = torch.load(osp.join(work, 'weights_rank0.pth'))
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k
    # the resumed process saw epoch 2 (index 1) in the same order
    with open(osp.join(ref, 'indices_rank0.json')) as f:
        seen_ref = json.load(f)['epochs']
    with open(osp.join(work, 'indices_rank0.json')) as f:
        seen_resumed = json.load(f)['epochs']
    assert list(seen_resumed) == ['1']
    assert seen_resumed['1'] == seen_ref['1']
    # the last validation is identical
    last_ref, last = _val_rows(ref)[-1], _val_rows(work)[-1]
    metrics = [k for k in last_ref if k.startswith(('shot/', 'expert/'))]
    assert metrics
    assert {k: last[k] for k in metrics} == pytest.approx(
        {k: last_ref[k] for k in metrics}, nan_ok=True)
    return a


def test_ncl_moco_kill_and_resume(cifar10_root, tmp_path):
    opts = _cifar_options(cifar10_root)
    opts.update({'model.backbone.depth': 20, 'model.moco.queue_size': 32})
    state = _run_kill_resume(
        tmp_path, 'configs/ncl/ncl-moco_resnet32_1xb64-400e_cifar10-lt-r100.py',
        opts)
    # the queues and the EMA key encoders were part of what was compared
    assert any(k.startswith('queues.') for k in state)
    assert any('key' in k or 'ema' in k for k in state if
               not k.startswith('queues.'))


CBD_TEACHER = 'configs/cbd/cbd-teacher_resnet32_1xb128-200e_cifar10-lt-r100.py'


def test_cbd_kill_and_resume_with_teacher(cifar10_root, tmp_path):
    """A distillation stage: the teacher is rebuilt from its own files on
    resume (it is not in the student checkpoint) and the run still matches
    the uninterrupted one exactly."""
    from mmengine.config import Config
    from mmpretrain.registry import MODELS
    torch.manual_seed(3)
    teacher = MODELS.build(Config.fromfile(osp.join(ROOT, CBD_TEACHER)).model)
    teacher.init_weights()
    ckpt = str(tmp_path / 'teacher.pth')
    torch.save({'state_dict': teacher.state_dict(), 'meta': {}}, ckpt)
    extra = (f"model = dict(teachers=[dict(name='t0', checkpoint={ckpt!r}, "
             f"config={osp.join(ROOT, CBD_TEACHER)!r})])\n")
    opts = _cifar_options(cifar10_root)
    opts['model.backbone.depth'] = 20
    state = _run_kill_resume(
        tmp_path, 'configs/cbd/cbd_resnet32_1xb128-200e_cifar10-lt-r100.py',
        opts, extra)
    # what was compared is the student: the checkpoints (and so the resumed
    # run) rebuilt the teacher from its own files
    assert state and not any(k.startswith('teachers.') for k in state)
