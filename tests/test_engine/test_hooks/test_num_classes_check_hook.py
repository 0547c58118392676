# Copyright (c) ltplug contributors. All rights reserved.
"""One number of classes: the heads (NCL experts, teachers), the data
preprocessor, the losses' counts, the datasets, the metrics and
ClassCountsHook's counts must agree before training, validation and
testing, and a mismatch names every value with its config key."""
import copy
import os.path as osp

import numpy as np
import pytest
import torch.nn as nn
from mmengine.runner import Runner
from mmpretrain.datasets import BaseDataset
from mmpretrain.registry import DATASETS, MODELS

from ltplug.engine.hooks import NumClassesMismatchError
from ltplug.engine.hooks.num_classes_check_hook import (check_num_classes,
                                                        dataset_num_classes,
                                                        model_num_classes)
from tests.helpers import cfg_options, run_tool


@DATASETS.register_module(name='NumClassesToyDataset', force=True)
class NumClassesToyDataset(BaseDataset):
    """``2 * num_classes`` blank 8 x 8 images, two per class, with class
    names and training counts ``[2] * num_classes``."""

    def __init__(self, num_classes: int = 4, **kwargs) -> None:
        self.toy_classes = num_classes
        kwargs.setdefault('pipeline', [dict(type='PackInputs')])
        super().__init__(
            ann_file='',
            metainfo=dict(
                classes=[f'c{i}' for i in range(num_classes)],
                class_counts=[2] * num_classes),
            **kwargs)

    def load_data_list(self):
        return [
            dict(img=np.zeros((8, 8, 3), np.uint8),
                 gt_label=i % self.toy_classes)
            for i in range(2 * self.toy_classes)
        ]


def model_cfg(num_classes=4, preprocessor=4, loss='BalancedSoftmaxLoss'):
    return dict(
        type='ImageClassifier',
        backbone=dict(type='CIFARResNet', depth=20),
        neck=dict(type='GlobalAveragePooling'),
        head=dict(type='LinearClsHead', num_classes=num_classes,
                  in_channels=64, loss=dict(type=loss)),
        data_preprocessor=dict(num_classes=preprocessor))


def loader(num_classes=4):
    return dict(
        batch_size=4, num_workers=0,
        sampler=dict(type='DefaultSampler', shuffle=False),
        dataset=dict(type='NumClassesToyDataset', num_classes=num_classes))


def make_runner(tmp_path, model=None, data=4, val_data=None, hooks=None,
                val_evaluator=None, test=False):
    cfg = dict(
        model=model or model_cfg(),
        work_dir=str(tmp_path),
        default_scope='mmpretrain',
        custom_hooks=hooks if hooks is not None else [
            dict(type='ClassCountsHook')],
        default_hooks=dict(logger=dict(type='LoggerHook', interval=1),
                           checkpoint=dict(type='CheckpointHook',
                                           interval=1)),
        env_cfg=dict(dist_cfg=dict(backend='gloo')),
        log_level='WARNING')
    evaluator = val_evaluator or dict(type='Accuracy')
    if test:
        cfg.update(test_dataloader=loader(data), test_cfg=dict(),
                   test_evaluator=evaluator)
    else:
        cfg.update(
            train_dataloader=loader(data),
            train_cfg=dict(by_epoch=True, max_epochs=1, val_interval=1),
            optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.01)),
            val_dataloader=loader(data if val_data is None else val_data),
            val_cfg=dict(), val_evaluator=evaluator)
    return Runner.from_cfg(copy.deepcopy(cfg))


