# Copyright (c) ltplug contributors. All rights reserved.
"""tools/analysis/print_recipe.py against the official recipes.

The expected values below are written from the official code / the spec
(``ALGORITHMS.md``), never read from the configs:

- CE on CIFAR-LT: ``kaidic/LDAM-DRW`` ``cifar_train.py`` (SGD lr 0.1,
  momentum 0.9, weight decay 2e-4, batch 128, 200 epochs, lr
  ``0.1 * (e + 1) / 5`` for the 0-based epochs e < 5, then 0.1, x0.01 from
  epoch 160, x0.0001 from 180) and ``models/resnet_cifar.py``
  (``kaiming_normal_``, i.e. fan_in, on every conv and linear weight);
- NCL: ALGORITHMS.md section 4.4 / 4.5 (CIFAR recipe);
- CBD: ALGORITHMS.md section 3 (ImageNet-LT);
- SSD: ALGORITHMS.md section 2.1 (ImageNet-LT stage I; the CIFAR stage-I
  recipe is ltplug's own, ALGORITHMS.md 2.5 has no official one).

Where a config differs from the official value the check is an ``xfail``
naming the discrepancy.
"""
import contextlib
import copy
import importlib.util
import io
import json
import math
import os.path as osp
import tempfile

import pytest
import torch
import torch.nn as nn
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.model import BaseModel, BaseModule
from mmengine.optim import build_optim_wrapper
from mmengine.runner import Runner

from tests.helpers import ROOT, run_tool

TOOL = osp.join(ROOT, 'tools', 'analysis', 'print_recipe.py')
CE_CIFAR = 'configs/ce/ce_resnet32_1xb128-200e_cifar10-lt-r100.py'
NCL_CIFAR = 'configs/ncl/ncl_resnet32_1xb64-400e_cifar10-lt-r100.py'
CBD_INLT = 'configs/cbd/cbd_resnet50_1xb128-90e_imagenet-lt.py'
SSD1_CIFAR = 'configs/ssd/ssd-stage1_resnet32_1xb128-200e_cifar10-lt-r100.py'
SSD1_INLT = ('configs/ssd/'
             'ssd-stage1_resnext50-32x4d_4xb64-135e_imagenet-lt.py')

# training images (ALGORITHMS.md 1.1 / 1.2)
CIFAR10_LT_R100 = 12406
IMAGENET_LT_TRAIN = 115846


