# Copyright (c) ltplug contributors. All rights reserved.
"""Top-1 under other test priors (``ltplug.evaluation.priors``) against
values worked out by hand."""
import math

import numpy as np
import pytest

from ltplug.evaluation.priors import (check_test_priors, prior_key,
                                      prior_weights, top1_under_prior,
                                      training_ranks)

# 3 classes, not sorted by count: ranks class 1 -> 0, class 0 -> 1,
# class 2 -> 2
COUNTS = [50, 200, 10]
ACC = [60., 90., 30.]


def test_ranks_by_training_count_ties_by_index():
    assert training_ranks(COUNTS).tolist() == [1, 0, 2]
    assert training_ranks([100, 100, 10, 100]).tolist() == [0, 1, 3, 2]


def test_forward_prior_hand_computed():
    # rho = 4, C - 1 = 2: pi ∝ 4 ** (-r / 2) = 1, 1/2, 1/4 for ranks 0, 1, 2
    pi = np.array([0.5, 1., 0.25]) / 1.75
    assert prior_weights(COUNTS, 4) == pytest.approx(pi)
    expected = (60 * 0.5 + 90 * 1 + 30 * 0.25) / 1.75  # 72.857
    assert expected == pytest.approx(127.5 / 1.75)
    assert top1_under_prior(ACC, COUNTS, 4) == pytest.approx(expected)


def test_backward_prior_hand_computed():
    # rho = 1/4: pi ∝ 1, 2, 4 for ranks 0, 1, 2 (the tail weighs most)
    expected = (60 * 2 + 90 * 1 + 30 * 4) / 7  # 47.143
    assert top1_under_prior(ACC, COUNTS, 0.25) == pytest.approx(expected)


def test_uniform_prior_is_mean_per_class_accuracy():
    assert top1_under_prior(ACC, COUNTS, 1) == pytest.approx(
        (60 + 90 + 30) / 3)


def test_ties_ranked_by_class_index():
    # counts 100, 100, 10: class 0 rank 0, class 1 rank 1
    assert top1_under_prior([0., 100., 50.], [100, 100, 10], 4) == \
        pytest.approx((0 * 1 + 100 * 0.5 + 50 * 0.25) / 1.75)


def test_class_without_test_sample_renormalised():
    # class 1 (rank 0) has no test sample: pi over classes 0 and 2,
    # 0.5 and 0.25, renormalised by 0.75
    acc = [60., float('nan'), 30.]
    assert top1_under_prior(acc, COUNTS, 4) == pytest.approx(
        (60 * 0.5 + 30 * 0.25) / 0.75)
    assert math.isnan(top1_under_prior([float('nan')] * 3, COUNTS, 4))


def test_single_class():
    assert top1_under_prior([70.], [5], 50) == pytest.approx(70.)


def test_keys():
    assert [prior_key(r) for r in (50, 1, 0.02, 50.0, 1 / 3)] == [
        'top1_rho50', 'top1_rho1', 'top1_rho0.02', 'top1_rho50',
        'top1_rho0.333333'
    ]


@pytest.mark.parametrize('bad,error,message', [
    ([50, 0], ValueError, r'X: test_priors must be > 0, but got 0.0'),
    ([-2], ValueError, r'test_priors must be > 0, but got -2.0'),
    ([float('inf')], ValueError, 'test_priors must be a finite number, but '
     'got inf'),
    ([float('nan')], ValueError, 'finite number, but got nan'),
    (['50'], TypeError, "test_priors must be a number, but got '50'"),
    (50, TypeError, 'test_priors must be a sequence of numbers, but got 50'),
    ('50', TypeError, "sequence of numbers, but got '50'"),
    ([50, 50.0], ValueError, r"\[50, 50.0\] give the key 'top1_rho50' "
     'twice'),
])
def test_check_test_priors(bad, error, message):
    with pytest.raises(error, match=message):
        check_test_priors(bad, owner='X')
    assert check_test_priors((50, np.float32(0.5))) == (50.0, 0.5)
