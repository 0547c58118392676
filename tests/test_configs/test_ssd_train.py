# Copyright (c) ltplug contributors. All rights reserved.
"""The SSD chain trains end to end on a hundred real CIFAR-10 images:
stage I -> stage II -> stage III, each stage loading the previous one's
checkpoint through its config. Stages I and II run in this process with
MMEngine's Runner (each tool subprocess costs ~20 s of imports on this
machine); stage III runs under the 2-process CPU/gloo ``dist_train.sh``."""
import glob
import inspect
import json
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner
from mmpretrain.registry import DATA_SAMPLERS, DATASETS

from tests.helpers import ROOT, cfg_options, run_tool

STAGE1 = 'configs/ssd/ssd-stage1_resnet32_1xb128-200e_cifar10-lt-r100.py'
STAGE2 = 'configs/ssd/ssd-stage2-lws_resnet32_1xb128-5e_cifar10-lt-r100.py'
STAGE3 = ('configs/ssd/'
          'ssd-stage3-distill_resnet32_1xb128-200e_cifar10-lt-r100.py')
BATCH = 16


def _dataset_options(root: str) -> dict:
    cls = DATASETS.get('CIFAR10LT')
    params = inspect.signature(cls.__init__).parameters
    opts = {}
    for split, per_class in (('train', 10), ('val', 2)):
        key = f'{split}_dataloader'
        opts[f'{key}.dataset.data_root'] = root
        opts[f'{key}.dataset.imbalance_ratio'] = 10.
        opts[f'{key}.dataset.max_per_class'] = per_class
        for name in params:  # the fixture's pickles differ from the md5s
            if 'md5' in name:
                opts[f'{key}.dataset.{name}'] = False
        opts[f'{key}.batch_size'] = BATCH
        opts[f'{key}.num_workers'] = 0
        opts[f'{key}.persistent_workers'] = False
    opts.update({
        'train_cfg.max_epochs': 1,
        'train_cfg.val_interval': 1,
        'default_hooks.logger.interval': 1,
        'default_hooks.checkpoint.interval': 1,
        'model.backbone.depth': 20,
    })
    return opts


@pytest.fixture
def one_thread():
    """Two threads on this shared 2-core machine are ~5x slower than one."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def _train_here(config: str, work: str, opts: dict) -> None:
    """What ``tools/train.py CONFIG --work-dir WORK --cfg-options ...``
    does, in this process."""
    cfg = Config.fromfile(osp.join(ROOT, config))
    cfg.merge_from_dict(opts)
    cfg.work_dir = work
    Runner.from_cfg(cfg).train()


def _scalars(work: str) -> list:
    files = glob.glob(osp.join(work, '*', 'vis_data', 'scalars.json'))
    assert files, f'no scalars.json under {work}'
    with open(files[0]) as f:
        return [json.loads(line) for line in f if line.strip()]


def _state(path: str) -> dict:
    return torch.load(path, map_location='cpu',
                      weights_only=False)['state_dict']


def test_ssd_chain_stage1_stage2_stage3(cifar10_root, tmp_path, one_thread):
    if DATA_SAMPLERS.get('ClassAwareSampler') is None:
        pytest.skip('ClassAwareSampler is not registered yet')
    common = _dataset_options(cifar10_root)
    w1, w2, w3 = (str(tmp_path / f'stage{i}') for i in (1, 2, 3))

    # stage I: CE + label-aware MoCo, 100 images / 16 = 6 steps
    opts = dict(common)
    opts.update({'model.queue_size': 64, 'model.batch_size': BATCH})
    _train_here(STAGE1, w1, opts)
    rows = _scalars(w1)
    train = [r for r in rows if 'loss_contrast' in r]
    assert train
    for r in train:
        assert r['loss'] == pytest.approx(
            r['loss_cls'] + r['loss_contrast'], rel=1e-3)
    assert any('shot/top1' in r for r in rows)
    s1 = _state(osp.join(w1, 'epoch_1.pth'))
    assert s1['queue.keys'].shape == (64, 128)
    assert int(s1['queue.ptr']) == (6 * BATCH) % 64
    assert set(s1['queue.labels'].tolist()) <= set(range(10))
    assert len(set(s1['queue.labels'].tolist())) > 1  # real labels queued

    # stage II: LWS on the frozen stage-I encoder, class-aware sampler
    opts = dict(common)
    opts['model.init_checkpoint'] = osp.join(w1, 'epoch_1.pth')
    _train_here(STAGE2, w2, opts)
    s2 = _state(osp.join(w2, 'epoch_1.pth'))
    for k, v in s2.items():
        if k.startswith(('backbone.', 'head.fc.')) and \
                'running' not in k and 'num_batches' not in k:
            assert torch.equal(v, s1[k]), k
    assert not torch.equal(s2['head.scales'], torch.ones(10))
    # official frozen_bn_mode='train': BN statistics re-estimated
    assert not torch.equal(s2['backbone.bn1.running_mean'],
                           s1['backbone.bn1.running_mean'])
    assert not any(k.startswith(('key_', 'queue', 'query_')) for k in s2)
    cfg2 = osp.join(w2, osp.basename(STAGE2))  # the config as it ran
    assert osp.isfile(cfg2)

    # stage III: student + teacher (stage II), 2 processes
    opts = dict(common)
    opts['model.teacher.config'] = cfg2
    opts['model.teacher.checkpoint'] = osp.join(w2, 'epoch_1.pth')
    out = run_tool(['tools/dist_train.sh', STAGE3, '2', '--work-dir', w3] +
                   cfg_options(opts), timeout=300).stdout
    assert 'world_size: 2' in out or 'Distributed launcher: pytorch' in out
    rows = _scalars(w3)
    train = [r for r in rows if 'loss_kd' in r]
    assert train
    for r in train:
        assert r['loss'] == pytest.approx(r['loss_hard'] + r['loss_kd'],
                                          rel=1e-3)
    val = [r for r in rows if 'heads/top1_e1' in r][-1]
    # the prediction is the soft head (predict_head='soft')
    assert val['shot/top1'] == pytest.approx(val['heads/top1_e1'])
    s3 = _state(osp.join(w3, 'epoch_1.pth'))
    assert not any(k.startswith('teacher.') for k in s3)
    assert 'soft_head.fc.weight' in s3 and 'head.fc.weight' in s3