def _load_tool():
    spec = importlib.util.spec_from_file_location('print_recipe', TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


tool = _load_tool()
_CACHE = {}


def recipe(config: str, *args: str) -> dict:
    """The JSON report of ``main([config, *args])`` (in process, cached)."""
    key = (config, ) + args
    if key not in _CACHE:
        # the init labels are read from weight statistics, so a small head
        # (64 x 10: Kaiming fan_in's std is 7% from Xavier's, the sample
        # std's error 3%) reads the same only under the same draw; seed it
        # so that no report depends on the tests run before it
        torch.manual_seed(0)
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            report = tool.main(
                [osp.join(ROOT, config), '--format', 'json', *args])
        assert json.loads(out.getvalue()) == report  # printed == returned
        _CACHE[key] = report
    return _CACHE[key]


def init_row(report: dict, module: str) -> dict:
    rows = {r['module']: r for r in report['init']}
    assert module in rows, sorted(rows)
    return rows[module]


def lr_at(report: dict, epoch: int) -> float:
    """lr of the first iteration of ``epoch`` (one distinct group lr)."""
    lrs = report['schedule']['lr_by_epoch'][epoch]
    assert len(lrs) == 1, lrs
    return lrs[0]


def single_decay(report: dict) -> dict:
    """The weight-decay row covering every trainable tensor."""
    rows = [r for r in report['optimizer']['decay']
            if r['trainable_tensors']]
    assert len(rows) == 1, rows
    return rows[0]


def trainable(report: dict) -> int:
    return sum(r['tensors'] - r['frozen_tensors'] for r in report['frozen'])


# --------------------------------------------------------- init inference
def _conv(init=None, cin=16, cout=32, k=3):
    torch.manual_seed(0)
    conv = nn.Conv2d(cin, cout, k)
    if init is not None:
        init(conv.weight)
    return conv.weight


def test_infer_kaiming_fan_in_fan_out_default():
    """kaiming_normal_ fan_in / fan_out, PyTorch's default and Xavier are
    told apart (16 -> 32 channels: the two fans differ by 2x)."""
    fan_in = _conv(lambda w: nn.init.kaiming_normal_(w, mode='fan_in'))
    fan_out = _conv(lambda w: nn.init.kaiming_normal_(w, mode='fan_out'))
    assert tool.infer_weight_init(fan_in)['label'] == 'Kaiming fan_in'
    assert tool.infer_weight_init(fan_out)['label'] == 'Kaiming fan_out'
    assert tool.infer_weight_init(_conv())['label'] == tool.DEFAULT_INIT
    torch.manual_seed(0)
    linear = nn.Linear(512, 128)
    assert tool.infer_weight_init(linear.weight)['label'] == \
        tool.DEFAULT_INIT
    nn.init.xavier_uniform_(linear.weight)
    assert tool.infer_weight_init(linear.weight)['label'] == 'Xavier'
    nn.init.kaiming_uniform_(linear.weight, mode='fan_in')
    assert tool.infer_weight_init(linear.weight)['label'] == 'Kaiming fan_in'
    # uniform or normal alike: the std decides
    r = tool.infer_weight_init(fan_in)
    assert r['expected'] == pytest.approx(math.sqrt(2. / (16 * 9)))


def test_infer_ties_other_constant():
    square = _conv(lambda w: nn.init.kaiming_normal_(w), cin=32, cout=32)
    assert tool.infer_weight_init(square)['label'] == tool.TIE_KAIMING
    small = _conv(lambda w: nn.init.normal_(w, std=0.01))
    assert tool.infer_weight_init(small)['label'].startswith('other')
    zero = _conv(nn.init.zeros_)
    assert tool.infer_weight_init(zero)['label'] == 'constant 0'
    with pytest.raises(ValueError, match=r'shape \(32,\)'):
        tool.infer_weight_init(torch.zeros(32))


def test_summarise_labels_ties_follow_the_module():
    r = tool.infer_weight_init
    fo = r(_conv(lambda w: nn.init.kaiming_normal_(w, mode='fan_out')))
    tie = r(_conv(lambda w: nn.init.kaiming_normal_(w), cin=32, cout=32))
    fi = r(_conv(lambda w: nn.init.kaiming_normal_(w, mode='fan_in')))
    assert tool.summarise_labels([fo, tie, tie]) == 'Kaiming fan_out'
    assert tool.summarise_labels([fi, tie]) == 'Kaiming fan_in'
    assert tool.summarise_labels([fo, fi]).startswith('mixed: ')
    assert tool.summarise_labels([]) == 'no conv / linear weight'


class _Expert(BaseModule):

    def __init__(self):
        super().__init__(init_cfg=dict(
            type='Kaiming', layer='Conv2d', mode='fan_in'))
        self.conv = nn.Conv2d(16, 32, 3)


class _Experts(BaseModule):
    """Experts in a plain nn.ModuleList (no init_weights) next to one
    expert that BaseModule reaches."""

    def __init__(self):
        super().__init__()
        self.experts = nn.ModuleList(_Expert() for _ in range(2))
        self.single = _Expert()


def test_init_cfg_inside_plain_module_list_is_reported_skipped():
    """The tool reports what the weights are (PyTorch's default), and that
    the experts' init_cfg was never applied, instead of trusting it."""
    torch.manual_seed(0)
    model = _Experts()
    notes = tool.disarm_unavailable_init(model)
    info, changed = tool.run_init_weights(model)
    rows = {r['module']: r
            for r in tool.init_section(model, info, changed, notes, [])}
    experts = rows['experts']
    assert experts['weights'] == tool.DEFAULT_INIT
    assert experts['init'].endswith('[init_cfg skipped]')
    assert 'experts.0 (_Expert: Kaiming; parent ModuleList)' in \
        experts['notes'][0]
    assert rows['single']['init'] == 'Kaiming fan_in'
    assert not rows['single']['notes']


def _pretrained_file(tmp_path, value: float) -> str:
    """A CIFARResNet-32 checkpoint whose conv weights are all ``value``."""
    from mmpretrain.registry import MODELS
    backbone = MODELS.build(dict(type='CIFARResNet', depth=32))
    with torch.no_grad():
        for m in backbone.modules():
            if isinstance(m, nn.Conv2d):
                m.weight.fill_(value)
    path = str(tmp_path / 'pretrained.pth')
    torch.save(dict(state_dict=backbone.state_dict()), path)
    return path


def _pretrained_config(tmp_path, ckpt: str) -> str:
    """CE_CIFAR with its backbone's init_cfg (a list) replaced by one
    Pretrained entry."""
    path = tmp_path / 'ce_pretrained.py'
    path.write_text(
        f'_base_ = [{osp.join(ROOT, CE_CIFAR)!r}]\n'
        'model = dict(backbone=dict(init_cfg=dict(_delete_=True, '
        f'type=\'Pretrained\', checkpoint={ckpt!r})))\n')
    return str(path)


def test_pretrained_file_is_reported_and_loaded(tmp_path):
    path = _pretrained_file(tmp_path, 0.25)
    report = tool.main(
        [_pretrained_config(tmp_path, path), '--format', 'json'])
    row = init_row(report, 'backbone')
    # BN tensors load unchanged values (MMEngine marks only changed ones)
    assert row['init'].startswith(f'Pretrained {path}: loaded')
    # the weights really are the file's
    # ResNet-32's 31 convs (stem + 30 in blocks; option-A shortcuts have none)
    assert row['layers'] == {'constant 0.25': 31}
    assert init_row(report, 'head')['init'] == 'Kaiming fan_in'


def test_absent_pretrained_is_not_loaded(tmp_path, monkeypatch):
    """A missing file and an uncached URL are reported, not loaded (no
    download is attempted), and the build goes on."""
    monkeypatch.setenv('TORCH_HOME', str(tmp_path / 'torch_home'))
    missing = str(tmp_path / 'absent.pth')
    url = 'https://download.pytorch.org/models/resnet152-b121ed2d.pth'
    for ckpt in (missing, url):
        report = tool.main(
            [_pretrained_config(tmp_path, ckpt), '--format', 'json'])
        row = init_row(report, 'backbone')
        # the Pretrained init_cfg replaces ResNet's Kaiming default, so
        # without the file the convs keep PyTorch's construction init
        assert row['init'] == (f'Pretrained {ckpt}: not found, not loaded'
                               f'; weights: {tool.DEFAULT_INIT}')


# ------------------------------------------------- MMEngine's real Runner
class _Toy(BaseModel):

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(2, 1)

    def forward(self, inputs, data_samples=None, mode='tensor'):
        if isinstance(inputs, (list, tuple)):
            inputs = torch.stack(inputs)
        return dict(loss=self.fc(inputs).sum())


class _Data(torch.utils.data.Dataset):

    def __len__(self):
        return 10

    def __getitem__(self, idx):
        return dict(inputs=torch.ones(2))


class _LrRecorder(Hook):

    def __init__(self):
        self.lrs = []

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        self.lrs.append(runner.optim_wrapper.optimizer.param_groups[0]['lr'])


def test_schedule_equals_a_real_runner():
    """Epoch-start and last lrs equal those a Runner's training loop uses
    (convert_to_iter_based, the default ``end``, epoch-based steps)."""
    sched = [
        dict(type='LinearLR', start_factor=0.25, by_epoch=True, begin=0,
             end=2, convert_to_iter_based=True),
        dict(type='CosineAnnealingLR', by_epoch=True, begin=2, T_max=4,
             eta_min=0.001, convert_to_iter_based=True),
        dict(type='MultiStepLR', by_epoch=True, milestones=[5], gamma=0.5),
    ]
    recorder = _LrRecorder()
    with tempfile.TemporaryDirectory() as work_dir:
        runner = Runner(
            model=_Toy(),
            work_dir=work_dir,
            train_dataloader=dict(
                dataset=_Data(),
                sampler=dict(type='DefaultSampler', shuffle=False),
                batch_size=3,
                collate_fn=dict(type='default_collate')),
            optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.1)),
            param_scheduler=copy.deepcopy(sched),
            train_cfg=dict(by_epoch=True, max_epochs=6),
            custom_hooks=[recorder],
            default_hooks=dict(checkpoint=None, logger=None),
            default_scope='mmengine',
            log_level='ERROR')
        runner.train()
    cfg = Config(dict(param_scheduler=sched,
                      train_cfg=dict(by_epoch=True, max_epochs=6)))
    wrapper = build_optim_wrapper(
        _Toy(), dict(optimizer=dict(type='SGD', lr=0.1)))
    out = tool.schedule_section(cfg, wrapper, 4)  # ceil(10 / 3)
    assert len(recorder.lrs) == 24
    assert [v[0] for v in out['lr_by_epoch']] == pytest.approx(
        recorder.lrs[::4], rel=1e-12)
    assert out['lr_last_iter'][0] == pytest.approx(recorder.lrs[-1])
    assert [r['by_epoch'] for r in out['schedulers']] == [False, False, True]
    assert out['schedulers'][1]['T_max'] == 16  # 4 epochs x 4 iterations


