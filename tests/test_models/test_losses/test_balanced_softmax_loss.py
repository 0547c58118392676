# Copyright (c) ltplug contributors. All rights reserved.
import numpy as np
import pytest
import torch
from mmpretrain.registry import MODELS


def np_balanced_softmax(logits, labels, counts, tau=1.0):
    z = logits + tau * np.log(np.asarray(counts, dtype=np.float64))
    z = z - z.max(axis=1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    return -logp[np.arange(len(labels)), labels]


def test_hand_computed_value():
    # one sample, 2 classes, zero logits, counts (9, 1): adjusted logits
    # (log 9, 0), loss of class 1 = log(1 + 9) = log 10
    loss = MODELS.build(dict(type='BalancedSoftmaxLoss', class_counts=[9, 1]))
    value = loss(torch.zeros(1, 2), torch.tensor([1]))
    assert value.item() == pytest.approx(np.log(10.), rel=1e-6)
    value0 = loss(torch.zeros(1, 2), torch.tensor([0]))
    assert value0.item() == pytest.approx(np.log(10. / 9.), rel=1e-6)


@pytest.mark.parametrize('tau', [1.0, 0.5])
def test_against_numpy(tau):
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(8, 5))
    labels = rng.integers(0, 5, 8)
    counts = [500, 120, 40, 10, 3]
    loss = MODELS.build(
        dict(type='BalancedSoftmaxLoss', class_counts=counts, tau=tau))
    out = loss(
        torch.tensor(logits, dtype=torch.float32), torch.tensor(labels))
    expected = np_balanced_softmax(logits, labels, counts, tau).mean()
    assert out.item() == pytest.approx(expected, rel=1e-5)
    none = loss(torch.tensor(logits, dtype=torch.float32),
                torch.tensor(labels), reduction_override='none')
    assert none.numpy() == pytest.approx(
        np_balanced_softmax(logits, labels, counts, tau), rel=1e-5)


def test_equal_counts_is_plain_ce():
    logits = torch.randn(4, 3)
    labels = torch.tensor([0, 2, 1, 1])
    loss = MODELS.build(dict(type='BalancedSoftmaxLoss',
                             class_counts=[7, 7, 7]))
    assert torch.allclose(
        loss(logits, labels),
        torch.nn.functional.cross_entropy(logits, labels))


def test_error_without_counts():
    loss = MODELS.build(dict(type='BalancedSoftmaxLoss'))
    with pytest.raises(RuntimeError, match='ClassCountsHook'):
        loss(torch.zeros(2, 3), torch.tensor([0, 1]))


def test_bad_counts_and_reduction():
    with pytest.raises(ValueError, match='zero'):
        MODELS.build(dict(type='BalancedSoftmaxLoss', class_counts=[3, 0]))
    with pytest.raises(ValueError, match='reduction'):
        MODELS.build(dict(type='BalancedSoftmaxLoss', reduction='avg'))
    loss = MODELS.build(dict(type='BalancedSoftmaxLoss', class_counts=[3, 2]))
    with pytest.raises(ValueError, match='3 classes'):
        loss(torch.zeros(1, 3), torch.tensor([0]))


def test_set_class_counts_then_forward():
    """The ClassCountsHook path: counts arrive through set_class_counts."""
    loss = MODELS.build(dict(type='BalancedSoftmaxLoss'))
    loss.set_class_counts([9, 1])
    assert loss(torch.zeros(1, 2), torch.tensor([1])).item() == \
        pytest.approx(np.log(10.), rel=1e-6)
