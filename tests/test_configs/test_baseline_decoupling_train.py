# Copyright (c) ltplug contributors. All rights reserved.
"""End to end on tiny real CIFAR-10-LT: CE (stage one) -> cRT and LWS
(stage two) through tools/train.py with the shipped configs. The decoupling
stage loads the CE checkpoint, its backbone stays byte-identical (weights
and BN statistics), cRT re-initialises and trains the classifier, LWS keeps
W and b and trains only the per-class scales."""
import os.path as osp

import pytest
import torch

from tests.helpers import cfg_options, run_tool

CE = 'configs/ce/ce_resnet32_1xb128-200e_cifar10-lt-r100.py'
CRT = 'configs/decoupling/crt_resnet32_1xb128-10e_cifar10-lt-r100.py'
LWS = 'configs/decoupling/lws_resnet32_1xb128-10e_cifar10-lt-r100.py'


def tiny(root: str) -> dict:
    """ResNet depth 20, 1 epoch, batch 16, 8 train / 4 test images per
    class of the real CIFAR-10."""
    opts = {
        'model.backbone.depth': 20,
        'train_cfg.max_epochs': 1,
        'train_cfg.val_interval': 1,
        'train_dataloader.batch_size': 16,
        'val_dataloader.batch_size': 20,
        'test_dataloader.batch_size': 20,
        'default_hooks.logger.interval': 1,
        'randomness.seed': 0,
    }
    for key, cap in (('train_dataloader', 8), ('val_dataloader', 8),
                     ('test_dataloader', 8)):
        opts[f'{key}.num_workers'] = 0
        opts[f'{key}.persistent_workers'] = False
        opts[f'{key}.dataset.data_root'] = root
        opts[f'{key}.dataset.check_md5'] = False
        opts[f'{key}.dataset.max_per_class'] = cap
    return opts


def state(path: str) -> dict:
    return torch.load(path, map_location='cpu',
                      weights_only=False)['state_dict']


def split(sd: dict, prefix: str) -> dict:
    return {k[len(prefix):]: v for k, v in sd.items() if k.startswith(prefix)}


@pytest.fixture(scope='module')
def ce_ckpt(cifar10_root, tmp_path_factory) -> str:
    work = str(tmp_path_factory.mktemp('ce'))
    run_tool(['tools/train.py', CE, '--work-dir', work] +
             cfg_options(tiny(cifar10_root)), timeout=300)
    ckpt = osp.join(work, 'epoch_1.pth')
    assert osp.isfile(ckpt)
    return ckpt


def run_stage(cfg: str, root: str, ckpt: str, work: str, lws: bool) -> str:
    opts = tiny(root)
    opts['model.backbone.init_cfg.checkpoint'] = ckpt
    if lws:
        opts['model.head.init_cfg.checkpoint'] = ckpt
    proc = run_tool(['tools/train.py', cfg, '--work-dir', work] +
                    cfg_options(opts), timeout=300)
    assert 'ClassAwareSampler' in proc.stdout
    # MMEngine's PretrainedInit logs the file it loads
    assert ckpt in proc.stdout
    assert 'many' in proc.stdout and 'classes' in proc.stdout  # the table
    out = osp.join(work, 'epoch_1.pth')
    assert osp.isfile(out)
    return out


def test_crt_keeps_ce_backbone_and_retrains_classifier(
        ce_ckpt, cifar10_root, tmp_path):
    out = run_stage(CRT, cifar10_root, ce_ckpt, str(tmp_path), lws=False)
    ce, crt = state(ce_ckpt), state(out)
    ce_bb, crt_bb = split(ce, 'backbone.'), split(crt, 'backbone.')
    assert ce_bb.keys() == crt_bb.keys()
    # weights, BN running mean / var and num_batches_tracked: all equal
    assert any('running_mean' in k for k in ce_bb)
    for k in ce_bb:
        assert torch.equal(ce_bb[k], crt_bb[k]), k
    # the classifier was re-initialised and trained, not copied from CE
    assert not torch.allclose(ce['head.fc.weight'], crt['head.fc.weight'])


def test_lws_keeps_backbone_and_classifier_trains_scales(
        ce_ckpt, cifar10_root, tmp_path):
    out = run_stage(LWS, cifar10_root, ce_ckpt, str(tmp_path), lws=True)
    ce, lws = state(ce_ckpt), state(out)
    for k, v in split(ce, 'backbone.').items():
        assert torch.equal(v, lws['backbone.' + k]), k
    assert torch.equal(ce['head.fc.weight'], lws['head.fc.weight'])
    assert torch.equal(ce['head.fc.bias'], lws['head.fc.bias'])
    scales = lws['head.scales']
    assert scales.shape == (10, )
    assert not torch.allclose(scales, torch.ones(10))