# ------------------------------------------------------ CE, CIFAR-10-LT
def test_ce_cifar_optimizer_batch_schedule():
    r = recipe(CE_CIFAR)
    opt = r['optimizer']
    assert opt['optimizer'] == 'SGD'
    assert opt['defaults']['lr'] == pytest.approx(0.1)
    assert opt['defaults']['momentum'] == pytest.approx(0.9)
    assert not opt['defaults']['nesterov']
    decay = single_decay(r)  # 2e-4 on every parameter, BN included
    assert decay['weight_decay'] == pytest.approx(2e-4)
    assert decay['trainable_tensors'] == trainable(r) > 0
    assert opt['not_in_optimizer']['tensors'] == 0
    d = r['data']
    assert d['global_batch'] == 128 and d['name_gpus_batch'] == [1, 128]
    assert d['train_size'] == CIFAR10_LT_R100
    assert d['iters_per_epoch'] == math.ceil(CIFAR10_LT_R100 / 128)
    assert d['sampler']['type'] == 'DefaultSampler'
    s = r['schedule']
    assert s['max_epochs'] == 200
    official = [0.1 * (e + 1) / 5 for e in range(5)] + [0.1] * 155 + \
        [1e-3] * 20 + [1e-5] * 20
    assert [v[0] for v in s['lr_by_epoch']] == pytest.approx(official)
    assert s['lr_last_iter'][0] == pytest.approx(1e-5)
    assert all(row['frozen_tensors'] == 0 for row in r['frozen'])


