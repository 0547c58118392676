# Copyright (c) ltplug contributors. All rights reserved.
"""Expected calibration error (``ltplug.evaluation.calibration``) against
values worked out by hand, bin edges included."""
import numpy as np
import pytest

from ltplug.evaluation.calibration import (calibration_bins, check_ece_bins,
                                           expected_calibration_error,
                                           group_ece)

# 6 samples with confidences on the edges of 2 bins (0, 0.5] and (0.5, 1]:
# 0.0 goes to the first bin, 0.5 to the first, 1.0 to the second
CONF2 = [0.25, 0.5, 0.75, 1.0, 0.625, 0.0]
HIT2 = [0, 1, 1, 1, 0, 0]
# bin 0: 0.25, 0.5, 0.0 -> acc 1/3, conf 0.25, gap 1/12, weight 3/6
# bin 1: 0.75, 1.0, 0.625 -> acc 2/3, conf 2.375/3, gap 1/8, weight 3/6
ECE2 = (0.5 * (1 / 12) + 0.5 * (1 / 8)) * 100  # = 5/48 * 100 = 10.4167
# (with 0.5 in the upper bin it would be 6.25: the edge rule matters)

# 6 samples on the inner edges of 3 bins (0, 1/3], (1/3, 2/3], (2/3, 1]
CONF3 = [1 / 3, 0.2, 2 / 3, 0.5, 0.9, 1.0]
HIT3 = [1, 0, 0, 1, 1, 1]
# bin 0: 1/3, 0.2 -> acc 1/2, conf 4/15, gap 7/30, weight 1/3
# bin 1: 2/3, 0.5 -> acc 1/2, conf 7/12, gap 1/12, weight 1/3
# bin 2: 0.9, 1.0 -> acc 1, conf 0.95, gap 1/20, weight 1/3
ECE3 = (7 / 30 + 1 / 12 + 1 / 20) / 3 * 100  # = 11/90 * 100 = 12.2222


def test_two_bins_edges_hand_computed():
    assert ECE2 == pytest.approx(1000 / 96)
    assert expected_calibration_error(CONF2, HIT2, 2) == pytest.approx(ECE2)
    assert calibration_bins(np.array(CONF2), 2).tolist() == [0, 0, 1, 1, 1,
                                                             0]


def test_three_bins_inner_edges_hand_computed():
    assert ECE3 == pytest.approx(1100 / 90)
    assert calibration_bins(np.array(CONF3), 3).tolist() == [0, 0, 1, 1, 2,
                                                             2]
    assert expected_calibration_error(CONF3, HIT3, 3) == pytest.approx(ECE3)


def test_one_bin_is_the_gap_of_the_means():
    # |mean acc - mean conf| = |3/6 - 3.125/6|
    assert expected_calibration_error(CONF2, HIT2, 1) == pytest.approx(
        abs(3 / 6 - 3.125 / 6) * 100)


def test_perfectly_calibrated_is_zero_and_order_does_not_matter():
    assert expected_calibration_error([1., 1., 0., 0.], [1, 1, 0, 0],
                                      4) == 0.0
    rng = np.random.default_rng(0)
    conf = rng.random(1000).astype(np.float32).astype(np.float64)
    hit = rng.random(1000) < conf
    ref = expected_calibration_error(conf, hit, 15)
    perm = rng.permutation(1000)
    # bit for bit: a distributed collection's order gives the same value
    assert expected_calibration_error(conf[perm], hit[perm], 15) == ref


def test_empty_is_nan():
    assert np.isnan(expected_calibration_error([], [], 10))


@pytest.mark.parametrize('bad', [1.5, -0.1, float('nan')])
def test_confidence_outside_unit_interval_raises(bad):
    with pytest.raises(ValueError, match=f'in \\[0, 1\\].*{bad!r}'):
        expected_calibration_error([0.5, bad], [1, 0], 5)


def test_group_ece_hand_computed_and_empty_group_nan():
    # classes 0 (many), 1 (medium, no test sample), 2 (few)
    labels = [0, 0, 2, 2, 2, 0]
    groups = dict(many=np.array([True, False, False]),
                  medium=np.array([False, True, False]),
                  few=np.array([False, False, True]))
    out = group_ece(CONF2, HIT2, labels, groups, 2)
    assert list(out) == ['many_ece', 'medium_ece', 'few_ece']
    # many: 0.25, 0.5, 0.0 all in bin 0: acc 1/3, conf 0.25
    assert out['many_ece'] == pytest.approx((1 / 3 - 0.25) * 100)
    # few: 0.75, 1.0, 0.625 all in bin 1: acc 2/3, conf 2.375/3
    assert out['few_ece'] == pytest.approx((2.375 / 3 - 2 / 3) * 100)
    assert np.isnan(out['medium_ece'])


@pytest.mark.parametrize('bad,error,message', [
    (0, ValueError, 'ece_bins must be >= 1, but got 0'),
    (2.5, TypeError, r'ece_bins must be an int or None, but got 2.5'),
    (True, TypeError, 'ece_bins must be an int or None, but got True'),
    ('15', TypeError, "ece_bins must be an int or None, but got '15'"),
])
def test_check_ece_bins(bad, error, message):
    with pytest.raises(error, match=message):
        check_ece_bins(bad)
    assert check_ece_bins(None) is None and check_ece_bins(15) == 15
