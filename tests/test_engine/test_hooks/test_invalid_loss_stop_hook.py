# Copyright (c) ltplug contributors. All rights reserved.
import glob
import os.path as osp
import re
from types import SimpleNamespace

import pytest
import torch
from mmpretrain.registry import HOOKS

import ltplug.engine.hooks.invalid_loss_stop_hook as hook_module
from ltplug.engine.hooks import InvalidLossError
from tests.helpers import run_tool
from tests.support.tiny_data import make_image_list, write_tiny_config


def test_nan_loss_stops_and_names_iteration(tmp_path):
    data = str(tmp_path / 'data')
    make_image_list(data)  # 32 images, batch 4 -> 8 iterations per epoch
    extra = (
        "custom_imports = dict(imports=['ltplug', 'tests.support.nan_loss'],"
        ' allow_failed_imports=False)\n'
        "model['head']['loss'] = dict(type='NaNAfterLoss', nan_from_call=12)\n"
        "custom_hooks = [dict(type='InvalidLossStopHook')]\n")
    cfg = write_tiny_config(str(tmp_path / 'cfg.py'), data, extra=extra,
                            max_epochs=3)
    work = str(tmp_path / 'work')
    proc = run_tool(['tools/train.py', cfg, '--work-dir', work], check=False)
    assert proc.returncode != 0
    out = proc.stdout
    # call 12 is the 4th iteration of epoch 2 (global iteration 12)
    assert 'InvalidLossError' in out, out[-3000:]
    assert 'at epoch 2, iteration 12' in out, out[-3000:]
    assert 'epoch_1.pth' in out.split('InvalidLossError')[-1]
    # the last good checkpoint is kept and nothing diverged was saved
    good = torch.load(osp.join(work, 'epoch_1.pth'), weights_only=False)
    assert all(torch.isfinite(v).all() for v in good['state_dict'].values()
               if v.is_floating_point())
    assert not osp.exists(osp.join(work, 'epoch_2.pth'))


NAN_ON_RANK1 = """
custom_imports = dict(imports=['ltplug', 'tests.support.nan_loss_on_rank'],
                      allow_failed_imports=False)
model['head']['loss'] = dict(type='NaNOnRankLoss', nan_from_call=3, rank=1)
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=1),
    checkpoint=dict(type='CheckpointHook', interval=1, by_epoch=False,
                    max_keep_ckpts=-1))
custom_hooks = [dict(type='InvalidLossStopHook')]
"""


def _float_tensors(obj):
    if isinstance(obj, torch.Tensor):
        if obj.is_floating_point():
            yield obj
    elif isinstance(obj, dict):
        for v in obj.values():
            yield from _float_tensors(v)
    elif isinstance(obj, (list, tuple)):
        for v in obj:
            yield from _float_tensors(v)


def test_nan_on_one_rank_stops_all_ranks_before_any_bad_checkpoint(
        tmp_path):
    """2 gloo processes, only rank 1's loss is NaN from iteration 3 (its
    gradient, all-reduced, makes rank 0's weights NaN while rank 0's loss is
    finite): both ranks raise the same error at iteration 3, no checkpoint
    holds a non-finite tensor and ``last_checkpoint`` is iteration 2's."""
    data = str(tmp_path / 'data')
    make_image_list(data)  # 32 images, 2 x 4 per iteration: 4 per epoch
    cfg = write_tiny_config(str(tmp_path / 'cfg.py'), data,
                            extra=NAN_ON_RANK1, max_epochs=2)
    work = str(tmp_path / 'work')
    # PET_TEE: torchrun prefixes each line with the rank ("[default1]:")
    # PET_MONITOR_INTERVAL: time for the other rank to print before torchrun
    # stops it
    proc = run_tool(['tools/dist_train.sh', cfg, '2', '--work-dir', work,
                     '--no-validate'],
                    env={'PET_TEE': '3', 'PET_MONITOR_INTERVAL': '1'},
                    check=False)
    out = proc.stdout
    assert proc.returncode != 0, out[-3000:]
    errors = {}
    for line in out.splitlines():
        m = re.match(r'\[default(\d)\]:.*InvalidLossError: (.*)$', line)
        if m:
            errors.setdefault(int(m.group(1)), []).append(m.group(2))
    assert sorted(errors) == [0, 1], out[-4000:]
    assert errors[0] == errors[1]  # one message, the same on both ranks
    msg = errors[0][0]
    assert msg.startswith('loss became nan on rank 1 at epoch 1, '
                          'iteration 3 (batch 3 of the epoch).'), msg
    assert 'on rank 0' not in msg
    assert 'Training stopped on all 2 ranks' in msg
    good = osp.join(work, 'iter_2.pth')
    assert f'the last good checkpoint is {good}' in msg

    with open(osp.join(work, 'last_checkpoint')) as f:
        assert f.read().strip() == good
    ckpts = sorted(glob.glob(osp.join(work, '*.pth')))
    assert [osp.basename(c) for c in ckpts] == ['iter_1.pth', 'iter_2.pth']
    for path in ckpts:
        ckpt = torch.load(path, weights_only=False)
        for t in _float_tensors(ckpt):
            assert torch.isfinite(t).all(), path


