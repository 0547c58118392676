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
    for data in ('cifar10-lt-r100', 'cifar10-lt-r50', 'cifar10-lt-r10',
                 'cifar100-lt-r100', 'cifar100-lt-r50', 'cifar100-lt-r10'):
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
    for model, gb, stage1, crt, data in (
            ('resnet50', '4xb128', 90, 10, 'imagenet-lt'),
            ('resnet152-in1k-pre', '4xb64', 30, 10, 'places-lt'),
            ('resnet50', '4xb128', 90, 30, 'inat2018')):
        for name in (f'ce_{model}_{gb}-{stage1}e_{data}.py',
                     f'balanced-softmax_{model}_{gb}-{stage1}e_{data}.py',
                     f'crt_{model}_{gb}-{crt}e_{data}.py',
                     f'lws_{model}_{gb}-5e_{data}.py',
                     f'tau-norm_{model}_{data}.py'):
            assert name in names, name


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
    """The CE config a decoupling config starts from: the one CE config with
    the same model and data."""
    m = NAME_RE.match(osp.basename(rel))
    found = [
        c for c in CONFIGS if c.startswith('ce/ce_')
        and NAME_RE.match(osp.basename(c)).group('model') == m.group('model')
        and NAME_RE.match(osp.basename(c)).group('data') == m.group('data')
    ]
    assert len(found) == 1, (rel, found)
    return found[0]


# stage-two recipe per data set (classifier-balancing cls_crt.yaml /
# cls_lws.yaml): classifier lr, weight decay, cRT epochs, LWS epochs
STAGE_TWO = {
    'imagenet-lt': (0.2, 5e-4, 10, 5),
    'places-lt': (0.1, 5e-4, 10, 5),
    'inat2018': (0.2, 1e-4, 30, 5),
}


def _stage_two(rel: str):
    data = NAME_RE.match(osp.basename(rel)).group('data')
    return STAGE_TWO.get(data, (0.1, 5e-4, 10, 10))  # CIFAR-LT


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
    num_stages = 3 if 'resnet32' in rel else 4
    lr, wd, crt_epochs, lws_epochs = _stage_two(rel)
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
        assert cfg.train_cfg.max_epochs == crt_epochs
    else:
        assert method == 'lws'
        assert cfg.model.head.type == 'LWSHead'
        # LWS's per-class scales are new: not in the stage-one file
        assert cfg.model.head.init_cfg == dict(
            type='Pretrained', checkpoint=expected, prefix='head.',
            allow_missing=['scales'])
        assert cfg.train_cfg.max_epochs == lws_epochs
    opt = cfg.optim_wrapper.optimizer
    assert opt.lr == lr
    assert opt.weight_decay == wd and opt.momentum == 0.9
    # cosine to 0 over the stage-two epochs, stepped per epoch
    got = _lr_per_epoch(cfg, cfg.train_cfg.max_epochs)
    n = cfg.train_cfg.max_epochs
    want = lr * (1 + np.cos(np.pi * np.arange(n) / n)) / 2
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12)


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


def test_places_and_inat_stage_one_recipes():
    """Places-LT fine-tunes MMPretrain's ImageNet ResNet-152 for 30 epochs
    (backbone lr 0.01, classifier 0.1); iNaturalist trains ResNet-50 from
    scratch for 90 epochs with wd 1e-4 and its own RGB statistics."""
    places = load('ce/ce_resnet152-in1k-pre_4xb64-30e_places-lt.py')
    assert places.model.backbone.init_cfg == dict(
        type='Pretrained',
        checkpoint='https://download.openmmlab.com/mmclassification/v0/'
        'resnet/resnet152_8xb32_in1k_20210901-4d7582fa.pth',
        prefix='backbone.')
    assert places.optim_wrapper.optimizer.lr == 0.1
    assert places.optim_wrapper.paramwise_cfg.custom_keys == {
        'backbone': dict(lr_mult=0.1)}
    got = _lr_per_epoch(places, 30)
    want = 0.1 * (1 + np.cos(np.pi * np.arange(30) / 30)) / 2
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12)
    assert places.train_dataloader.dataset.type == 'PlacesLT'
    inat = load('ce/ce_resnet50_4xb128-90e_inat2018.py')
    assert inat.model.backbone.get('init_cfg') is None
    opt = inat.optim_wrapper.optimizer
    assert (opt.lr, opt.weight_decay) == (0.2, 1e-4)
    np.testing.assert_allclose(inat.data_preprocessor.mean,
                               np.array([0.466, 0.471, 0.380]) * 255)
    np.testing.assert_allclose(inat.data_preprocessor.std,
                               np.array([0.195, 0.194, 0.192]) * 255)
    assert inat.train_dataloader.dataset.type == 'INaturalist2018'
    assert inat.test_dataloader.dataset.split == 'val'
    r50 = load('ce/ce_resnet50_4xb128-90e_imagenet-lt.py')
    rx50 = load('ce/ce_resnext50-32x4d_4xb128-90e_imagenet-lt.py')
    for key in ('optim_wrapper', 'param_scheduler', 'train_dataloader',
                'test_dataloader', 'train_cfg'):
        assert r50[key] == rx50[key], key
    assert r50.model.head == rx50.model.head


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
    for depth in (50, 152):
        if f'_resnet{depth}' in rel:
            assert type(model.backbone).__name__ == 'ResNet'
            assert model.backbone.depth == depth
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
            want = copy.deepcopy(cfg[key].dataset)
            want.imbalance_ratio = ratio_of(other)
            assert ocfg[key].dataset == want, (other, key)


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
