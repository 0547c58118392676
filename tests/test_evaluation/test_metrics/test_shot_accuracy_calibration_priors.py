# Copyright (c) ltplug contributors. All rights reserved.
"""ShotAccuracy's optional outputs, built through the registry:
``ece_bins`` (ECE and the groups' ECE) and ``test_priors``
(``top1_rho{rho}``), against values worked out by hand."""
import json
import logging
import math

import pytest
import torch
from mmengine.logging import MMLogger
from mmpretrain.registry import METRICS
from mmpretrain.structures import DataSample

# counts 150 / 50 / 5: class 0 many, class 1 medium, class 2 few
GROUP_COUNTS = [150, 50, 5]
# (label, predicted class, top-1 confidence); class 1 has no test sample.
# The confidences are exact in float32 and sit on the edges of 2 and 4
# bins: 0.0 and 0.25 / 0.5 / 0.75 / 1.0.
CALIB = [(0, 1, 0.25), (0, 0, 0.5), (2, 2, 0.75), (2, 2, 1.0),
         (2, 0, 0.625), (0, 2, 0.0)]
# 2 bins (0, .5], (.5, 1] (0 in the first):
#   bin 0: 0.25 x, 0.5 v, 0.0 x -> acc 1/3, conf 0.25,   gap 1/12, w 1/2
#   bin 1: 0.75 v, 1.0 v, .625 x -> acc 2/3, conf 2.375/3, gap 1/8, w 1/2
ECE_2 = (0.5 / 12 + 0.5 / 8) * 100  # 10.4167
# 4 bins (0, .25], (.25, .5], (.5, .75], (.75, 1]:
#   0.25 x, 0.0 x -> gap 0.125, w 2/6; 0.5 v -> gap 0.5, w 1/6;
#   0.75 v, .625 x -> acc 1/2, conf 0.6875, gap 0.1875, w 2/6; 1.0 v -> 0
ECE_4 = (2 * 0.125 + 0.5 + 2 * 0.1875 + 0) / 6 * 100  # 18.75
# groups, 2 bins: many (class 0: 0.25 x, 0.5 v, 0.0 x, all in bin 0)
# = |1/3 - 0.25|; few (class 2: all in bin 1) = |2/3 - 2.375/3|
MANY_ECE_2 = (1 / 3 - 0.25) * 100  # 8.3333
FEW_ECE_2 = (2.375 / 3 - 2 / 3) * 100  # 12.5


def scored(label, pred, conf, num_classes=3):
    score = torch.full((num_classes, ), -1.)
    score[pred] = conf
    return DataSample().set_gt_label(label).set_pred_score(score).to_dict()


def evaluate(samples, batch=4, **kwargs):
    metric = METRICS.build(dict(type='ShotAccuracy', **kwargs))
    for i in range(0, len(samples), batch):
        metric.process(None, samples[i:i + batch])
    return metric.evaluate(len(samples))


@pytest.mark.parametrize('bins,expected', [(2, ECE_2), (4, ECE_4)])
def test_ece_hand_computed_edges_included(bins, expected, tmp_path):
    res = evaluate([scored(*s) for s in CALIB], ece_bins=bins,
                   class_counts=GROUP_COUNTS, out_dir=str(tmp_path))
    assert res['shot/top1'] == pytest.approx(50.)
    assert res['shot/ece'] == pytest.approx(expected)
    assert set(res) == {
        'shot/top1', 'shot/many', 'shot/medium', 'shot/few', 'shot/ece',
        'shot/many_ece', 'shot/medium_ece', 'shot/few_ece'
    }
    # the per-class JSON's summary holds them too (nan as None)
    summary = json.load(open(tmp_path / 'per_class_accuracy.json'))['summary']
    assert summary['ece'] == pytest.approx(expected)
    assert summary['medium_ece'] is None


def test_group_ece_hand_computed_empty_group_nan():
    res = evaluate([scored(*s) for s in CALIB], ece_bins=2,
                   class_counts=GROUP_COUNTS, save_per_class=False)
    assert ECE_2 == pytest.approx(1000 / 96)
    assert res['shot/many_ece'] == pytest.approx(MANY_ECE_2)
    assert res['shot/few_ece'] == pytest.approx(FEW_ECE_2)
    # class 1 (the medium group) has no test sample: nan, as shot/medium
    assert math.isnan(res['shot/medium_ece'])
    assert math.isnan(res['shot/medium'])


def test_ece_needs_pred_score():
    metric = METRICS.build(dict(type='ShotAccuracy', ece_bins=10,
                                class_counts=[5, 5]))
    with pytest.raises(ValueError, match='ece_bins=10 needs pred_score'):
        metric.process(None, [dict(gt_label=torch.tensor([0]),
                                   pred_label=torch.tensor([0]))])


def test_ece_refuses_scores_that_are_not_probabilities():
    metric = METRICS.build(dict(type='ShotAccuracy', ece_bins=10,
                                class_counts=[5, 5], save_per_class=False))
    metric.process(None, [scored(0, 0, 3.5, num_classes=2)])
    with pytest.raises(ValueError, match=r'in \[0, 1\].*3.5'):
        metric.evaluate(1)


