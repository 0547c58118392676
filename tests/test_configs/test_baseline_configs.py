# Copyright (c) ltplug contributors. All rights reserved.
"""The classic baseline configs (CE, Balanced Softmax, cRT, LWS, tau-norm)
parse, follow their recipes, build their models, and (CIFAR-10, real data)
build their datasets; the CIFAR-LT schedule reproduces LDAM-DRW's lr per
epoch; Balanced Softmax takes its counts from the dataset."""
import copy
import functools
import glob
import os.path as osp
import re
import tempfile

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import PARAM_SCHEDULERS, init_default_scope
from mmpretrain.registry import DATASETS, MODELS

from ltplug.datasets.utils import get_class_counts
from tests.helpers import ROOT

CFG_ROOT = osp.join(ROOT, 'configs')
FOLDERS = ('ce', 'balanced_softmax', 'decoupling')
CONFIGS = sorted(
    osp.relpath(p, CFG_ROOT) for folder in FOLDERS
    for p in glob.glob(osp.join(CFG_ROOT, folder, '*.py')))
CIFAR_CONFIGS = [c for c in CONFIGS if 'cifar' in c]
NAME_RE = re.compile(r'^(?P<method>[a-z-]+)_(?P<model>[a-z0-9-]+?)'
                     r'(?:_(?P<gpus>\d+)xb(?P<batch>\d+)-(?P<epochs>\d+)e)?'
                     r'_(?P<data>[a-z0-9-]+)\.py$')


@functools.lru_cache(maxsize=None)
def _load(rel: str) -> Config:
    return Config.fromfile(osp.join(CFG_ROOT, rel))


def load(rel: str) -> Config:
    """A fresh copy of a parsed config (each file is parsed once)."""
    init_default_scope('mmpretrain')
    return copy.deepcopy(_load(rel))


def ratio_of(rel: str):
    m = re.search(r'-r(\d+)\.py$', rel)
    return float(m.group(1)) if m else None


def test_expected_configs_exist():
    names = {osp.basename(c) for c in CONFIGS}
    for data in ('cifar10-lt-r100', 'cifar100-lt-r100', 'cifar100-lt-r50',
                 'cifar100-lt-r10'):
        assert f'ce_resnet32_1xb128-200e_{data}.py' in names
        assert f'balanced-softmax_resnet32_1xb128-200e_{data}.py' in names
        assert f'crt_resnet32_1xb128-10e_{data}.py' in names
        assert f'lws_resnet32_1xb128-10e_{data}.py' in names
        assert f'tau-norm_resnet32_{data}.py' in names
    for name in ('ce_resnext50-32x4d_4xb128-90e_imagenet-lt.py',
                 'crt_resnext50-32x4d_4xb128-10e_imagenet-lt.py',
                 'lws_resnext50-32x4d_4xb128-5e_imagenet-lt.py',
                 'tau-norm_resnext50-32x4d_imagenet-lt.py',
                 'ce_resnet20_1xb128-10e_fashion-mnist-lt.py'):
        assert name in names


@pytest.mark.parametrize('rel', CONFIGS)
def test_name_matches_content(rel):
    """gpus x batch = auto_scale_lr.base_batch_size, epochs = max_epochs,
    ratio in the name = train and test imbalance ratio."""
    cfg = load(rel)
    m = NAME_RE.match(osp.basename(rel))
    assert m, f'{rel} does not follow method_model_NxbB-Ee_data.py'
    if m.group('epochs'):
        gpus, batch = int(m.group('gpus')), int(m.group('batch'))
        assert cfg.train_dataloader.batch_size == batch
        assert cfg.auto_scale_lr.base_batch_size == gpus * batch
        assert cfg.train_cfg.max_epochs == int(m.group('epochs'))
    else:  # test-only tau-norm configs
        assert m.group('method') == 'tau-norm'
    ratio = ratio_of(rel)
    if ratio is not None:
        assert cfg.train_dataloader.dataset.imbalance_ratio == ratio
        assert cfg.test_dataloader.dataset.imbalance_ratio == ratio
        assert cfg.val_dataloader.dataset.imbalance_ratio == ratio
    evaluators = cfg.test_evaluator if isinstance(
        cfg.test_evaluator, list) else [cfg.test_evaluator]
    assert any(e.type == 'ShotAccuracy' for e in evaluators)
    assert any(h.type == 'ClassCountsHook' for h in cfg.custom_hooks)