def test_ce_cifar_transforms_and_head_init():
    r = recipe(CE_CIFAR)
    train = [t['type'] for t in r['transforms']['train']]
    assert train == ['RandomCrop', 'RandomFlip', 'PackInputs']
    crop = r['transforms']['train'][0]['args']
    assert crop['crop_size'] == 32 and crop['padding'] == 4
    pre = r['transforms']['data_preprocessor']
    assert pre['mean'] == pytest.approx(
        [0.4914 * 255, 0.4822 * 255, 0.4465 * 255], abs=0.02)
    assert pre['std'] == pytest.approx(
        [0.2023 * 255, 0.1994 * 255, 0.2010 * 255], abs=0.02)
    assert init_row(r, 'head')['init'] == 'Kaiming fan_in'


def test_ce_cifar_backbone_init_official():
    """LDAM-DRW's resnet_cifar.py: kaiming_normal_ (fan_in) on every conv
    (CIFARResNet's own default, MMPretrain ResNet's fan_out, differs on the
    stem, the first conv of stages 2 / 3 and the 1x1 shortcuts)."""
    assert init_row(recipe(CE_CIFAR), 'backbone')['init'] == \
        'Kaiming fan_in'


def test_gpus_and_auto_scale_lr():
    r = recipe(CE_CIFAR, '--gpus', '4', '--auto-scale-lr')
    d = r['data']
    assert d['global_batch'] == 512 and r['gpus_source'] == '--gpus'
    assert d['sampler_len_per_rank'] == math.ceil(CIFAR10_LT_R100 / 4)
    assert d['iters_per_epoch'] == math.ceil(
        math.ceil(CIFAR10_LT_R100 / 4) / 128)
    # Runner.scale_lr: x (4 x 128) / base 128, before the schedulers
    assert r['optimizer']['auto_scale_lr_ratio'] == 4
    assert lr_at(r, 10) == pytest.approx(0.4)