# classes by training count: 1 (200, rank 0), 0 (50, rank 1), 2 (10, 2);
# top-1: class 0 3/5 = 60 %, class 1 9/10 = 90 %, class 2 3/10 = 30 %
PRIOR_COUNTS = [50, 200, 10]
PRIOR_SAMPLES = ([(0, True)] * 3 + [(0, False)] * 2 + [(1, True)] * 9 +
                 [(1, False)] + [(2, True)] * 3 + [(2, False)] * 7)


def label_only(label, right):
    pred = label if right else (label + 1) % 3
    return dict(gt_label=torch.tensor([label]), pred_label=torch.tensor([pred]))


def test_test_priors_hand_computed():
    res = evaluate([label_only(*s) for s in PRIOR_SAMPLES], batch=7,
                   test_priors=(4, 1, 0.25, 0.02),
                   class_counts=PRIOR_COUNTS, save_per_class=False)
    # rho = 4: pi ∝ 4 ** (-r / 2) = 1 (class 1), 1/2 (class 0), 1/4 (2)
    assert res['shot/top1_rho4'] == pytest.approx(
        (90 * 1 + 60 * 0.5 + 30 * 0.25) / 1.75)  # 72.857
    # rho = 1/4: pi ∝ 1, 2, 4 for ranks 0, 1, 2
    assert res['shot/top1_rho0.25'] == pytest.approx(
        (90 * 1 + 60 * 2 + 30 * 4) / 7)  # 47.143
    # rho = 1: the mean per-class accuracy (not the plain top-1, 15/25)
    assert res['shot/top1_rho1'] == pytest.approx((60 + 90 + 30) / 3)
    assert res['shot/top1'] == pytest.approx(60.)
    # rho = 1/50: pi ∝ 1, 50 ** 0.5, 50 for ranks 0, 1, 2
    w = 50 ** 0.5
    assert res['shot/top1_rho0.02'] == pytest.approx(
        (90 + 60 * w + 30 * 50) / (1 + w + 50))
    assert [k for k in res if 'rho' in k] == [
        'shot/top1_rho4', 'shot/top1_rho1', 'shot/top1_rho0.25',
        'shot/top1_rho0.02'
    ]


def test_test_priors_class_without_test_sample_renormalised():
    # class 1 (rank 0) has no test sample: pi over class 0 (1/2) and
    # class 2 (1/4), divided by 3/4
    samples = [label_only(*s) for s in PRIOR_SAMPLES if s[0] != 1]
    res = evaluate(samples, test_priors=[4], class_counts=PRIOR_COUNTS,
                   save_per_class=False)
    assert res['shot/top1_rho4'] == pytest.approx(
        (60 * 0.5 + 30 * 0.25) / 0.75)  # 50


def test_defaults_add_nothing_and_table_shows_the_new_columns():
    samples = [scored(*s) for s in CALIB]
    res = evaluate(samples, class_counts=GROUP_COUNTS, save_per_class=False)
    assert set(res) == {'shot/top1', 'shot/many', 'shot/medium', 'shot/few'}

    logger = MMLogger.get_instance('shot_extras_table', log_level='INFO')
    messages = []
    handler = logging.Handler()
    handler.emit = lambda record: messages.append(record.getMessage())
    logger.addHandler(handler)
    try:
        evaluate(samples, class_counts=GROUP_COUNTS, save_per_class=False,
                 ece_bins=2, test_priors=[4])
    finally:
        logger.removeHandler(handler)
    table = [m for m in messages if 'acc / ece (%)' in m]
    assert len(table) == 1
    rows = [[c.strip() for c in ln.strip('|').split('|')]
            for ln in table[0].splitlines() if ln.startswith('|')]
    assert rows[0] == ['', 'top1', 'top1_rho4', 'many', 'medium', 'few',
                       'ece', 'many_ece', 'medium_ece', 'few_ece']
    assert rows[1][6:] == [f'{ECE_2:.2f}', f'{MANY_ECE_2:.2f}', '-',
                           f'{FEW_ECE_2:.2f}']
    assert rows[2] == ['classes', '3', '3', '1', '1', '1', '3', '1', '1',
                       '1']


@pytest.mark.parametrize('kwargs,error,message', [
    (dict(ece_bins=0), ValueError, 'ShotAccuracy: ece_bins must be >= 1, '
     'but got 0'),
    (dict(ece_bins=15.0), TypeError, 'ece_bins must be an int or None, but '
     'got 15.0'),
    (dict(ece_bins='15'), TypeError, "ece_bins must be an int or None, but "
     "got '15'"),
    (dict(test_priors=[50, 0]), ValueError, 'ShotAccuracy: test_priors must '
     'be > 0, but got 0.0'),
    (dict(test_priors=[float('inf')]), ValueError, 'test_priors must be a '
     'finite number, but got inf'),
    (dict(test_priors=['50']), TypeError, "test_priors must be a number, "
     "but got '50'"),
    (dict(test_priors=50), TypeError, 'test_priors must be a sequence of '
     'numbers, but got 50'),
])
def test_bad_arguments(kwargs, error, message):
    with pytest.raises(error, match=message):
        METRICS.build(dict(type='ShotAccuracy', class_counts=[5], **kwargs))
