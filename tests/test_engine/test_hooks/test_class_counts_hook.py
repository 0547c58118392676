# Copyright (c) ltplug contributors. All rights reserved.
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from mmengine.logging import MMLogger
from mmpretrain.registry import HOOKS, MODELS


class FakeDataset:

    def __init__(self, counts):
        self.metainfo = dict(class_counts=counts)


class Wrapper:
    """A dataset wrapper keeping the wrapped dataset in ``.dataset``."""

    def __init__(self, dataset):
        self.dataset = dataset
        self.metainfo = dict(classes=('a', 'b', 'c'))


def make_model():
    return MODELS.build(
        dict(
            type='ImageClassifier',
            backbone=dict(type='CIFARResNet', depth=20),
            neck=dict(type='GlobalAveragePooling'),
            head=dict(
                type='LinearClsHead',
                num_classes=3,
                in_channels=64,
                loss=dict(type='BalancedSoftmaxLoss'))))


def fake_runner(model, dataset):
    return SimpleNamespace(
        model=model,
        train_dataloader=SimpleNamespace(dataset=dataset),
        logger=MMLogger.get_current_instance())


def test_counts_from_train_dataset_reach_loss():
    model = make_model()
    hook = HOOKS.build(dict(type='ClassCountsHook'))
    hook.before_train(fake_runner(model, Wrapper(FakeDataset([50, 5, 1]))))
    assert model.head.loss_module.class_counts.tolist() == [50., 5., 1.]
    # the loss now works: zero logits, class 2 -> log(56 / 1)
    loss = model.head.loss_module(torch.zeros(1, 3), torch.tensor([2]))
    assert loss.item() == pytest.approx(np.log(56.), rel=1e-6)


def test_explicit_counts_override_dataset():
    model = make_model()
    hook = HOOKS.build(dict(type='ClassCountsHook', class_counts=[4, 3, 2]))
    hook.before_train(fake_runner(model, FakeDataset([50, 5, 1])))
    assert model.head.loss_module.class_counts.tolist() == [4., 3., 2.]


def test_no_setter_reads_nothing():
    model = MODELS.build(
        dict(
            type='ImageClassifier',
            backbone=dict(type='CIFARResNet', depth=20),
            neck=dict(type='GlobalAveragePooling'),
            head=dict(type='LinearClsHead', num_classes=3, in_channels=64)))
    hook = HOOKS.build(dict(type='ClassCountsHook'))
    # a dataset without counts is fine when no module takes counts
    hook.before_train(fake_runner(model, object()))


def test_dataset_without_counts_raises():
    model = make_model()
    hook = HOOKS.build(dict(type='ClassCountsHook'))
    with pytest.raises(ValueError, match='class_counts'):
        hook.before_train(
            fake_runner(model, SimpleNamespace(metainfo=dict())))


@pytest.mark.parametrize('counts,error,message', [
    ('50,5,1', TypeError, "class_counts must be a list of ints, but got "
     "'50,5,1'"),
    (['50', '5', '1'], TypeError, "class_counts must hold ints, but got "
     "'50'"),
    ([50, True, 1], TypeError, 'class_counts must hold ints, but got True'),
    ([50, 0, 1], ValueError, 'zero training images'),
])
def test_bad_counts_named(counts, error, message):
    with pytest.raises(error, match=message):
        HOOKS.build(dict(type='ClassCountsHook', class_counts=counts))


def test_check_num_classes_must_be_bool():
    with pytest.raises(TypeError, match="check_num_classes must be True or "
                       "False, but got 'False'"):
        HOOKS.build(dict(type='ClassCountsHook', check_num_classes='False'))
