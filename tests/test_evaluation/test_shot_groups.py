# Copyright (c) ltplug contributors. All rights reserved.
import numpy as np
import pytest

from ltplug.evaluation import group_accuracy, shot_groups


def names(groups):
    out = np.full(len(groups['many']), '', dtype=object)
    for g in ('many', 'medium', 'few'):
        out[groups[g]] = g
    return out.tolist()


def test_standard_rule_boundaries():
    # exactly 100 and exactly 20 are medium under the standard rule
    counts = [101, 100, 21, 20, 19, 1]
    assert names(shot_groups(counts)) == [
        'many', 'medium', 'medium', 'medium', 'few', 'few'
    ]


def test_inclusive_rule_boundaries():
    counts = [101, 100, 99, 21, 20, 19]
    assert names(shot_groups(counts, inclusive=True)) == [
        'many', 'many', 'medium', 'medium', 'few', 'few'
    ]


def test_groups_partition_and_cifar100_r100_sizes():
    # CIFAR-100-LT rho=100 profile: 35 / 35 / 30 (standard), 35 / 34 / 31
    # (inclusive), see ALGORITHMS.md section 1.3
    counts = [int(500 * 0.01**(c / 99)) for c in range(100)]
    std = shot_groups(counts)
    inc = shot_groups(counts, inclusive=True)
    total = std['many'].astype(int) + std['medium'] + std['few']
    assert (total == 1).all()
    assert [int(std[g].sum()) for g in ('many', 'medium', 'few')] == \
        [35, 35, 30]
    assert [int(inc[g].sum()) for g in ('many', 'medium', 'few')] == \
        [35, 34, 31]


def test_equal_thresholds_inclusive_many_wins():
    g = shot_groups([10, 5], many_thr=10, few_thr=10, inclusive=True)
    assert names(g) == ['many', 'few']


def test_bad_arguments():
    with pytest.raises(ValueError, match='few_thr'):
        shot_groups([1, 2], many_thr=10, few_thr=20)
    with pytest.raises(ValueError, match='1-D'):
        shot_groups([[1, 2]])


def test_group_accuracy_hand_computed():
    counts = [500, 150, 50, 30, 10, 5]
    acc = [90., 70., 40., float('nan'), 20., 0.]  # class 3: no test image
    out = group_accuracy(acc, shot_groups(counts))
    assert list(out) == ['many', 'medium', 'few']
    assert out['many'] == pytest.approx(80.)  # (90 + 70) / 2
    assert out['medium'] == pytest.approx(40.)  # class 3 left out
    assert out['few'] == pytest.approx(10.)  # (20 + 0) / 2


def test_group_accuracy_empty_group_is_nan_and_sizes_checked():
    out = group_accuracy([50., float('nan')], shot_groups([500, 10]))
    assert out['many'] == 50. and np.isnan(out['medium'])
    assert np.isnan(out['few'])  # its only class has no test image
    with pytest.raises(ValueError, match="'many' has 3 classes"):
        group_accuracy([1., 2.], shot_groups([500, 10, 5]))


def test_thresholds_must_be_numbers():
    with pytest.raises(TypeError, match="many_thr must be a number, but got "
                       "'100'"):
        shot_groups([5, 500], many_thr='100')
    with pytest.raises(TypeError, match='few_thr .* True'):
        shot_groups([5, 500], few_thr=True)
