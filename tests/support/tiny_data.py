# Copyright (c) ltplug contributors. All rights reserved.
"""A tiny image-folder dataset (PNG files + a ``path label`` list) and a
matching config, for platform tests that need no real data."""
import os
import os.path as osp

import numpy as np
from PIL import Image

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
RUNTIME = osp.join(ROOT, 'configs', '_base_', 'default_runtime.py')


def make_image_list(root: str, num_classes: int = 4, per_class=8,
                    size: int = 32, seed: int = 0) -> str:
    """Write PNGs whose mean colour depends on the class (``per_class`` each,
    an int or one int per class), and ``train.txt``; returns the list path."""
    rng = np.random.default_rng(seed)
    if isinstance(per_class, int):
        per_class = [per_class] * num_classes
    lines = []
    for c in range(num_classes):
        os.makedirs(osp.join(root, f'c{c}'), exist_ok=True)
        for i in range(per_class[c]):
            base = np.full((size, size, 3), 40 + 50 * c, np.int16)
            img = np.clip(base + rng.integers(-30, 30, base.shape), 0, 255)
            rel = f'c{c}/{i}.png'
            Image.fromarray(img.astype(np.uint8)).save(osp.join(root, rel))
            lines.append(f'{rel} {c}')
    ann = osp.join(root, 'train.txt')
    with open(ann, 'w') as f:
        f.write('\n'.join(lines) + '\n')
    return ann


def write_tiny_config(path: str, data_root: str, extra: str = '',
                      max_epochs: int = 2, batch_size: int = 4) -> str:
    """A complete training config (ResNet-20 on the tiny list)."""
    text = f'''
_base_ = [{RUNTIME!r}]
custom_imports = dict(imports=['ltplug', 'tests.support.record_hook'],
                      allow_failed_imports=False)
model = dict(
    type='ImageClassifier',
    backbone=dict(type='CIFARResNet', depth=20),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(type='LinearClsHead', num_classes=4, in_channels=64,
              loss=dict(type='CrossEntropyLoss')),
    data_preprocessor=dict(num_classes=4, mean=[127.5] * 3, std=[64.] * 3))
pipeline = [dict(type='LoadImageFromFile'), dict(type='PackInputs')]
dataset = dict(type='CustomDataset', data_root={data_root!r},
               ann_file='train.txt', data_prefix='', pipeline=pipeline)
train_dataloader = dict(batch_size={batch_size}, num_workers=0,
                        sampler=dict(type='DefaultSampler', shuffle=True),
                        dataset=dataset)
val_dataloader = dict(batch_size=8, num_workers=0,
                      sampler=dict(type='DefaultSampler', shuffle=False),
                      dataset=dataset)
val_evaluator = dict(type='Accuracy', topk=(1, ))
test_dataloader = val_dataloader
test_evaluator = val_evaluator
optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.05, momentum=0.9))
param_scheduler = dict(type='ConstantLR', factor=1.0)
train_cfg = dict(by_epoch=True, max_epochs={max_epochs}, val_interval=1)
val_cfg = dict()
test_cfg = dict()
default_hooks = dict(logger=dict(type='LoggerHook', interval=1))
custom_hooks = [dict(type='RecordTrainingHook')]
randomness = dict(seed=0, deterministic=True)
{extra}
'''
    with open(path, 'w') as f:
        f.write(text)
    return path