# ------------------------------------------------------------- pure helpers
def test_model_sources_are_named_by_config_key():
    model = MODELS.build(model_cfg(num_classes=12, preprocessor=10))
    model.head.loss_module.set_class_counts([5] * 10)
    assert model_num_classes(model) == [
        ('model.data_preprocessor.num_classes=10', 10),
        ('model.head.num_classes=12', 12),
        ('model.head.loss.class_counts: 10 entries', 10),
    ]
    # a top-level data_preprocessor (merged by the Runner) is named as such
    cfg = dict(model=dict(type='ImageClassifier'),
               data_preprocessor=dict(num_classes=10))
    assert model_num_classes(model, cfg)[0] == (
        'data_preprocessor.num_classes=10', 10)


def test_experts_and_teachers_found():
    """Every head counts: NCL's experts (built from model.head, named
    once) and a teacher's head and preprocessor (from its own config)."""
    ncl = MODELS.build(dict(
        type='NCLMultiExpertClassifier', num_experts=3,
        backbone=dict(type='CIFARResNet', depth=20),
        neck=dict(type='GlobalAveragePooling'),
        head=dict(type='LinearClsHead', num_classes=5, in_channels=64),
        loss=dict(type='NCLLoss', hcm_n=2)))
    assert [s for s, _ in model_num_classes(ncl)] == [
        'model.head.num_classes=5 (every NCL expert)']

    class Distiller(nn.Module):

        def __init__(self):
            super().__init__()
            self.head = MODELS.build(dict(type='LinearClsHead',
                                          num_classes=10, in_channels=4))
            self.teachers = nn.ModuleList([MODELS.build(model_cfg(7, 7))])

    cfg = dict(model=dict(teachers=[dict(config='a/cbd-teacher.py')]))
    labels = [s for s, _ in model_num_classes(Distiller(), cfg)]
    assert labels == [
        'model.head.num_classes=10',
        'model.data_preprocessor.num_classes=7 (teacher model.teachers[0]'
        '.config cbd-teacher.py)',
        'model.head.num_classes=7 (teacher model.teachers[0].config '
        'cbd-teacher.py)',
    ]


def test_dataset_sources():
    ds = DATASETS.build(dict(type='NumClassesToyDataset', num_classes=3))
    assert dataset_num_classes(ds, 'train_dataloader.dataset') == [
        ('train_dataloader.dataset classes: 3', 3),
        ('train_dataloader.dataset class_counts: 3 entries', 3)]


def test_check_message_groups_values_and_says_what_to_set():
    with pytest.raises(NumClassesMismatchError) as e:
        check_num_classes([('model.data_preprocessor.num_classes=10', 10),
                           ('model.head.num_classes=12', 12),
                           ('train_dataloader.dataset classes: 10', 10)],
                          'the training config')
    assert str(e.value) == (
        'The number of classes differs within the training config: 10 from '
        'model.data_preprocessor.num_classes=10, train_dataloader.dataset '
        'classes: 10; 12 from model.head.num_classes=12. The data has 10 '
        'classes: set model.head.num_classes=10.')
    assert isinstance(e.value, ValueError)
    check_num_classes([('a=3', 3), ('b: 3 entries', 3)])  # agree: no error


# ---------------------------------------------------------- through Runner
@pytest.mark.parametrize('num_classes', [6, 3])
def test_head_of_another_size_stops_before_training(tmp_path, num_classes):
    """Larger: trained silently; smaller: ``IndexError: Target 3 is out of
    bounds`` inside torch. Both now stop before the first iteration."""
    runner = make_runner(tmp_path, model_cfg(num_classes=num_classes))
    with pytest.raises(NumClassesMismatchError) as e:
        runner.train()
    msg = str(e.value)
    assert f'{num_classes} from model.head.num_classes={num_classes}' in msg
    for part in ('model.data_preprocessor.num_classes=4',
                 'train_dataloader.dataset classes: 4',
                 'train_dataloader.dataset class_counts: 4 entries',
                 'val_dataloader.dataset classes: 4'):
        assert part in msg, msg
    assert msg.endswith('set model.head.num_classes=4.')
    assert runner.iter == 0
    assert not osp.exists(osp.join(str(tmp_path), 'epoch_1.pth'))