def _ce_config_of(rel: str) -> str:
    """The CE config a decoupling config starts from."""
    base = osp.basename(rel)
    data = NAME_RE.match(base).group('data')
    if 'resnext50' in base:
        return 'ce/ce_resnext50-32x4d_4xb128-90e_imagenet-lt.py'
    return f'ce/ce_resnet32_1xb128-200e_{data}.py'


@pytest.mark.parametrize('rel', [c for c in CONFIGS if 'decoupling' in c])
def test_decoupling_checkpoint_is_the_ce_output(rel):
    """The checkpoint a decoupling config loads is where its CE config's
    last epoch lands (tools/train.py's default work dir)."""
    cfg = load(rel)
    ce_rel = _ce_config_of(rel)
    ce_cfg = load(ce_rel)
    expected = (f'work_dirs/{osp.splitext(osp.basename(ce_rel))[0]}/'
                f'epoch_{ce_cfg.train_cfg.max_epochs}.pth')
    method = osp.basename(rel).split('_')[0]
    num_stages = 4 if 'resnext' in rel else 3
    if method == 'tau-norm':
        assert cfg.load_from == expected
        assert cfg.model.head.type == 'TauNormClsHead'
        assert cfg.model.head.tau == 1.0
        return
    bb = cfg.model.backbone
    assert bb.frozen_stages == num_stages
    assert bb.init_cfg == dict(
        type='Pretrained', checkpoint=expected, prefix='backbone.')
    assert cfg.ce_checkpoint == expected
    assert cfg.train_dataloader.sampler == dict(
        type='ClassAwareSampler', num_samples_cls=4)
    assert cfg.get('load_from') is None
    if method == 'crt':
        assert cfg.model.head.type == 'LinearClsHead'
        assert 'Pretrained' not in str(cfg.model.head.get('init_cfg'))
        assert cfg.train_cfg.max_epochs == 10
    else:
        assert method == 'lws'
        assert cfg.model.head.type == 'LWSHead'
        assert cfg.model.head.init_cfg == dict(
            type='Pretrained', checkpoint=expected, prefix='head.')
        assert cfg.train_cfg.max_epochs == (5 if 'imagenet' in rel else 10)
    opt = cfg.optim_wrapper.optimizer
    assert opt.lr == (0.2 if 'imagenet' in rel else 0.1)
    assert opt.weight_decay == 5e-4 and opt.momentum == 0.9


@pytest.mark.parametrize('rel', [
    c for c in CONFIGS if osp.basename(c).startswith('balanced-softmax')
])
def test_balanced_softmax_is_ce_plus_loss(rel):
    cfg = load(rel)
    ce = load(rel.replace('balanced_softmax/balanced-softmax', 'ce/ce'))
    assert cfg.model.head.loss == dict(type='BalancedSoftmaxLoss', tau=1.0)
    cfg.model.head.loss = ce.model.head.loss
    assert cfg.model == ce.model
    assert cfg.optim_wrapper == ce.optim_wrapper
    assert cfg.param_scheduler == ce.param_scheduler
    assert cfg.train_dataloader == ce.train_dataloader


def _cifar_lt_ldam_lr(epoch: int, base: float = 0.1) -> float:
    """kaidic/LDAM-DRW cifar_train.py::adjust_learning_rate (0-based)."""
    epoch = epoch + 1
    if epoch <= 5:
        return base * epoch / 5
    if epoch > 180:
        return base * 0.0001
    if epoch > 160:
        return base * 0.01
    return base


def _lr_per_epoch(cfg: Config, epochs: int):
    param = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([param], lr=cfg.optim_wrapper.optimizer.lr)
    scheds = cfg.param_scheduler
    scheds = scheds if isinstance(scheds, list) else [scheds]
    built = [
        PARAM_SCHEDULERS.build(dict(s, optimizer=opt, epoch_length=1))
        for s in scheds
    ]
    lrs = []
    for _ in range(epochs):
        lrs.append(opt.param_groups[0]['lr'])
        for s in built:
            s.step()
    return np.array(lrs)


def test_cifar_lt_schedule_matches_ldam_drw():
    cfg = load('ce/ce_resnet32_1xb128-200e_cifar10-lt-r100.py')
    opt = cfg.optim_wrapper.optimizer
    assert (opt.type, opt.lr, opt.momentum, opt.weight_decay) == (
        'SGD', 0.1, 0.9, 2e-4)
    assert not opt.get('nesterov', False)
    got = _lr_per_epoch(cfg, 200)
    want = np.array([_cifar_lt_ldam_lr(e) for e in range(200)])
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12)