def test_subprocess_markdown():
    proc = run_tool([
        'tools/analysis/print_recipe.py', CE_CIFAR, '--no-init',
        '--format', 'md'
    ], timeout=300)
    out = proc.stdout
    for title in ('## Optimizer', '## Frozen parameters',
                  '## Batch, epochs, sampler', '## Schedule',
                  '## Initialisation', '## Transforms'):
        assert title in out
    assert '| 160 | 15520 | 0.001 | step x0.01 |' in out
    assert '| 0 | 0 | 0.02 | first |' in out
    assert 'Skipped (--no-init).' in out


# ---------------------------------------------------------- NCL, CIFAR
def test_ncl_cifar_recipe():
    """ALGORITHMS.md 4.5: SGD Nesterov, momentum 0.9, wd 2e-4 on every
    parameter, lr 0.1, batch 64, 400 epochs, warm-up 5 epochs from lr / 3,
    x0.1 at 320 and 360 stepped at the start of each 1-based epoch (see
    the per-epoch test below), drop_last, instance sampling."""
    r = recipe(NCL_CIFAR)
    opt = r['optimizer']['defaults']
    assert r['optimizer']['optimizer'] == 'SGD'
    assert opt['lr'] == pytest.approx(0.1)
    assert opt['momentum'] == pytest.approx(0.9) and opt['nesterov']
    decay = single_decay(r)
    assert decay['weight_decay'] == pytest.approx(2e-4)
    assert decay['trainable_tensors'] == trainable(r) > 0
    d = r['data']
    assert d['global_batch'] == 64 and d['drop_last']
    assert d['iters_per_epoch'] == CIFAR10_LT_R100 // 64
    assert d['sampler']['type'] == 'DefaultSampler'
    assert r['schedule']['max_epochs'] == 400
    # warm-up from lr / 3, one step in at epoch 0
    assert lr_at(r, 0) == pytest.approx(0.1 * 7 / 15)
    for epoch, lr in ((5, 0.1), (318, 0.1), (319, 0.01), (358, 0.01),
                      (359, 0.001), (399, 0.001)):
        assert lr_at(r, epoch) == pytest.approx(lr), epoch
    # 3 experts, nothing frozen
    assert '3 x CIFARResNet' in init_row(r, 'backbones')['type']
    assert all(row['frozen_tensors'] == 0 for row in r['frozen'])
    train = [t['type'] for t in r['transforms']['train']]
    assert train == ['RandomCrop', 'RandomFlip', 'ApplyInBGR',
                     'ClippedCutout', 'PackInputs']
    assert r['transforms']['train'][3]['args']['length'] == 16
    # the code's classifier: a plain nn.Linear (PyTorch's default init)
    assert init_row(r, 'heads')['weights'] == tool.DEFAULT_INIT


