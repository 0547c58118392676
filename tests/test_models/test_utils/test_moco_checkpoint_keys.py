# Copyright (c) ltplug contributors. All rights reserved.
"""Checkpoints of the MoCo classifiers keep the key layout they had before
MoCo was shared (issue 15): every key written below is the one a
checkpoint of the earlier release holds, so those checkpoints load and
resume strictly."""
from mmpretrain.registry import MODELS

BACKBONE = dict(type='CIFARResNet', depth=20)
NECK = dict(type='GlobalAveragePooling')
HEAD = dict(type='LinearClsHead', num_classes=4, in_channels=64)


def _non_backbone(keys, backbone_prefixes):
    return sorted(k for k in keys
                  if not k.startswith(tuple(backbone_prefixes)))


def test_ssd_stage1_checkpoint_keys_are_unchanged():
    model = MODELS.build(
        dict(type='SSDMoCoClassifier', backbone=BACKBONE, neck=NECK,
             head=HEAD, queue_size=16, proj_dim=8))
    keys = list(model.state_dict())
    backbone = sorted(k[len('backbone.'):] for k in keys
                      if k.startswith('backbone.'))
    key_backbone = sorted(k[len('key_backbone.'):] for k in keys
                          if k.startswith('key_backbone.'))
    assert backbone and backbone == key_backbone
    assert _non_backbone(keys, ['backbone.', 'key_backbone.']) == sorted([
        'head.fc.weight', 'head.fc.bias',
        'query_proj.0.weight', 'query_proj.0.bias',
        'query_proj.2.weight', 'query_proj.2.bias',
        'key_proj.0.weight', 'key_proj.0.bias',
        'key_proj.2.weight', 'key_proj.2.bias',
        'queue.keys', 'queue.labels', 'queue.ptr'])
    # an earlier checkpoint (the same keys) loads strictly
    model.load_state_dict(model.state_dict(), strict=True)


def test_ncl_moco_checkpoint_keys_are_unchanged():
    model = MODELS.build(
        dict(type='NCLMultiExpertClassifier', backbone=BACKBONE, neck=NECK,
             head=HEAD, num_experts=2,
             loss=dict(type='NCLLoss', hcm_n=2),
             moco=dict(queue_size=16, dim=8)))
    keys = list(model.state_dict())
    rest = _non_backbone(keys, ['backbones.', 'ema_backbones.'])
    expected = []
    for e in range(2):
        expected += [f'heads.{e}.fc.weight', f'heads.{e}.fc.bias']
        for name in ('query_heads', 'key_heads'):
            expected += [f'{name}.{e}.{i}.{p}' for i in (0, 2)
                         for p in ('weight', 'bias')]
        expected += [f'queues.{e}.keys', f'queues.{e}.ptr']
    assert rest == sorted(expected)
    for e in range(2):
        online = sorted(k.split('.', 2)[2] for k in keys
                        if k.startswith(f'backbones.{e}.'))
        ema = sorted(k.split('.', 2)[2] for k in keys
                     if k.startswith(f'ema_backbones.{e}.'))
        assert online and online == ema
