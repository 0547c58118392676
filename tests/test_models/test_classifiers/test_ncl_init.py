# Copyright (c) ltplug contributors. All rights reserved.
"""NCL's experts and their EMA copies really receive their ``init_cfg``
(they sat in a plain ``nn.ModuleList``, which MMEngine's ``init_weights``
skips, so Places-LT trained from random instead of ImageNet weights), and
each NCL config's *built* model holds the official initialisation:
ResNet-32 Kaiming-normal fan_in convs (``resnet_cifar.py``), ResNet-50
PyTorch's default init with no zero-init residual (``resnet.py``, "kaiming
init missing"), cosine classifier U(+-1/sqrt(d)), Places-LT ImageNet weights
in all six networks."""
import math
import os.path as osp

import pytest
import torch
import torch.nn as nn
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmpretrain.registry import MODELS

from tests.helpers import ROOT

init_default_scope('mmpretrain')

TINY_BACKBONE = dict(type='CIFARResNet', depth=20)


def _conv_std_ratios(module: nn.Module, rule: str):
    """std(weight) / the std ``rule`` predicts, for every conv with at
    least 500 weights (small ones are too noisy)."""
    ratios = []
    for m in module.modules():
        if isinstance(m, nn.Conv2d) and m.weight.numel() >= 500:
            w = m.weight.detach()
            fan_in = w[0].numel()
            fan_out = w.shape[0] * w[0, 0].numel()
            expected = {
                'kaiming_fan_in': math.sqrt(2. / fan_in),
                'kaiming_fan_out': math.sqrt(2. / fan_out),
                'pytorch_default': 1. / math.sqrt(3. * fan_in),
            }[rule]
            ratios.append(float(w.std()) / expected)
    assert ratios, 'no conv big enough to judge'
    return ratios


def _ncl(backbone, moco=True, moco_mode='official'):
    cfg = dict(
        type='NCLMultiExpertClassifier',
        num_experts=2,
        backbone=backbone,
        neck=dict(type='GlobalAveragePooling'),
        head=dict(type='LinearClsHead', num_classes=5, in_channels=64),
        loss=dict(type='NCLLoss', hcm_n=2, class_counts=[50, 20, 9, 5, 2]),
        moco_mode=moco_mode)
    if moco:
        cfg['moco'] = dict(queue_size=16, dim=8)
    return MODELS.build(cfg)


@pytest.mark.parametrize('moco_mode', ['official', 'corrected'])
def test_every_expert_and_ema_copy_loads_its_pretrained_file(
        tmp_path, moco_mode):
    source = MODELS.build(TINY_BACKBONE)
    with torch.no_grad():
        for p in source.parameters():
            p.uniform_(-3, 3)  # nothing an init would give
    ckpt = str(tmp_path / 'backbone.pth')
    torch.save(dict(state_dict=source.state_dict()), ckpt)
    model = _ncl(dict(TINY_BACKBONE, init_cfg=dict(type='Pretrained',
                                                   checkpoint=ckpt)),
                 moco_mode=moco_mode)
    model.init_weights()
    want = source.state_dict()
    nets = list(model.backbones) + list(model.ema_backbones)
    assert len(nets) == 4
    for i, net in enumerate(nets):
        got = net.state_dict()
        for k, v in want.items():
            assert torch.equal(got[k], v), (i, k)


def test_every_expert_gets_its_init_cfg():
    model = _ncl(dict(TINY_BACKBONE, init_cfg=dict(
        type='Constant', val=0.125, layer='Conv2d')), moco=False)
    model.init_weights()
    for net in model.backbones:
        for m in net.modules():
            if isinstance(m, nn.Conv2d):
                assert torch.all(m.weight == 0.125)


def _build(config: str, **options):
    cfg = Config.fromfile(osp.join(ROOT, config))
    if options:
        cfg.merge_from_dict(options)
    model = MODELS.build(cfg.model)
    model.init_weights()
    return model


@pytest.mark.parametrize('config', [
    'configs/ncl/ncl_resnet32_1xb64-400e_cifar10-lt-r100.py',
    'configs/ncl/ncl-moco_resnet32_1xb64-400e_cifar100-lt-r100.py',
])
def test_cifar_experts_kaiming_fan_in(config):
    torch.manual_seed(0)
    model = _build(config)
    nets = list(model.backbones)
    if model.with_moco:
        nets += list(model.ema_backbones)
    for net in nets:
        ratios = _conv_std_ratios(net, 'kaiming_fan_in')
        assert all(0.85 < r < 1.15 for r in ratios), ratios
    for head in model.heads:  # PyTorch's Linear default: U(+-1/sqrt(64))
        w = head.fc.weight.detach()
        assert float(w.abs().max()) <= 64**-0.5
        assert abs(float(w.std()) * math.sqrt(3 * 64) - 1) < 0.15


@pytest.mark.parametrize('config', [
    'configs/ncl/ncl_resnet50_4xb64-200e_imagenet-lt.py',
    'configs/ncl/ncl_resnet50_8xb64-400e_inat2018.py',
])
def test_resnet50_experts_pytorch_default_init(config):
    torch.manual_seed(0)
    model = _build(config)
    for net in model.backbones:
        ratios = _conv_std_ratios(net, 'pytorch_default')
        assert all(0.9 < r < 1.1 for r in ratios), ratios
        # no zero-init residual: every BN weight is 1
        for m in net.modules():
            if isinstance(m, nn.BatchNorm2d):
                assert torch.all(m.weight == 1)
    for head in model.heads:  # cosine classifier, U(+-1/sqrt(2048))
        w = head.fc.weight.detach()
        assert float(w.abs().max()) <= 2048**-0.5
        assert abs(float(w.std()) * math.sqrt(3 * 2048) - 1) < 0.05


def test_places_lt_all_six_networks_load_imagenet_weights(tmp_path):
    """The Places-LT config with its torchvision URL replaced by a local
    file (ResNet-50 instead of 152 for speed: the same init path)."""
    source = MODELS.build(dict(type='ResNet', depth=50))
    with torch.no_grad():
        for p in source.parameters():
            p.normal_(0, 0.5)
    ckpt = str(tmp_path / 'resnet.pth')
    torch.save(source.state_dict(), ckpt)
    model = _build(
        'configs/ncl/ncl-moco_resnet152_8xb32-30e_places-lt.py',
        **{'model.backbone.depth': 50,
           'model.backbone.init_cfg.checkpoint': ckpt,
           'model.moco.queue_size': 64})
    nets = list(model.backbones) + list(model.ema_backbones)
    assert len(nets) == 6
    want = source.state_dict()
    for i, net in enumerate(nets):
        got = net.state_dict()
        for k, v in want.items():
            assert torch.equal(got[k], v), (i, k)