def test_ncl_cifar_per_epoch_lr_official():
    """The NCL code steps WarmupMultiStepLR at the start of each 1-based
    epoch: 0-based epoch e runs at step e + 1 (0.467 x lr at epoch 0, x0.1
    from epochs 319 / 359)."""
    r = recipe(NCL_CIFAR)

    def official(e):
        step = e + 1
        factor = 1. if step >= 5 else (1. / 3) * (1 - step / 5) + step / 5
        return 0.1 * factor * 0.1**sum(step >= m for m in (320, 360))

    for epoch in (0, 1, 3, 319, 359):
        assert lr_at(r, epoch) == pytest.approx(official(epoch)), epoch


def test_ncl_cifar_expert_init_official():
    row = init_row(recipe(NCL_CIFAR), 'backbones')
    assert row['init'] == 'Kaiming fan_in'


# ------------------------------------------------------ CBD, ImageNet-LT
def test_cbd_imagenet_lt_recipe():
    """ALGORITHMS.md 3.5: 90 epochs, global batch 128, lr 0.1 x 128 / 256
    = 0.05, cosine per step without warm-up, momentum 0.9 (no Nesterov),
    class-balanced sampling for the student, N_train // batch steps per
    epoch; the teachers frozen, the student from scratch with a
    Glorot-uniform cosine classifier; distorted-bbox crop (area 0.05-1)
    to 224 + flip, eval resize 256 / centre crop 224, pixels scaled to
    [0, 1] without mean / std."""
    r = recipe(CBD_INLT, '--train-size', str(IMAGENET_LT_TRAIN))
    opt = r['optimizer']['defaults']
    assert r['optimizer']['optimizer'] == 'SGD'
    assert opt['lr'] == pytest.approx(0.05)
    assert opt['momentum'] == pytest.approx(0.9) and not opt['nesterov']
    # one decay value on every trainable parameter (BN, classifier too)
    assert single_decay(r)['trainable_tensors'] == trainable(r) > 0
    d = r['data']
    assert d['global_batch'] == 128
    assert d['sampler']['type'] == 'ClassBalancedResampleSampler'
    assert d['iters_per_epoch'] == IMAGENET_LT_TRAIN // 128
    s = r['schedule']
    assert s['max_epochs'] == 90
    assert [x['by_epoch'] for x in s['schedulers']] == [False]  # per step
    assert lr_at(r, 0) == pytest.approx(0.05)  # no warm-up
    assert lr_at(r, 45) == pytest.approx(0.025)
    assert s['peak_lr'] == pytest.approx(0.05)
    assert s['lr_last_iter'][0] < 1e-6
    frozen = {x['module']: x for x in r['frozen']}
    assert frozen['teachers']['frozen_tensors'] == \
        frozen['teachers']['tensors'] > 0
    assert all(x['frozen_tensors'] == 0
               for k, x in frozen.items() if k != 'teachers')
    assert init_row(r, 'head')['init'] == 'Xavier'
    assert 'Pretrained' not in init_row(r, 'backbone')['init']
    teacher = init_row(r, 'teachers.0')
    assert teacher['frozen'] == teacher['params']
    assert 'not found, not loaded' in teacher['init']  # no teacher files
    train = r['transforms']['train']
    assert [t['type'] for t in train] == [
        'LoadImageFromFileChecked', 'DistortedBoundingBoxCrop', 'RandomFlip',
        'PackInputs'
    ]
    assert train[1]['args']['scale'] == 224
    assert train[1]['args']['area_range'] == pytest.approx([0.05, 1.])
    assert train[1]['args']['aspect_ratio_range'] == pytest.approx(
        [0.75, 1.33])
    test = r['transforms']['test']
    assert test[1]['type'] == 'ResizeEdge' and \
        test[1]['args']['scale'] == 256
    assert test[2]['args']['crop_size'] == 224
    pre = r['transforms']['data_preprocessor']
    assert pre['mean'] == [0, 0, 0] and pre['std'] == [255, 255, 255]


def test_cbd_imagenet_lt_weight_decay_official():
    r = recipe(CBD_INLT, '--train-size', str(IMAGENET_LT_TRAIN))
    assert single_decay(r)['weight_decay'] == pytest.approx(2.5e-4)