def test_val_data_and_metric_counts_checked_before_training(tmp_path):
    with pytest.raises(NumClassesMismatchError,
                       match='5 from val_dataloader.dataset classes: 5'):
        make_runner(tmp_path, val_data=5).train()
    with pytest.raises(NumClassesMismatchError,
                       match=r'3 from val_evaluator \(ShotAccuracy\)'
                       r'.class_counts: 3 entries'):
        make_runner(tmp_path,
                    val_evaluator=dict(type='ShotAccuracy',
                                       class_counts=[5, 4, 3])).train()


def test_hook_counts_checked(tmp_path):
    runner = make_runner(tmp_path, hooks=[
        dict(type='ClassCountsHook', class_counts=[9, 3, 1])])
    with pytest.raises(NumClassesMismatchError,
                       match='3 from custom_hooks ClassCountsHook'
                       '.class_counts: 3 entries'):
        runner.train()


def test_check_can_be_turned_off_and_plain_hook_works(tmp_path):
    # the standalone hook, without ClassCountsHook (a CE config)
    with pytest.raises(NumClassesMismatchError, match='model.head'):
        make_runner(tmp_path / 'a', model_cfg(6, loss='CrossEntropyLoss'),
                    hooks=[dict(type='NumClassesCheckHook')]).train()
    # check_num_classes=False: the old behaviour (a larger head trains)
    runner = make_runner(tmp_path / 'b', model_cfg(6, loss='CrossEntropyLoss'),
                         hooks=[
        dict(type='ClassCountsHook', check_num_classes=False)])
    runner.train()
    assert runner.iter == 2


def test_agreeing_run_trains_and_sets_counts(tmp_path):
    runner = make_runner(tmp_path)
    runner.train()
    assert runner.iter == 2
    assert runner.model.head.loss_module.class_counts.tolist() == [2] * 4


def test_test_run_checked(tmp_path):
    runner = make_runner(tmp_path, model_cfg(4), data=7, test=True)
    with pytest.raises(NumClassesMismatchError,
                       match='within the test config: 4 from .*; 7 from '
                       'test_dataloader.dataset classes: 7'):
        runner.test()
    make_runner(tmp_path, model_cfg(7, 7), data=7, test=True).test()


def test_train_tool_stops_on_head_size_of_shipped_config(
        cifar10_root, tmp_path):
    """The shipped Balanced Softmax CIFAR-10-LT config with
    ``--cfg-options model.head.num_classes=12``: one error naming the keys,
    before any iteration (it trained silently)."""
    cfg = 'configs/balanced_softmax/' \
        'balanced-softmax_resnet32_1xb128-200e_cifar10-lt-r100.py'
    opts = {'model.head.num_classes': 12, 'model.backbone.depth': 20,
            'train_dataloader.num_workers': 0,
            'train_dataloader.persistent_workers': False,
            'val_dataloader.num_workers': 0,
            'val_dataloader.persistent_workers': False}
    for key in ('train_dataloader', 'val_dataloader'):
        opts[f'{key}.dataset.data_root'] = cifar10_root
        opts[f'{key}.dataset.check_md5'] = False
        opts[f'{key}.dataset.max_per_class'] = 4
    work = str(tmp_path / 'work')
    proc = run_tool(['tools/train.py', cfg, '--work-dir', work] +
                    cfg_options(opts), check=False, timeout=300)
    assert proc.returncode != 0
    last = proc.stdout.strip().splitlines()[-1]
    assert last.startswith('ltplug.engine.hooks.num_classes_check_hook.'
                           'NumClassesMismatchError: The number of classes '
                           'differs within the training config'), last
    for part in ('12 from model.head.num_classes=12',
                 '10 from data_preprocessor.num_classes=10',
                 'train_dataloader.dataset classes: 10',
                 'set model.head.num_classes=10.'):
        assert part in last, last
    assert 'Epoch(train)' not in proc.stdout
