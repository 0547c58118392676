# Copyright (c) ltplug contributors. All rights reserved.
"""ShotAccuracy's printed table: evaluate() logs it through the current
MMLogger (its layout, ``format_shot_table``, is tested in
tests/test_evaluation/test_report.py)."""
import logging
import math

import pytest
import torch
from mmengine.logging import MMLogger
from mmpretrain.registry import METRICS
from mmpretrain.structures import DataSample

from ltplug.evaluation import report
from ltplug.evaluation.metrics import shot_accuracy


def cells(line):
    return [c.strip() for c in line.strip().strip('|').split('|')]


class ListHandler(logging.Handler):

    def __init__(self):
        super().__init__()
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())


def run(print_table, topk=(1, 2)):
    logger = MMLogger.get_instance(
        f'shot_table_{print_table}_{len(topk)}', log_level='INFO')
    handler = ListHandler()
    logger.addHandler(handler)
    # counts 150 / 50 / 5 -> one class per group (many, medium, few)
    metric = METRICS.build(
        dict(type='ShotAccuracy', topk=topk, class_counts=[150, 50, 5],
             save_per_class=False, print_table=print_table))
    # (label, scores): class 0 2/2 right; class 1 1/2 right (the miss
    # ranks it last); class 2 0/2 right (one ranks it second)
    rows = [
        (0, [0.8, 0.15, 0.05]),
        (0, [0.8, 0.15, 0.05]),
        (1, [0.15, 0.8, 0.05]),
        (1, [0.8, 0.05, 0.15]),
        (2, [0.8, 0.05, 0.15]),
        (2, [0.15, 0.8, 0.05]),
    ]
    samples = [
        DataSample().set_gt_label(label).set_pred_score(
            torch.tensor(score)).to_dict() for label, score in rows
    ]
    metric.process(None, samples)
    res = metric.evaluate(len(samples))
    logger.removeHandler(handler)
    return res, handler.messages


def test_evaluate_logs_the_table():
    res, messages = run(True)
    # by hand: top-1 3/6 = 50 %, top-2 4/6; many 100, medium 50, few 0
    assert res['shot/top1'] == pytest.approx(50.0)
    assert res['shot/top2'] == pytest.approx(400 / 6)
    assert (res['shot/many'], res['shot/medium'], res['shot/few']) == (
        pytest.approx(100.), pytest.approx(50.), pytest.approx(0.))
    tables = [m for m in messages if '| acc (%)' in m]
    assert len(tables) == 1
    lines = tables[0].splitlines()
    assert 'many = train count > 100' in tables[0]
    rows = [ln for ln in lines if ln.startswith('|')]
    assert cells(rows[0]) == ['', 'top1', 'top2', 'many', 'medium', 'few']
    assert cells(rows[1]) == ['acc (%)', '50.00', '66.67', '100.00',
                              '50.00', '0.00']
    assert cells(rows[2]) == ['classes', '3', '3', '1', '1', '1']
    assert set(res) == {'shot/top1', 'shot/top2', 'shot/many',
                        'shot/medium', 'shot/few'}


def test_print_table_off():
    res, messages = run(False, topk=(1, ))
    assert not any('| acc (%)' in m for m in messages)
    assert not math.isnan(res['shot/top1'])


def test_format_shot_table_still_importable_from_the_metric_module():
    assert shot_accuracy.format_shot_table is report.format_shot_table
    assert shot_accuracy.GROUPS == ('many', 'medium', 'few')
