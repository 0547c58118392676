# Copyright (c) ltplug contributors. All rights reserved.
"""The README's "any MMPretrain config" example works as printed: it
inherits MMPretrain's own config, and its dataset, sampler, loss, metric
and hook all build and get the class counts from the data."""
import os.path as osp
import re

import numpy as np
import torch
from mmengine.config import Config
from mmpretrain.registry import DATA_SAMPLERS, DATASETS, HOOKS, METRICS, MODELS

from tests.helpers import ROOT


def _readme_block() -> str:
    text = open(osp.join(ROOT, 'README.md'), encoding='utf-8').read()
    blocks = re.findall(r'```python\n(.*?)```', text, flags=re.S)
    block = [b for b in blocks if 'mmpretrain::' in b]
    assert len(block) == 1, 'README: one python block inheriting mmpretrain::'
    return block[0]


def test_readme_custom_imports_example(tmp_path):
    # a tiny ImageNet-LT: 501 images of class 0, 1 of every other class
    root = tmp_path / 'imagenet'
    root.mkdir()
    labels = [0] * 500 + list(range(1000))
    (root / 'ImageNet_LT_train.txt').write_text(''.join(
        f'train/{i}.JPEG {c}\n' for i, c in enumerate(labels)))
    (root / 'ImageNet_LT_val.txt').write_text(''.join(
        f'val/{c}.JPEG {c}\n' for c in range(1000)))
    cfg_file = tmp_path / 'cfg.py'
    cfg_file.write_text(_readme_block())
    cfg = Config.fromfile(str(cfg_file))

    train_cfg = cfg.train_dataloader.dataset
    train_cfg.data_root = str(root)
    dataset = DATASETS.build(train_cfg)
    sampler = DATA_SAMPLERS.build(
        dict(cfg.train_dataloader.sampler, dataset=dataset, seed=0,
             rank=0, world_size=1))
    # class-balanced: the head class (a third of the images) gets about
    # 1/1000 of the draws, not a third
    drawn = np.bincount(dataset.get_gt_labels()[list(sampler)],
                        minlength=1000)
    assert drawn.sum() == 1500 and drawn[0] <= 5
    val_cfg = cfg.val_dataloader.dataset
    val_cfg.data_root = str(root)
    val = DATASETS.build(val_cfg)
    assert val.metainfo['class_counts'][:2] == [501, 1]  # training counts

    model = MODELS.build(cfg.model)
    hook = HOOKS.build(cfg.custom_hooks[0])

    class _Runner:  # what ClassCountsHook reads from a runner
        def __init__(self):
            self.model = model
            self.train_dataloader = type('L', (), {'dataset': dataset})()
            self.logger = __import__('mmengine').logging.MMLogger \
                .get_current_instance()

    hook.before_train(_Runner())
    loss = model.head.loss_module
    assert torch.as_tensor(loss.class_counts)[:2].tolist() == [501, 1]

    metric = METRICS.build(cfg.val_evaluator)
    metric.dataset_meta = val.metainfo
    assert metric.topk == (1, 5)