def _fake_runner(tmp_path, last=None):
    if last:
        (tmp_path / 'last_checkpoint').write_text(last)
    return SimpleNamespace(epoch=2, iter=20, work_dir=str(tmp_path))


def test_names_every_non_finite_loss_key(tmp_path):
    hook = HOOKS.build(dict(type='InvalidLossStopHook'))
    runner = _fake_runner(tmp_path, last='/w/epoch_2.pth')
    hook.after_train_iter(runner, 4, outputs=dict(loss=torch.tensor(0.3)))
    hook.after_train_iter(runner, 4, outputs=None)
    outputs = dict(loss=torch.tensor(float('nan')),
                   loss_cls=torch.tensor(float('inf')),
                   loss_aux=torch.tensor(0.5), acc_top1=float('nan'))
    with pytest.raises(InvalidLossError) as e:
        hook.after_train_iter(runner, 4, outputs=outputs)
    msg = str(e.value)
    assert msg.startswith('loss became nan; loss_cls became inf at epoch 3, '
                          'iteration 21 (batch 5 of the epoch).'), msg
    assert 'loss_aux' not in msg and 'acc' not in msg
    assert 'the last good checkpoint is /w/epoch_2.pth' in msg


def test_finite_rank_raises_when_another_rank_saw_nan(tmp_path, monkeypatch):
    """Rank 0 of 2 (faked), its own loss finite: the all-reduced flag says
    another rank's was not, so rank 0 raises too, naming rank 1."""
    reduced = []

    def all_reduce(data, op='sum'):
        reduced.append(data.clone())
        data += 1  # rank 1's verdict

    monkeypatch.setattr(hook_module, 'get_dist_info', lambda: (0, 2),
                        raising=False)
    monkeypatch.setattr(hook_module, 'all_reduce', all_reduce, raising=False)
    monkeypatch.setattr(
        hook_module, 'all_gather_object',
        lambda obj: [obj, ([(1, 'loss', float('nan'))], None)],
        raising=False)
    hook = HOOKS.build(dict(type='InvalidLossStopHook'))
    runner = _fake_runner(tmp_path, last='/w/iter_20.pth')
    with pytest.raises(InvalidLossError) as e:
        hook.after_train_iter(runner, 4, outputs=dict(loss=torch.tensor(1.)))
    assert [int(r) for r in reduced] == [0]  # one flag, rank 0 was fine
    msg = str(e.value)
    assert msg.startswith('loss became nan on rank 1 at epoch 3, iteration '
                          '21'), msg
    assert 'on rank 0' not in msg
    assert 'stopped on all 2 ranks' in msg and '/w/iter_20.pth' in msg


@pytest.mark.parametrize('value,shown', [
    (torch.tensor(float('inf')), 'inf'),
    (torch.tensor(float('-inf')), '-inf'),
    (torch.tensor([0.5, float('inf')]), 'inf'),
    (float('inf'), 'inf'),
])
def test_inf_alone_stops(tmp_path, value, shown):
    """README promises NaN *and* inf: an infinite loss with no NaN anywhere
    (a tensor, a per-sample vector or a plain float) stops the run too."""
    hook = HOOKS.build(dict(type='InvalidLossStopHook'))
    runner = _fake_runner(tmp_path)
    with pytest.raises(InvalidLossError) as e:
        hook.after_train_iter(
            runner, 0, outputs=dict(loss_cls=value, loss_aux=0.25))
    msg = str(e.value)
    assert msg.startswith(f'loss_cls became {shown} at epoch 3, iteration '
                          '21 (batch 1 of the epoch).'), msg
    assert 'loss_aux' not in msg
    assert 'no checkpoint was saved before it' in msg


def test_large_finite_loss_does_not_stop(tmp_path):
    hook = HOOKS.build(dict(type='InvalidLossStopHook'))
    hook.after_train_iter(
        _fake_runner(tmp_path), 0,
        outputs=dict(loss=torch.tensor(3.0e38), loss_b=1e308))