def test_imagenet_lt_schedule_is_cosine_to_zero():
    cfg = load('ce/ce_resnext50-32x4d_4xb128-90e_imagenet-lt.py')
    got = _lr_per_epoch(cfg, 90)
    want = 0.2 * (1 + np.cos(np.pi * np.arange(90) / 90)) / 2
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12)
    crt = load('decoupling/crt_resnext50-32x4d_4xb128-10e_imagenet-lt.py')
    got = _lr_per_epoch(crt, 10)
    want = 0.2 * (1 + np.cos(np.pi * np.arange(10) / 10)) / 2
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize('rel', CONFIGS)
def test_model_builds(rel):
    cfg = load(rel)
    model_cfg = cfg.model.copy()
    # no checkpoint is needed to build; init_cfg only runs in init_weights
    model_cfg.setdefault('data_preprocessor', cfg.get('data_preprocessor'))
    model = MODELS.build(model_cfg)
    head = model.head
    num_classes = cfg.data_preprocessor.num_classes
    assert head.num_classes == num_classes
    if 'resnet32' in rel:
        n = sum(p.numel() for p in model.backbone.parameters())
        assert 0.45e6 < n < 0.48e6, n
    if 'resnext50' in rel:
        assert model.backbone.groups == 32
    frozen = cfg.model.backbone.get('frozen_stages', -1)
    if frozen > 0:
        model.train()
        assert not any(p.requires_grad for p in model.backbone.parameters())
        assert not any(m.training for m in model.backbone.modules()
                       if isinstance(m, torch.nn.BatchNorm2d))
        trainable = {n for n, p in model.named_parameters()
                     if p.requires_grad}
        if cfg.model.head.type == 'LWSHead':
            assert trainable == {'head.scales'}
        else:
            assert trainable == {'head.fc.weight', 'head.fc.bias'}
    else:
        assert all(p.requires_grad for p in model.backbone.parameters())


def _tiny_cifar10(cfg: Config, root: str, max_train: int, max_test: int):
    for key, cap in (('train_dataloader', max_train),
                     ('val_dataloader', max_test),
                     ('test_dataloader', max_test)):
        ds = cfg[key].dataset
        ds.data_root = root
        ds.check_md5 = False
        ds.max_per_class = cap
    return cfg


def test_cifar10_datasets_build_on_real_data(cifar10_root):
    """The CE CIFAR-10-LT data config builds on the real CIFAR-10; every
    other CIFAR-10-LT config uses the same datasets."""
    rel = 'ce/ce_resnet32_1xb128-200e_cifar10-lt-r100.py'
    cfg = _tiny_cifar10(load(rel), cifar10_root, 3, 3)
    train = DATASETS.build(cfg.train_dataloader.dataset)
    test = DATASETS.build(cfg.test_dataloader.dataset)
    assert len(train) == 30 and len(test) == 30
    assert list(get_class_counts(train)) == [3] * 10
    assert list(get_class_counts(test)) == [3] * 10
    assert train[0]['inputs'].shape == (3, 32, 32)
    for other in CIFAR_CONFIGS:
        if 'cifar10-' not in other:
            continue
        ocfg = _tiny_cifar10(load(other), cifar10_root, 3, 3)
        for key in ('train_dataloader', 'val_dataloader',
                    'test_dataloader'):
            assert ocfg[key].dataset == cfg[key].dataset, (other, key)


def test_balanced_softmax_counts_come_from_the_dataset(cifar10_root):
    """The config carries no counts; the runner's ClassCountsHook gives the
    loss the train set's profile (here capped at 100 per class)."""
    from mmengine.runner import Runner

    rel = 'balanced_softmax/' \
        'balanced-softmax_resnet32_1xb128-200e_cifar10-lt-r100.py'
    cfg = _tiny_cifar10(load(rel), cifar10_root, 100, 1)
    assert 'class_counts' not in str(cfg.model)
    cfg.train_dataloader.num_workers = 0
    cfg.val_dataloader.num_workers = 0
    cfg.test_dataloader.num_workers = 0
    with tempfile.TemporaryDirectory() as tmp:
        cfg.work_dir = tmp
        runner = Runner.from_cfg(cfg)
        hook = [h for h in runner.hooks
                if type(h).__name__ == 'ClassCountsHook'][0]
        hook.before_train(runner)
    loss = runner.model.head.loss_module
    # CIFAR-10 r100 profile int(5000 * 0.01 ** (c / 9)), capped at 100
    want = [min(100, int(5000 * 0.01**(c / 9))) for c in range(10)]
    assert want == [100] * 8 + [83, 50]
    assert loss.class_counts.tolist() == want