def test_train_size_unknown_without_data():
    """The ImageNet-LT train list is not read: the size is unknown, the
    schedule is stepped with a nominal epoch length and says so; epoch-
    start values of an epoch-based cosine do not depend on it."""
    r = recipe('configs/ce/ce_resnet50_4xb128-90e_imagenet-lt.py',
               '--no-init')
    assert r['data']['train_size'] is None
    assert r['data']['iters_per_epoch'] is None
    assert r['data']['global_batch'] == 512
    assert r['schedule']['nominal_iters_per_epoch']
    assert lr_at(r, 45) == pytest.approx(r['schedule']['peak_lr'] / 2)
    assert r['init'] is None


# ------------------------------------------------------------- SSD
def test_ssd_stage1_cifar_recipe():
    """Official (ALGORITHMS.md 2.1): SGD momentum 0.9, wd 5e-4 on all
    parameters (BN included), no Nesterov, lr set per epoch by
    ``lr * 0.5 * (1 + cos(pi * epoch / epochs))``, drop_last, the key
    encoder and key head EMA-only (frozen, out of the optimizer),
    starting as copies of the query ones. lr 0.1 / 200 epochs / batch 128
    are ltplug's CIFAR choice (no official CIFAR recipe)."""
    r = recipe(SSD1_CIFAR)
    opt = r['optimizer']['defaults']
    assert opt['momentum'] == pytest.approx(0.9) and not opt['nesterov']
    decay = single_decay(r)
    assert decay['weight_decay'] == pytest.approx(5e-4)
    assert decay['trainable_tensors'] == trainable(r) > 0
    assert r['data']['drop_last']
    assert r['data']['iters_per_epoch'] == CIFAR10_LT_R100 // 128
    assert [x['by_epoch'] for x in r['schedule']['schedulers']] == [True]
    for epoch in (0, 50, 100, 199):
        assert lr_at(r, epoch) == pytest.approx(
            0.1 * 0.5 * (1 + math.cos(math.pi * epoch / 200)))
    frozen = {x['module']: x for x in r['frozen']}
    for key in ('key_backbone', 'key_proj'):
        assert frozen[key]['frozen_tensors'] == frozen[key]['tensors'] > 0
        assert frozen[key]['frozen_in_optimizer'] == 0
        assert init_row(r, key)['init'].startswith(
            'set by SSDMoCoClassifier.init_weights after MMEngine')
    for key in ('backbone', 'head', 'query_proj'):
        assert frozen[key]['frozen_tensors'] == 0
    left = r['optimizer']['not_in_optimizer']
    assert left['modules'] == ['key_backbone', 'key_proj']
    assert left['trainable_count'] == 0
    train = r['transforms']['train']
    assert train[0]['type'] == 'MultiView'
    assert r['transforms']['data_preprocessor']['type'] == \
        'SelfSupDataPreprocessor'


def test_ssd_stage1_imagenet_lt_recipe():
    """ALGORITHMS.md 2.1: 135 epochs, 256 images in total, lr 0.1 cosine
    set per epoch, SGD momentum 0.9 / wd 5e-4 on everything; ResNeXt-50
    with Kaiming fan_out init (no pretrained weights)."""
    r = recipe(SSD1_INLT, '--train-size', str(IMAGENET_LT_TRAIN))
    assert r['data']['global_batch'] == 256
    assert r['data']['iters_per_epoch'] == IMAGENET_LT_TRAIN // 256
    assert r['optimizer']['defaults']['lr'] == pytest.approx(0.1)
    assert single_decay(r)['weight_decay'] == pytest.approx(5e-4)
    assert r['schedule']['max_epochs'] == 135
    assert lr_at(r, 67) == pytest.approx(
        0.1 * 0.5 * (1 + math.cos(math.pi * 67 / 135)))
    backbone = init_row(r, 'backbone')
    assert backbone['type'] == 'ResNeXt'
    assert backbone['init'] == 'Kaiming fan_out'
