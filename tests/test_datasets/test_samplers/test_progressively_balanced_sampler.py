# Copyright (c) ltplug contributors. All rights reserved.
import numpy as np
import pytest
from mmpretrain.registry import DATA_SAMPLERS

COUNTS = [300, 150, 40, 10]  # N = 500, C = 4
IB = [0.6, 0.3, 0.08, 0.02]  # n_c / N
CB = [0.25] * 4


def build(dataset, **kwargs):
    cfg = dict(
        type='ProgressivelyBalancedSampler',
        total_epochs=4,
        seed=0,
        rank=0,
        world_size=1)
    cfg.update(kwargs)
    return DATA_SAMPLERS.build(cfg, default_args=dict(dataset=dataset))


@pytest.fixture
def labels(make_labels):
    return make_labels(COUNTS, shuffle_seed=4)


def test_probabilities_by_hand(toy_dataset, labels):
    s = build(toy_dataset(labels))
    np.testing.assert_allclose(s.class_probs(0), IB)
    # t / T = 1 / 4: 0.75 * IB + 0.25 * CB
    np.testing.assert_allclose(s.class_probs(1),
                               [0.5125, 0.2875, 0.1225, 0.0775])
    np.testing.assert_allclose(s.class_probs(3),
                               [0.3375, 0.2625, 0.2075, 0.1925])
    np.testing.assert_allclose(s.class_probs(4), CB)
    np.testing.assert_allclose(s.class_probs(10), CB)  # stays balanced
    s.set_epoch(1)
    np.testing.assert_allclose(s.class_probs(), s.class_probs(1))


def test_last_epoch_balanced(toy_dataset, labels):
    s = build(toy_dataset(labels), last_epoch_balanced=True)
    np.testing.assert_allclose(s.class_probs(0), IB)
    np.testing.assert_allclose(s.class_probs(3), CB)  # T - 1 = 3
    # 1 / 3 of the way
    np.testing.assert_allclose(s.class_probs(1),
                               [0.4833333, 0.2833333, 0.1366667, 0.0966667],
                               atol=1e-6)


@pytest.mark.parametrize('epoch,expected', [(0, IB), (4, CB)])
def test_endpoint_frequencies(toy_dataset, labels, epoch, expected):
    s = build(toy_dataset(labels), num_samples=20000)
    s.set_epoch(epoch)
    freq = np.bincount(labels[list(s)], minlength=4) / 20000
    np.testing.assert_allclose(freq, expected, atol=0.015)


def test_bad_total_epochs(toy_dataset, labels):
    with pytest.raises(ValueError, match='total_epochs must be >= 1, but got '
                       '0'):
        build(toy_dataset(labels), total_epochs=0)
    with pytest.raises(ValueError, match='total_epochs must be >= 2, but got '
                       '1'):
        build(toy_dataset(labels), total_epochs=1, last_epoch_balanced=True)


def test_quoted_flag_refused(toy_dataset, labels):
    """'False' is true to bool(): the last epoch would silently be made
    class-balanced."""
    with pytest.raises(TypeError, match="last_epoch_balanced must be True or "
                       "False, but got 'False'"):
        build(toy_dataset(labels), total_epochs=4,
              last_epoch_balanced='False')
    with pytest.raises(TypeError, match="total_epochs must be an int, but "
                       "got '4'"):
        build(toy_dataset(labels), total_epochs='4')


def test_empty_class(toy_dataset, labels):
    with pytest.raises(ValueError, match=r'LTToyDataset has no image of '
                       r'class index \[4\]'):
        build(toy_dataset(labels, num_classes=5))
